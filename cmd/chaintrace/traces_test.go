package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/chaintrace/chaintrace/internal/monitor"
	"github.com/chaintrace/chaintrace/internal/trace"
	"github.com/chaintrace/chaintrace/internal/tracestore"
)

// TestCLISavedTraces saves a trace of a real 2009 address, finds it with
// traces list, prints it again with traces show, and watches its holdings
// by id with the trace's model; a backward trace, a malformed and an
// unknown id are refused.
func TestCLISavedTraces(t *testing.T) {
	data := t.TempDir()
	if _, err := run(t, "--data", data, "--log-level", "warn", "ingest", "btc", "--blocks", mainnetBlk(t)); err != nil {
		t.Fatal(err)
	}
	traceArgs := []string{"--data", data, "--log-level", "warn", "trace", "--chain", "btc", "--from", "12cbQLTFMXRnSzktFkuoG3eHoMeFtpTu3S", "--hops", "4", "--model", "fifo"}
	printed, err := run(t, append(traceArgs, "--json", "--save")...)
	if err != nil {
		t.Fatal(err)
	}
	listed, err := run(t, "--data", data, "traces", "list", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var ss []tracestore.Summary
	if err := json.Unmarshal([]byte(listed), &ss); err != nil || len(ss) != 1 {
		t.Fatalf("traces list: %v, %s", err, listed)
	}
	id := ss[0].ID
	if ss[0].Model != trace.FIFO || ss[0].Hops != 4 || ss[0].Holdings == 0 {
		t.Fatalf("summary %+v: want fifo, 4 hops, some holdings", ss[0])
	}
	shown, err := run(t, "--data", data, "traces", "show", id, "--json")
	if err != nil {
		t.Fatal(err)
	}
	if shown != printed {
		t.Fatal("traces show --json differs from what trace --json printed")
	}
	if out, err := run(t, "--data", data, "traces", "show", id, "--format", "csv", "--table", "holdings"); err != nil || !strings.Contains(out, "address") {
		t.Fatalf("traces show --format csv: %v\n%s", err, out)
	}

	if _, err := run(t, "--data", data, "watch", "add", "--from-trace", id, "--rule", "any"); err != nil {
		t.Fatal(err)
	}
	ws, err := monitor.Watches(data)
	if err != nil || len(ws) != 1 {
		t.Fatalf("watches: %v, %v", ws, err)
	}
	var res trace.Result
	if err := json.Unmarshal([]byte(printed), &res); err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, h := range res.Holdings {
		if !slices.Contains(want, h.Address) {
			want = append(want, h.Address)
		}
	}
	w := ws[0]
	slices.Sort(want)
	got := slices.Clone(w.Addresses)
	slices.Sort(got)
	if !slices.Equal(got, want) || w.Model != monitor.ModelFIFO || w.Source != "trace:"+id || w.Chain != "btc" {
		t.Fatalf("watch %+v: want the %d holdings, model fifo, source trace:%s", w, len(want), id)
	}

	// The same through a file, and the refusals.
	file := filepath.Join(t.TempDir(), "t.json")
	if err := os.WriteFile(file, []byte(printed), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := run(t, "--data", data, "watch", "add", "--from-trace", file); err != nil {
		t.Fatal(err)
	}
	back, err := run(t, append(traceArgs, "--direction", "backward", "--json", "-o", filepath.Join(t.TempDir(), "b.json"), "--save")...)
	if err != nil {
		t.Fatal(err, back)
	}
	ss, err = tracestore.List(t.Context(), data)
	if err != nil || len(ss) != 2 {
		t.Fatalf("after a second save: %d traces, %v", len(ss), err)
	}
	for _, s := range ss {
		if s.Direction != trace.Backward {
			continue
		}
		if _, err := run(t, "--data", data, "watch", "add", "--from-trace", s.ID); err == nil || !strings.Contains(err.Error(), "backward") {
			t.Fatalf("watching a backward trace: %v", err)
		}
	}
	for _, bad := range []string{"tr-0123456789abcdef", filepath.Join(data, "missing.json")} {
		if _, err := run(t, "--data", data, "watch", "add", "--from-trace", bad); err == nil || !strings.Contains(err.Error(), "--from-trace") {
			t.Errorf("--from-trace %s: %v", bad, err)
		}
	}
	if _, err := run(t, "--data", data, "traces", "show", "../../x"); err == nil || !strings.Contains(err.Error(), "not a trace id") {
		t.Errorf("traces show of a malformed id: %v", err)
	}
}
