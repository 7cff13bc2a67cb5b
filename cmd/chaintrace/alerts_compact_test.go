package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/chaintrace/chaintrace/internal/monitor"
)

// TestAlertsCompact runs "alerts compact" on a journal with old and new
// alerts of two chains, and checks its refusals of bad ages.
func TestAlertsCompact(t *testing.T) {
	data := t.TempDir()
	now := time.Now().UTC()
	mk := func(id, chain string, seq uint64, age time.Duration) monitor.Alert {
		return monitor.Alert{ID: id, Seq: seq, Kind: monitor.KindAlert, Watch: "w1", Rule: "any", Chain: chain, Direction: monitor.DirOut, Time: now.Add(-age)}
	}
	day := 24 * time.Hour
	as := []monitor.Alert{
		mk("old-sim", "btc-simnet", 1, 400*day), // the chain's last: kept
		mk("old-1", "btc-regtest", 1, 200*day),
		mk("old-2", "btc-regtest", 2, 100*day),
		mk("new-3", "btc-regtest", 3, day),
	}
	if err := monitor.AppendJournal(t.Context(), data, as); err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) (string, error) {
		root := newRoot()
		var out bytes.Buffer
		root.SetOut(&out)
		root.SetErr(&out)
		root.SetArgs(append([]string{"--data", data, "alerts", "compact"}, args...))
		err := root.ExecuteContext(t.Context())
		return out.String(), err
	}
	for _, bad := range []string{"ninety", "-3d", "1.5d", "-2h"} {
		if _, err := run("--older-than", bad); err == nil || !strings.Contains(err.Error(), bad) {
			t.Errorf("--older-than %s: err = %v, want an error naming it", bad, err)
		}
	}
	out, err := run("--older-than", "90d", "--keep-last", "0")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "kept 2, dropped 2") {
		t.Fatalf("output %q, want kept 2, dropped 2", out)
	}
	left, err := monitor.ReadJournal(data)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, a := range left {
		got = append(got, a.ID)
	}
	if strings.Join(got, ",") != "old-sim,new-3" {
		t.Fatalf("journal after compaction: %v, want old-sim,new-3", got)
	}
}
