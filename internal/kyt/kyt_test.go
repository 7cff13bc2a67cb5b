package kyt_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chaintrace/chaintrace/internal/alert"
	"github.com/chaintrace/chaintrace/internal/kyt"
	"github.com/chaintrace/chaintrace/internal/kyt/kyttest"
	"github.com/chaintrace/chaintrace/internal/monitor"
	"github.com/chaintrace/chaintrace/internal/store"
)

func u32(n uint32) *uint32 { return &n }

func register(t *testing.T, r *kyt.Registry, req kyt.Request) kyt.Transfer {
	t.Helper()
	tr, err := r.Register(context.Background(), req)
	if err != nil {
		t.Fatalf("register %+v: %v", req, err)
	}
	return tr
}

// TestRegisterBTCOutput resolves a Bitcoin output: the receiving
// address and value, the input addresses as senders with their values,
// each screened (the exchange's label found, exposure computed over the
// graph), and a LOW rating.
func TestRegisterBTCOutput(t *testing.T) {
	f := kyttest.Build(t)
	r := f.Open(context.Background())
	defer r.Close()
	tr := register(t, r, kyt.Request{Chain: "btc", Tx: strings.ToUpper(f.DepositTx), OutputIndex: u32(0), UserID: " alice "})
	if tr.Status != kyt.StatusScreened || tr.Chain != kyttest.BTCChain || tr.Tx != f.DepositTx || tr.UserID != "alice" ||
		tr.Address != f.Deposit || tr.Asset != "BTC" || tr.Amount != "3000000000" || tr.Rating != "LOW" || tr.Screened == nil {
		t.Fatalf("transfer %+v", tr)
	}
	if len(tr.Senders) != 2 || tr.Senders[0].Address != f.Bad || tr.Senders[1].Address != f.Clean ||
		tr.Senders[0].Value != "5000000000" || tr.Senders[1].Value != "5000000000" {
		t.Fatalf("senders %+v", tr.Senders)
	}
	if ids := tr.Senders[1].Screening.Identifications; len(ids) != 1 || ids[0].Category != "exchange" {
		t.Fatalf("the exchange sender's identifications: %+v", ids)
	}
	if tr.Senders[0].Screening.Exposure == nil {
		t.Fatal("no exposure for a sender on a chain with a graph")
	}
	if !strings.HasPrefix(tr.ID, "tr_") || len(tr.Reasons) != 0 {
		t.Fatalf("id %q, reasons %q", tr.ID, tr.Reasons)
	}
}

// TestRegisterEVM resolves a token transfer by its log index and the
// native value transfer of a transaction without one; the hacker sender
// rates the token deposit HIGH.
func TestRegisterEVM(t *testing.T) {
	f := kyttest.Build(t)
	r := f.Open(context.Background())
	defer r.Close()
	tok := register(t, r, kyt.Request{Chain: "eth-sim", Tx: f.TokenTx, LogIndex: u32(f.TokenLog), UserID: "bob"})
	if tok.Status != kyt.StatusScreened || tok.Address != f.ETHDeposit || tok.Asset != "USDT" || tok.Token != f.USDT ||
		tok.Amount != "250000000" || len(tok.Senders) != 1 || tok.Senders[0].Address != f.ETHBad || tok.Rating != "HIGH" {
		t.Fatalf("token transfer %+v", tok)
	}
	if len(tok.Reasons) != 1 || !strings.Contains(tok.Reasons[0], f.ETHBad) {
		t.Fatalf("reasons %q", tok.Reasons)
	}
	nat := register(t, r, kyt.Request{Chain: "eth", Tx: strings.TrimPrefix(f.NativeTx, "0x"), UserID: "bob"})
	if nat.Chain != kyttest.ETHChain || nat.Tx != f.NativeTx || nat.Asset != "ETH" || nat.Token != "" || nat.Amount != "1000000000000000000" ||
		len(nat.Senders) != 1 || nat.Senders[0].Address != f.ETHClean || nat.Rating != "LOW" {
		t.Fatalf("native transfer %+v", nat)
	}
	if len(nat.Senders[0].Screening.Notes) == 0 {
		t.Fatal("an EVM sender's screening has no note about the missing graph")
	}
	_, err := r.Register(context.Background(), kyt.Request{Chain: "eth-sim", Tx: f.TokenTx, LogIndex: u32(f.TokenLog + 7), UserID: "bob"})
	if !errors.Is(err, kyt.ErrNoSuchTransfer) {
		t.Fatalf("a log index the transaction lacks: %v", err)
	}
}

