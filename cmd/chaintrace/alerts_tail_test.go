package main

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chaintrace/chaintrace/internal/monitor"
)

// syncBuffer is a buffer the command writes while the test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestAlertsTail runs "alerts tail" on a journal and appends an alert
// while it runs: only the new one is printed, and cancelling ends it.
func TestAlertsTail(t *testing.T) {
	data := t.TempDir()
	old := monitor.Alert{ID: "old1", Seq: 1, Kind: monitor.KindAlert, Watch: "w1", Rule: "any", Chain: "btc-regtest", Direction: monitor.DirOut}
	if err := monitor.AppendJournal(t.Context(), data, []monitor.Alert{old}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	root := newRoot()
	out := &syncBuffer{}
	root.SetOut(out)
	root.SetErr(out)
	root.SetArgs([]string{"--data", data, "alerts", "tail", "--chain", "btc-regtest"})
	done := make(chan error, 1)
	go func() { done <- root.ExecuteContext(ctx) }()
	time.Sleep(100 * time.Millisecond)
	fresh := old
	fresh.ID, fresh.Seq, fresh.Height, fresh.Amount = "new2", 2, 7, 5000
	other := fresh
	other.ID, other.Chain = "other3", "btc"
	if err := monitor.AppendJournal(t.Context(), data, []monitor.Alert{fresh, other}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(out.String(), "new2") {
		if time.Now().After(deadline) {
			t.Fatalf("tail did not print the appended alert:\n%s", out)
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if s := out.String(); strings.Contains(s, "old1") || strings.Contains(s, "other3") || !strings.Contains(s, "height 7") {
		t.Errorf("output:\n%s", s)
	}
	if got, err := run(t, "--data", data, "alerts", "tail", "--since", "nope"); err == nil {
		t.Errorf("unknown --since accepted: %s", got)
	}
}
