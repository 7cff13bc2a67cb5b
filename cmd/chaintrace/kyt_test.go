package main

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chaintrace/chaintrace/internal/auth"
	"github.com/chaintrace/chaintrace/internal/kyt"
	"github.com/chaintrace/chaintrace/internal/kyt/kyttest"
	"github.com/chaintrace/chaintrace/internal/labels"
	"github.com/chaintrace/chaintrace/internal/monitor"
	"github.com/chaintrace/chaintrace/internal/workspace"
)

// TestCLIKYT registers a screened and a pending transfer through the CLI,
// lists them, sanctions a sender with a label import and re-screens: one
// rating_change alert reaches the journal.
func TestCLIKYT(t *testing.T) {
	f := kyttest.Build(t)
	f.Close()
	data := f.Data
	kytRun := func(args ...string) string {
		t.Helper()
		out, err := run(t, append([]string{"--data", data, "--log-level", "warn", "kyt"}, args...)...)
		if err != nil {
			t.Fatalf("kyt %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return out
	}
	var tr kyt.Transfer
	if err := json.Unmarshal([]byte(kytRun("register", "--chain", "btc", "--tx", f.DepositTx, "--vout", "0", "--user", "alice", "--json")), &tr); err != nil {
		t.Fatal(err)
	}
	if tr.Status != kyt.StatusScreened || tr.Rating != "LOW" || tr.Address != f.Deposit || len(tr.Senders) != 2 {
		t.Fatalf("registered %+v", tr)
	}
	out := kytRun("register", "--chain", "btc", "--tx", f.PendingTx, "--vout", "0", "--user", "carol")
	if !strings.Contains(out, "pending") || !strings.Contains(out, "not in the store yet") {
		t.Fatalf("pending registration printed:\n%s", out)
	}
	out = kytRun("register", "--chain", "eth-sim", "--tx", f.TokenTx, "--log-index", "0", "--user", "bob")
	if !strings.Contains(out, "rating HIGH") || !strings.Contains(out, "Fixture hacker") {
		t.Fatalf("token registration printed:\n%s", out)
	}
	if out, err := run(t, "--data", data, "kyt", "register", "--chain", "btc", "--tx", f.DepositTx, "--vout", "0", "--log-index", "1", "--user", "alice"); err == nil || !strings.Contains(err.Error(), "not both") {
		t.Fatalf("both indexes: %v\n%s", err, out)
	}
	if out, err := run(t, "--data", data, "kyt", "register", "--chain", "btc", "--tx", f.DepositTx, "--vout", "0", "--user", "mallory"); err == nil || !strings.Contains(err.Error(), "alice") {
		t.Fatalf("conflict: %v\n%s", err, out)
	}
	var all []kyt.Transfer
	if err := json.Unmarshal([]byte(kytRun("list", "--json")), &all); err != nil || len(all) != 3 {
		t.Fatalf("list: %d transfers, %v", len(all), err)
	}
	if out := kytRun("list", "--rating", "pending"); !strings.Contains(out, "carol") || strings.Contains(out, "alice") {
		t.Fatalf("pending list:\n%s", out)
	}

	ctx := context.Background()
	st, err := labels.Open(ctx, workspace.LabelsDir(data))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Apply(ctx, kyttest.SanctionDataset(f.Bad)); err != nil {
		t.Fatal(err)
	}
	st.Close()
	out = kytRun("rescreen")
	if !strings.Contains(out, "3 transfers re-screened: 0 pending ones screened, 1 ratings changed, 1 alerts raised") {
		t.Fatalf("rescreen printed:\n%s", out)
	}
	js, err := monitor.ReadJournal(data)
	if err != nil || len(js) != 1 || js[0].Kind != monitor.KindRatingChange || js[0].Transfer != tr.ID || js[0].NewRating != "SEVERE" {
		t.Fatalf("journal %+v %v", js, err)
	}
	if out := kytRun("list", "--user", "alice"); !strings.Contains(out, "SEVERE") {
		t.Fatalf("alice's transfers after the sanction:\n%s", out)
	}
}

// TestServeKYT registers transfers through a running serve, which opens
// the registry with the chain stores, then stops it: the registrations
// outlive the server.
func TestServeKYT(t *testing.T) {
	f := kyttest.Build(t)
	f.Close()
	ctx := context.Background()
	// Registering a transfer is a write: it needs a key.
	_, key, err := auth.Create(ctx, f.Data, auth.RoleWrite, "kyt-test", time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	base, stop := startServe(t, f.Data, 50*time.Millisecond)
	post := func(body string) (int, kyt.Transfer) {
		t.Helper()
		req, err := http.NewRequest(http.MethodPost, base+"/api/v1/transfers", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+key)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var tr kyt.Transfer
		if err := json.NewDecoder(resp.Body).Decode(&tr); err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, tr
	}
	if code, tr := post(`{"chain":"eth","tx":"` + f.TokenTx + `","log_index":0,"user_id":"bob"}`); code != 200 || tr.Rating != "HIGH" || tr.Asset != "USDT" {
		t.Fatalf("token deposit: %d %+v", code, tr)
	}
	if code, tr := post(`{"chain":"btc","tx":"` + f.PendingTx + `","output_index":0,"user_id":"carol"}`); code != 202 || tr.Status != kyt.StatusPending {
		t.Fatalf("pending deposit: %d %+v", code, tr)
	}
	// A poll or two with a pending transfer reopens nothing it shares
	// with the screener and keeps serving.
	time.Sleep(150 * time.Millisecond)
	code, alice := post(`{"chain":"btc","tx":"` + f.DepositTx + `","output_index":0,"user_id":"alice"}`)
	if code != 200 || len(alice.Senders) != 2 || alice.Senders[0].Screening.Exposure == nil || alice.Rating != "LOW" {
		t.Fatalf("Bitcoin deposit after the polls: %d %+v", code, alice)
	}
	// A label import while the server runs (it holds no lock on the
	// label store): the server's poll picks it up and re-screens, and
	// the sanctioned sender's deposit turns SEVERE with one alert.
	// The server's poll holds the store for a moment every 50 ms while
	// it looks for changes: an import retries past that moment.
	var st *labels.Store
	for try := 0; ; try++ {
		st, err = labels.Open(ctx, workspace.LabelsDir(f.Data))
		if err == nil {
			break
		}
		if try == 50 {
			t.Fatalf("label store locked by the server: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if _, err := st.Apply(ctx, kyttest.SanctionDataset(f.Bad)); err != nil {
		t.Fatal(err)
	}
	st.Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get(base + "/api/v1/transfers/" + alice.ID)
		if err != nil {
			t.Fatal(err)
		}
		var tr kyt.Transfer
		err = json.NewDecoder(resp.Body).Decode(&tr)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		if tr.Rating == "SEVERE" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("alice's deposit still rated %s after a sanction import", tr.Rating)
		}
		time.Sleep(20 * time.Millisecond)
	}
	var changes int
	for deadline := time.Now().Add(5 * time.Second); changes == 0 && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		js, err := monitor.ReadJournal(f.Data)
		if err != nil {
			t.Fatal(err)
		}
		changes = 0
		for _, a := range js {
			if a.Kind == monitor.KindRatingChange && a.Transfer == alice.ID {
				changes++
			}
		}
	}
	if changes != 1 {
		t.Fatalf("%d rating_change alerts for alice's deposit, want 1", changes)
	}
	stop()
	out, err := run(t, "--data", f.Data, "kyt", "list")
	if err != nil || strings.Count(out, "tr_") != 3 || !strings.Contains(out, "pending") {
		t.Fatalf("after the server stopped: %v\n%s", err, out)
	}
}