// TestIdempotentAndConflict registers a transfer twice for its user (the
// same transfer back) and once for another user (a conflict).
func TestIdempotentAndConflict(t *testing.T) {
	f := kyttest.Build(t)
	ctx := context.Background()
	r := f.Open(ctx)
	defer r.Close()
	req := kyt.Request{Chain: kyttest.BTCChain, Tx: f.DepositTx, OutputIndex: u32(0), UserID: "alice"}
	a := register(t, r, req)
	b := register(t, r, req)
	if a.ID != b.ID || !a.Screened.Equal(*b.Screened) {
		t.Fatalf("registered twice: %s and %s", a.ID, b.ID)
	}
	req.UserID = "mallory"
	if _, err := r.Register(ctx, req); !errors.Is(err, kyt.ErrConflict) || !strings.Contains(err.Error(), "alice") {
		t.Fatalf("another user: %v", err)
	}
	req.UserID, req.OutputIndex = "alice", u32(1)
	if c := register(t, r, req); c.ID == a.ID {
		t.Fatal("another output got the same id")
	}
	page, err := r.List(ctx, kyt.Filter{}, "", 0)
	if err != nil || len(page.Transfers) != 2 || page.Next != "" {
		t.Fatalf("list: %+v %v", page, err)
	}
}

// TestInvalidRequests names the faulty input in each error.
func TestInvalidRequests(t *testing.T) {
	f := kyttest.Build(t)
	ctx := context.Background()
	r := f.Open(ctx)
	defer r.Close()
	cases := []struct {
		req  kyt.Request
		want error
		text string
	}{
		{kyt.Request{Chain: "doge", Tx: f.DepositTx, OutputIndex: u32(0), UserID: "u"}, kyt.ErrInvalid, `unknown chain "doge"`},
		{kyt.Request{Chain: "btc", Tx: "abc", OutputIndex: u32(0), UserID: "u"}, kyt.ErrInvalid, `"abc" is not 64 hex digits`},
		{kyt.Request{Chain: "btc", Tx: strings.Repeat("zz", 32), OutputIndex: u32(0), UserID: "u"}, kyt.ErrInvalid, "is not hex"},
		{kyt.Request{Chain: "btc", Tx: f.DepositTx, UserID: "u"}, kyt.ErrInvalid, "needs output_index"},
		{kyt.Request{Chain: "btc", Tx: f.DepositTx, OutputIndex: u32(0), LogIndex: u32(1), UserID: "u"}, kyt.ErrInvalid, "not both"},
		{kyt.Request{Chain: "eth", Tx: f.NativeTx, OutputIndex: u32(0), UserID: "u"}, kyt.ErrInvalid, "has no outputs"},
		{kyt.Request{Chain: "btc", Tx: f.DepositTx, OutputIndex: u32(0), UserID: "  "}, kyt.ErrInvalid, "user_id is empty"},
		{kyt.Request{Chain: "btc", Tx: f.DepositTx, OutputIndex: u32(9), UserID: "u"}, kyt.ErrNoSuchTransfer, "has 2 outputs, no output 9"},
	}
	for _, c := range cases {
		_, err := r.Register(ctx, c.req)
		if !errors.Is(err, c.want) || !strings.Contains(err.Error(), c.text) {
			t.Errorf("%+v: got %v, want %v mentioning %q", c.req, err, c.want, c.text)
		}
	}
	if _, err := r.Get(ctx, "tr_nothing"); !errors.Is(err, kyt.ErrNotFound) {
		t.Errorf("unknown id: %v", err)
	}
	if _, err := r.List(ctx, kyt.Filter{}, "not-a-cursor", 0); !errors.Is(err, kyt.ErrBadCursor) {
		t.Errorf("bad cursor: %v", err)
	}
	if _, err := r.List(ctx, kyt.Filter{Rating: "CRITICAL"}, "", 0); !errors.Is(err, kyt.ErrInvalid) || !strings.Contains(err.Error(), "CRITICAL") {
		t.Errorf("bad rating: %v", err)
	}
	page, err := r.List(ctx, kyt.Filter{}, "", 0)
	if err != nil || len(page.Transfers) != 0 {
		t.Fatalf("failed registrations were stored: %+v %v", page, err)
	}
}

// TestPendingThenScreened registers a transfer the store does not hold
// yet, then ingests its block and re-screens.
func TestPendingThenScreened(t *testing.T) {
	f := kyttest.Build(t)
	ctx := context.Background()
	r := f.Open(ctx)
	defer r.Close()
	req := kyt.Request{Chain: "btc", Tx: f.PendingTx, OutputIndex: u32(0), UserID: "carol"}
	p := register(t, r, req)
	if p.Status != kyt.StatusPending || p.Rating != "" || p.Address != "" || p.Screened != nil {
		t.Fatalf("pending transfer %+v", p)
	}
	if st, err := r.Rescreen(ctx); err != nil || st.Resolved != 0 {
		t.Fatalf("rescreen before the block: %+v %v", st, err)
	}
	if has, err := r.HasPending(ctx); err != nil || !has {
		t.Fatalf("no pending transfer before the block (%v)", err)
	}
	f.Extend()
	st, err := r.Rescreen(ctx)
	if err != nil || st.Resolved != 1 || st.Alerts != 0 {
		t.Fatalf("rescreen after the block: %+v %v", st, err)
	}
	got, err := r.Get(ctx, p.ID)
	if err != nil || got.Status != kyt.StatusScreened || got.Address != f.Deposit || got.Amount != "100000000" || got.Rating != "LOW" {
		t.Fatalf("after the block: %+v %v", got, err)
	}
	page, err := r.List(ctx, kyt.Filter{Rating: "pending"}, "", 0)
	if err != nil || len(page.Transfers) != 0 {
		t.Fatalf("still pending: %+v %v", page, err)
	}
	if has, err := r.HasPending(ctx); err != nil || has {
		t.Fatalf("a pending transfer left after the block (%v)", err)
	}
}

// TestRescreenRaisesOneAlert sanctions a sender after registration: the
// next Rescreen raises exactly one rating_change alert, in the store's
// alert and outbox tables and in the journal, and a further Rescreen
// none.
func TestRescreenRaisesOneAlert(t *testing.T) {
	f := kyttest.Build(t)
	ctx := context.Background()
	r := f.Open(ctx)
	defer r.Close()
	tr := register(t, r, kyt.Request{Chain: "btc", Tx: f.DepositTx, OutputIndex: u32(0), UserID: "alice"})
	register(t, r, kyt.Request{Chain: "eth-sim", Tx: f.NativeTx, UserID: "bob"})
	if st, err := r.Rescreen(ctx); err != nil || st.Transfers != 2 || st.Alerts != 0 {
		t.Fatalf("rescreen without changes: %+v %v", st, err)
	}
	f.Sanction(f.Bad)
	st, err := r.Rescreen(ctx)
	if err != nil || st.Changed != 1 || st.Alerts != 1 {
		t.Fatalf("rescreen after the sanction: %+v %v", st, err)
	}
	got, err := r.Get(ctx, tr.ID)
	if err != nil || got.Rating != "SEVERE" || len(got.Reasons) != 1 || !strings.Contains(got.Reasons[0], f.Bad) {
		t.Fatalf("re-screened transfer %+v %v", got, err)
	}
	as, err := alert.List(ctx, r.DB(), 0, 0)
	if err != nil || len(as) != 1 {
		t.Fatalf("stored alerts %+v %v", as, err)
	}
	a := as[0]
	if a.Kind != monitor.KindRatingChange || a.Chain != kyt.AlertChain || a.Transfer != tr.ID || a.UserID != "alice" ||
		a.OldRating != "LOW" || a.NewRating != "SEVERE" || a.Seq != 1 || a.ID == "" || a.Amount != 3_000_000_000 ||
		!strings.Contains(a.Reason, "new label on sender "+f.Bad) || !strings.Contains(a.Reason, "Fixture sanctioned wallet") {
		t.Fatalf("alert %+v", a)
	}
	var outbox int
	if err := r.DB().MonitorScan(ctx, store.MonOutbox, nil, func(_, _ []byte) (bool, error) { outbox++; return true, nil }); err != nil || outbox != 1 {
		t.Fatalf("outbox holds %d entries (%v)", outbox, err)
	}
	js, err := monitor.ReadJournal(f.Data)
	if err != nil || len(js) != 1 || js[0].ID != a.ID {
		t.Fatalf("journal %+v %v", js, err)
	}
	if st, err := r.Rescreen(ctx); err != nil || st.Alerts != 0 || st.Changed != 0 {
		t.Fatalf("a second rescreen: %+v %v", st, err)
	}
	if js, _ := monitor.ReadJournal(f.Data); len(js) != 1 {
		t.Fatalf("journal after a second rescreen holds %d alerts", len(js))
	}
	page, err := r.List(ctx, kyt.Filter{Rating: "severe"}, "", 0)
	if err != nil || len(page.Transfers) != 1 || page.Transfers[0].ID != tr.ID {
		t.Fatalf("severe transfers %+v %v", page, err)
	}
}

// TestRestartKeepsRegistrations closes and reopens the registry: the
// transfers, their order and the alert counter survive.
func TestRestartKeepsRegistrations(t *testing.T) {
	f := kyttest.Build(t)
	ctx := context.Background()
	r := f.Open(ctx)
	a := register(t, r, kyt.Request{Chain: "btc", Tx: f.DepositTx, OutputIndex: u32(0), UserID: "alice"})
	p := register(t, r, kyt.Request{Chain: "btc", Tx: f.PendingTx, OutputIndex: u32(0), UserID: "carol"})
	f.Sanction(f.Bad)
	if st, err := r.Rescreen(ctx); err != nil || st.Alerts != 1 {
		t.Fatalf("rescreen %+v %v", st, err)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	r = f.Open(ctx)
	defer r.Close()
	page, err := r.List(ctx, kyt.Filter{}, "", 1)
	if err != nil || len(page.Transfers) != 1 || page.Transfers[0].ID != a.ID || page.Next == "" {
		t.Fatalf("first page after restart %+v %v", page, err)
	}
	page, err = r.List(ctx, kyt.Filter{}, page.Next, 1)
	if err != nil || len(page.Transfers) != 1 || page.Transfers[0].ID != p.ID || page.Transfers[0].Status != kyt.StatusPending || page.Next != "" {
		t.Fatalf("second page after restart %+v %v", page, err)
	}
	if got, err := r.Get(ctx, a.ID); err != nil || got.Rating != "SEVERE" {
		t.Fatalf("after restart %+v %v", got, err)
	}
	for user, want := range map[string]string{"carol": p.ID, "alice": a.ID, "car": ""} {
		page, err := r.List(ctx, kyt.Filter{UserID: user}, "", 0)
		if err != nil || len(page.Transfers) != map[bool]int{true: 1, false: 0}[want != ""] || want != "" && page.Transfers[0].ID != want {
			t.Fatalf("%s's transfers after restart %+v %v", user, page, err)
		}
	}
	// Delisting the sender after the restart raises the next alert,
	// numbered after the first.
	f.Sanction(f.Unused)
	f.Extend()
	st, err := r.Rescreen(ctx)
	if err != nil || st.Resolved != 1 || st.Alerts != 1 {
		t.Fatalf("rescreen after restart %+v %v", st, err)
	}
	as, err := alert.List(ctx, r.DB(), 0, 0)
	if err != nil || len(as) != 2 || as[1].Seq != 2 || as[1].OldRating != "SEVERE" || as[1].NewRating != "LOW" ||
		!strings.Contains(as[1].Reason, "label removed from sender "+f.Bad) || as[1].ID == as[0].ID {
		t.Fatalf("alerts after restart %+v %v", as, err)
	}
	if again := register(t, r, kyt.Request{Chain: "btc", Tx: f.PendingTx, OutputIndex: u32(0), UserID: "carol"}); again.ID != p.ID || again.Status != kyt.StatusScreened {
		t.Fatalf("registered again after restart: %+v", again)
	}
}

// TestCorruptRecord reports a corrupt registry record with its sequence
// number instead of failing silently.
func TestCorruptRecord(t *testing.T) {
	f := kyttest.Build(t)
	ctx := context.Background()
	r := f.Open(ctx)
	tr := register(t, r, kyt.Request{Chain: "btc", Tx: f.DepositTx, OutputIndex: u32(0), UserID: "alice"})
	b := r.DB().NewBatch()
	b.PutMonitor(store.MonWatched, append([]byte{'r'}, 0, 0, 0, 0, 0, 0, 0, 1), []byte("{not json"))
	if err := b.Commit(ctx, true); err != nil {
		t.Fatal(err)
	}
	b.Close()
	if _, err := r.Get(ctx, tr.ID); err == nil || !strings.Contains(err.Error(), "corrupt transfer record 1") {
		t.Fatalf("get: %v", err)
	}
	if _, err := r.List(ctx, kyt.Filter{}, "", 0); err == nil || !strings.Contains(err.Error(), "corrupt transfer record 1") {
		t.Fatalf("list: %v", err)
	}
	r.Close()
	// A data directory whose kyt directory is a file is no registry.
	data := t.TempDir()
	if err := os.WriteFile(filepath.Join(data, "kyt"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := kyt.Open(ctx, kyt.Options{Data: data, Screener: f.Screener}); err == nil || !strings.Contains(err.Error(), filepath.Join(data, "kyt")) {
		t.Fatalf("open over a file: %v", err)
	}
}

// TestStamp changes when a new incident file changes the data directory,
// and not otherwise: a label import is for labels.Live to notice.
func TestStamp(t *testing.T) {
	f := kyttest.Build(t)
	a, err := kyt.Stamp(f.Data)
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := kyt.Stamp(f.Data); b != a {
		t.Fatal("the stamp changed without a change")
	}
	if err := os.MkdirAll(f.Path("incidents"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(f.Path("incidents", "new.yaml"), []byte("incidents: []\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	b, err := kyt.Stamp(f.Data)
	if err != nil || b == a {
		t.Fatalf("a new incident file left the stamp as it was (%v)", err)
	}
	f.Sanction(f.Bad)
	if c, err := kyt.Stamp(f.Data); err != nil || c != b {
		t.Fatalf("a label import changed the stamp (%v)", err)
	}
}

// TestOfflineStore registers a transfer of a chain whose store another
// process holds as pending, and screens it once the store is readable.
func TestOfflineStore(t *testing.T) {
	f := kyttest.Build(t)
	ctx := context.Background()
	r := f.Open(ctx)
	defer r.Close()
	r.SetChains(kyt.Chains{Offline: map[string]bool{kyttest.BTCChain: true, kyttest.ETHChain: false}})
	p := register(t, r, kyt.Request{Chain: "btc", Tx: f.DepositTx, OutputIndex: u32(0), UserID: "alice"})
	if p.Status != kyt.StatusPending || p.Chain != kyttest.BTCChain {
		t.Fatalf("transfer of an offline store %+v", p)
	}
	if _, err := r.Register(ctx, kyt.Request{Chain: "eth-sim", Tx: f.TokenTx, OutputIndex: u32(0), UserID: "bob"}); !errors.Is(err, kyt.ErrInvalid) {
		t.Fatalf("an output index on an offline EVM store: %v", err)
	}
	r.SetChains(f.Chains())
	st, err := r.ResolvePending(ctx)
	if err != nil || st.Transfers != 1 || st.Resolved != 1 {
		t.Fatalf("resolve pending %+v %v", st, err)
	}
	if got, err := r.Get(ctx, p.ID); err != nil || got.Status != kyt.StatusScreened || got.Rating != "LOW" {
		t.Fatalf("after the store came back %+v %v", got, err)
	}
	if st, err := r.ResolvePending(ctx); err != nil || st.Transfers != 0 {
		t.Fatalf("nothing is pending, yet %+v %v", st, err)
	}
}

// TestJournalCompletedAfterCrash loses the journal after a rating
// change was committed (a crash between the commit and the append):
// SyncJournal, which a server runs when it opens the registry, writes the
// alert again under the same id, and a second call adds nothing.
func TestJournalCompletedAfterCrash(t *testing.T) {
	f := kyttest.Build(t)
	ctx := context.Background()
	r := f.Open(ctx)
	register(t, r, kyt.Request{Chain: "btc", Tx: f.DepositTx, OutputIndex: u32(0), UserID: "alice"})
	f.Sanction(f.Bad)
	if st, err := r.Rescreen(ctx); err != nil || st.Alerts != 1 {
		t.Fatalf("rescreen %+v %v", st, err)
	}
	js, err := monitor.ReadJournal(f.Data)
	if err != nil || len(js) != 1 {
		t.Fatalf("journal %+v %v", js, err)
	}
	if err := os.Remove(monitor.JournalPath(f.Data)); err != nil {
		t.Fatal(err)
	}
	r.Close()
	r = f.Open(ctx)
	defer r.Close()
	for range 2 {
		if err := r.SyncJournal(ctx); err != nil {
			t.Fatal(err)
		}
	}
	again, err := monitor.ReadJournal(f.Data)
	if err != nil || len(again) != 1 || again[0].ID != js[0].ID {
		t.Fatalf("journal after the crash %+v %v", again, err)
	}
}

// TestRescreenCancelled cancels a re-screen before it commits: nothing
// changes, and the next one raises the alert once.
func TestRescreenCancelled(t *testing.T) {
	f := kyttest.Build(t)
	ctx := context.Background()
	r := f.Open(ctx)
	defer r.Close()
	tr := register(t, r, kyt.Request{Chain: "btc", Tx: f.DepositTx, OutputIndex: u32(0), UserID: "alice"})
	f.Sanction(f.Bad)
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := r.Rescreen(cctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled rescreen: %v", err)
	}
	if got, _ := r.Get(ctx, tr.ID); got.Rating != "LOW" {
		t.Fatalf("a cancelled rescreen changed the rating to %s", got.Rating)
	}
	if st, err := r.Rescreen(ctx); err != nil || st.Alerts != 1 {
		t.Fatalf("rescreen %+v %v", st, err)
	}
	if as, err := alert.List(ctx, r.DB(), 0, 0); err != nil || len(as) != 1 {
		t.Fatalf("alerts %+v %v", as, err)
	}
}

// TestConcurrentRegistrations registers one transfer from many
// goroutines, half of them for another user: one record, one id, and
// every other user's attempt a conflict.
func TestConcurrentRegistrations(t *testing.T) {
	f := kyttest.Build(t)
	ctx := context.Background()
	r := f.Open(ctx)
	defer r.Close()
	const n = 8
	ids := make([]string, n)
	errs := make([]error, n)
	done := make(chan int)
	for i := range n {
		go func() {
			user := "alice"
			if i%2 == 1 {
				user = "mallory"
			}
			tr, err := r.Register(ctx, kyt.Request{Chain: "btc", Tx: f.DepositTx, OutputIndex: u32(0), UserID: user})
			ids[i], errs[i] = tr.ID, err
			done <- i
		}()
	}
	for range n {
		<-done
	}
	winner := ""
	for i := range n {
		if errs[i] == nil {
			if winner != "" && ids[i] != winner {
				t.Fatalf("two ids: %s and %s", winner, ids[i])
			}
			winner = ids[i]
		} else if !errors.Is(errs[i], kyt.ErrConflict) {
			t.Fatalf("registration %d: %v", i, errs[i])
		}
	}
	page, err := r.List(ctx, kyt.Filter{}, "", 0)
	if err != nil || len(page.Transfers) != 1 || page.Transfers[0].ID != winner {
		t.Fatalf("list %+v %v", page, err)
	}
	for i := range n {
		if errs[i] == nil && (i%2 == 1) != (page.Transfers[0].UserID == "mallory") {
			t.Fatalf("registration %d succeeded for the user who did not win", i)
		}
	}
}

// TestReorgMakesPending re-screens a screened transfer over a store
// without its block (as after a reorg that did not include it again): it
// is pending again, without an alert, and screened once the block is
// back.
func TestReorgMakesPending(t *testing.T) {
	f := kyttest.Build(t)
	before := kyttest.Build(t) // the same chain without PendingTx's block
	f.Extend()
	ctx := context.Background()
	r := f.Open(ctx)
	defer r.Close()
	tr := register(t, r, kyt.Request{Chain: "btc", Tx: f.PendingTx, OutputIndex: u32(0), UserID: "carol"})
	if tr.Status != kyt.StatusScreened {
		t.Fatalf("registered %+v", tr)
	}
	r.SetChains(before.Chains())
	st, err := r.Rescreen(ctx)
	if err != nil || st.Vanished != 1 || st.Alerts != 0 {
		t.Fatalf("rescreen over the shorter chain %+v %v", st, err)
	}
	got, err := r.Get(ctx, tr.ID)
	if err != nil || got.Status != kyt.StatusPending || got.Rating != "" || len(got.Reasons) != 1 || got.Address != f.Deposit {
		t.Fatalf("after the reorg %+v %v", got, err)
	}
	if has, err := r.HasPending(ctx); err != nil || !has {
		t.Fatalf("not pending after the reorg (%v)", err)
	}
	r.SetChains(f.Chains())
	if st, err := r.ResolvePending(ctx); err != nil || st.Resolved != 1 {
		t.Fatalf("the block is back: %+v %v", st, err)
	}
	if got, err := r.Get(ctx, tr.ID); err != nil || got.Status != kyt.StatusScreened || got.Rating != "LOW" {
		t.Fatalf("screened again %+v %v", got, err)
	}
}

// TestPendingThenInvalid registers a pending transfer with an output its
// transaction turns out not to have: once the transaction appears, the
// transfer is invalid, not pending, and registering it again says why.
func TestPendingThenInvalid(t *testing.T) {
	f := kyttest.Build(t)
	ctx := context.Background()
	r := f.Open(ctx)
	defer r.Close()
	req := kyt.Request{Chain: "btc", Tx: f.PendingTx, OutputIndex: u32(5), UserID: "carol"}
	p := register(t, r, req)
	f.Extend()
	st, err := r.Rescreen(ctx)
	if err != nil || st.Invalid != 1 || st.Resolved != 0 {
		t.Fatalf("rescreen %+v %v", st, err)
	}
	got, err := r.Get(ctx, p.ID)
	if err != nil || got.Status != kyt.StatusInvalid || len(got.Reasons) != 1 || !strings.Contains(got.Reasons[0], "no output 5") {
		t.Fatalf("after the transaction appeared %+v %v", got, err)
	}
	if has, _ := r.HasPending(ctx); has {
		t.Fatal("an invalid transfer is still pending")
	}
	if _, err := r.Register(ctx, req); !errors.Is(err, kyt.ErrNoSuchTransfer) || !strings.Contains(err.Error(), "no output 5") {
		t.Fatalf("registered again: %v", err)
	}
	if page, err := r.List(ctx, kyt.Filter{Rating: "invalid"}, "", 0); err != nil || len(page.Transfers) != 1 {
		t.Fatalf("invalid transfers %+v %v", page, err)
	}
	if st, err := r.Rescreen(ctx); err != nil || st.Invalid != 0 || st.Transfers != 1 {
		t.Fatalf("a second rescreen %+v %v", st, err)
	}
}
