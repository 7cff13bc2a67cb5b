package monitor

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chaintrace/chaintrace/internal/store"
)

// journalStore opens a Bitcoin store of network for journal tests.
func journalStore(t *testing.T, network string) *store.DB {
	t.Helper()
	db, err := store.Open(t.Context(), t.TempDir(), store.ChainMeta{Chain: "btc", Network: network}, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// commitAlerts writes alerts seq from..to of chain to db as the monitor
// stage does, with block times one hour apart from base; salt makes the
// ids of a rebuilt store differ.
func commitAlerts(t *testing.T, db *store.DB, chain string, from, to uint64, base time.Time, salt string) []Alert {
	t.Helper()
	w := db.NewBatch()
	defer w.Close()
	var as []Alert
	for seq := from; seq <= to; seq++ {
		a := Alert{Seq: seq, Kind: KindAlert, Watch: "w1", Rule: "any", Chain: chain, Tx: salt + strings.Repeat("ab", 8),
			Height: seq, Block: "b", Time: base.Add(time.Duration(seq) * time.Hour).UTC(), Direction: DirOut}
		a.setID()
		v, err := json.Marshal(a)
		if err != nil {
			t.Fatal(err)
		}
		w.PutMonitor(store.MonAlert, SeqKey(seq), v)
		w.PutMonitor(store.MonOutbox, SeqKey(seq), nil)
		as = append(as, a)
	}
	if err := w.Commit(t.Context(), true); err != nil {
		t.Fatal(err)
	}
	return as
}

func ids(as []Alert) []string {
	out := make([]string, len(as))
	for i := range as {
		out[i] = as[i].ID
	}
	return out
}

func readAll(t *testing.T, data string) []Alert {
	t.Helper()
	as, err := ReadJournal(data)
	if err != nil {
		t.Fatal(err)
	}
	return as
}

func mustSync(t *testing.T, j *JournalWriter, db *store.DB, want int) {
	t.Helper()
	n, err := j.Sync(t.Context(), db)
	if err != nil {
		t.Fatal(err)
	}
	if n != want {
		t.Fatalf("Sync appended %d alerts, want %d", n, want)
	}
}

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// TestJournalWriterSync checks that Sync appends committed alerts once,
// in sequence order, and only the new ones on later calls.
func TestJournalWriterSync(t *testing.T) {
	data := t.TempDir()
	db := journalStore(t, "regtest")
	j := NewJournalWriter(data, "btc-regtest")
	mustSync(t, j, db, 0)
	want := commitAlerts(t, db, "btc-regtest", 1, 3, t0, "")
	mustSync(t, j, db, 3)
	mustSync(t, j, db, 0)
	want = append(want, commitAlerts(t, db, "btc-regtest", 4, 5, t0, "")...)
	mustSync(t, j, db, 2)
	if got := ids(readAll(t, data)); !slices.Equal(got, ids(want)) {
		t.Fatalf("journal = %v, want %v", got, ids(want))
	}
	// A new writer (a restarted follower) finds where the chain stopped.
	mustSync(t, NewJournalWriter(data, "btc-regtest"), db, 0)
}

// TestJournalWriterCompletes checks that a journal deleted or left behind
// (a crash between the store's commit and the append) is completed from
// the store.
func TestJournalWriterCompletes(t *testing.T) {
	data := t.TempDir()
	db := journalStore(t, "regtest")
	want := commitAlerts(t, db, "btc-regtest", 1, 4, t0, "")
	mustSync(t, NewJournalWriter(data, "btc-regtest"), db, 4)
	if err := os.Remove(JournalPath(data)); err != nil {
		t.Fatal(err)
	}
	mustSync(t, NewJournalWriter(data, "btc-regtest"), db, 4)
	if got := ids(readAll(t, data)); !slices.Equal(got, ids(want)) {
		t.Fatalf("journal = %v, want %v", got, ids(want))
	}
	// Behind: only the first two were journalled before the crash.
	if err := os.Remove(JournalPath(data)); err != nil {
		t.Fatal(err)
	}
	if err := AppendJournal(t.Context(), data, want[:2]); err != nil {
		t.Fatal(err)
	}
	mustSync(t, NewJournalWriter(data, "btc-regtest"), db, 2)
	if got := ids(readAll(t, data)); !slices.Equal(got, ids(want)) {
		t.Fatalf("journal = %v, want %v", got, ids(want))
	}
}

// TestJournalWriterRebuiltStore checks that when the store was rebuilt
// from scratch (its alerts have other ids), the chain's old lines are
// dropped and rewritten from the store, and other chains' lines stay.
func TestJournalWriterRebuiltStore(t *testing.T) {
	data := t.TempDir()
	reg, sim := journalStore(t, "regtest"), journalStore(t, "simnet")
	commitAlerts(t, reg, "btc-regtest", 1, 3, t0, "")
	simAlerts := commitAlerts(t, sim, "btc-simnet", 1, 2, t0, "")
	mustSync(t, NewJournalWriter(data, "btc-regtest"), reg, 3)
	mustSync(t, NewJournalWriter(data, "btc-simnet"), sim, 2)

	rebuilt := journalStore(t, "regtest")
	fresh := commitAlerts(t, rebuilt, "btc-regtest", 1, 2, t0, "x")
	mustSync(t, NewJournalWriter(data, "btc-regtest"), rebuilt, 2)
	want := append(ids(simAlerts), ids(fresh)...)
	if got := ids(readAll(t, data)); !slices.Equal(got, want) {
		t.Fatalf("journal = %v, want %v", got, want)
	}
}

// TestJournalTwoChains checks that two chains' writers share the journal,
// each chain's alerts in its sequence order.
func TestJournalTwoChains(t *testing.T) {
	data := t.TempDir()
	reg, sim := journalStore(t, "regtest"), journalStore(t, "simnet")
	jr, js := NewJournalWriter(data, "btc-regtest"), NewJournalWriter(data, "btc-simnet")
	for round := uint64(0); round < 3; round++ {
		commitAlerts(t, reg, "btc-regtest", round*2+1, round*2+2, t0, "")
		commitAlerts(t, sim, "btc-simnet", round+1, round+1, t0, "")
		mustSync(t, js, sim, 1)
		mustSync(t, jr, reg, 2)
	}
	seqs := map[string][]uint64{}
	for _, a := range readAll(t, data) {
		seqs[a.Chain] = append(seqs[a.Chain], a.Seq)
	}
	if !slices.Equal(seqs["btc-regtest"], []uint64{1, 2, 3, 4, 5, 6}) || !slices.Equal(seqs["btc-simnet"], []uint64{1, 2, 3}) {
		t.Fatalf("per-chain sequences = %v", seqs)
	}
}

// TestJournalWriterRun checks that Run journals once more when its
// context ends, so a follower's last batch is not left out.
func TestJournalWriterRun(t *testing.T) {
	data := t.TempDir()
	db := journalStore(t, "regtest")
	commitAlerts(t, db, "btc-regtest", 1, 1, t0, "")
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() {
		defer close(done)
		NewJournalWriter(data, "btc-regtest").Run(ctx, db, time.Hour, func(err error) { t.Error(err) })
	}()
	// The first round runs at once; after it, with an hour's poll, only
	// the final round can journal the second alert.
	deadline := time.Now().Add(10 * time.Second)
	for len(readAll(t, data)) < 1 {
		if time.Now().After(deadline) {
			t.Fatal("the first round journalled nothing")
		}
		time.Sleep(5 * time.Millisecond)
	}
	commitAlerts(t, db, "btc-regtest", 2, 2, t0, "")
	cancel()
	<-done
	if n := len(readAll(t, data)); n != 2 {
		t.Fatalf("journal has %d alerts after Run ended, want 2", n)
	}
}

// TestAppendJournalTornLine checks that a torn last line (a crash in the
// middle of a write) is cut off before the next append, and that a
// corrupt complete line is an error naming the file and the byte offset.
func TestAppendJournalTornLine(t *testing.T) {
	data := t.TempDir()
	db := journalStore(t, "regtest")
	as := commitAlerts(t, db, "btc-regtest", 1, 3, t0, "")
	if err := AppendJournal(t.Context(), data, as[:1]); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(JournalPath(data), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(`{"id":"torn","seq":2,"ki`); err != nil {
		t.Fatal(err)
	}
	f.Close()
	r := NewJournalReader(data)
	if got, err := r.Next(); err != nil || len(got) != 1 {
		t.Fatalf("reader before repair: %d alerts, %v; want 1 (the torn line is not read)", len(got), err)
	}
	if err := AppendJournal(t.Context(), data, as[1:]); err != nil {
		t.Fatal(err)
	}
	if got, err := r.Next(); err != nil || !slices.Equal(ids(got), ids(as[1:])) {
		t.Fatalf("reader after repair: %v, %v; want %v", ids(got), err, ids(as[1:]))
	}

	bad := t.TempDir()
	if err := os.MkdirAll(Dir(bad), 0o700); err != nil {
		t.Fatal(err)
	}
	line, _ := json.Marshal(as[0])
	if err := os.WriteFile(JournalPath(bad), append(append(line, '\n'), "not json\n"...), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = ReadJournal(bad)
	if err == nil || !strings.Contains(err.Error(), JournalPath(bad)) || !strings.Contains(err.Error(), "at byte "+strconv.Itoa(len(line)+1)) {
		t.Fatalf("corrupt line: err = %v, want the path and byte %d", err, len(line)+1)
	}
}

// TestCompactJournal checks what compaction keeps (recent alerts, the
// last N, each chain's last), that a live reader neither repeats nor
// misses anything across it, and that a writer does not journal a
// chain's history again after it.
func TestCompactJournal(t *testing.T) {
	data := t.TempDir()
	reg, sim := journalStore(t, "regtest"), journalStore(t, "simnet")
	regAlerts := commitAlerts(t, reg, "btc-regtest", 1, 10, t0, "") // t0+1h .. t0+10h
	simAlerts := commitAlerts(t, sim, "btc-simnet", 1, 2, t0, "")   // t0+1h, t0+2h
	mustSync(t, NewJournalWriter(data, "btc-simnet"), sim, 2)       // journal: sim 1-2
	mustSync(t, NewJournalWriter(data, "btc-regtest"), reg, 10)     // then reg 1-10
	r := NewJournalReader(data)
	if got, err := r.Next(); err != nil || len(got) != 12 {
		t.Fatalf("reader: %d alerts, %v", len(got), err)
	}

	if _, _, err := CompactJournal(t.Context(), data, CompactOptions{KeepLast: -1}); err == nil {
		t.Fatal("negative keep-last accepted")
	}
	kept, dropped, err := CompactJournal(t.Context(), data, CompactOptions{Since: t0.Add(8 * time.Hour), KeepLast: 4})
	if err != nil {
		t.Fatal(err)
	}
	// Kept: sim 2 (the chain's last), reg 7-10 (the last four; 8-10 are
	// also recent enough).
	want := []string{simAlerts[1].ID, regAlerts[6].ID, regAlerts[7].ID, regAlerts[8].ID, regAlerts[9].ID}
	if got := ids(readAll(t, data)); !slices.Equal(got, want) || kept != 5 || dropped != 7 {
		t.Fatalf("after compaction: %v (kept %d, dropped %d), want %v (5, 7)", got, kept, dropped, want)
	}
	if got, err := r.Next(); err != nil || len(got) != 0 {
		t.Fatalf("reader after compaction: %v, %v; want nothing new", ids(got), err)
	}
	// Writers restarted after compaction journal only what is new.
	mustSync(t, NewJournalWriter(data, "btc-simnet"), sim, 0)
	more := commitAlerts(t, reg, "btc-regtest", 11, 11, t0, "")
	mustSync(t, NewJournalWriter(data, "btc-regtest"), reg, 1)
	if got, err := r.Next(); err != nil || !slices.Equal(ids(got), ids(more)) {
		t.Fatalf("reader after a new alert: %v, %v; want %v", ids(got), err, ids(more))
	}
	// Nothing to drop leaves the file alone.
	before, err := os.Stat(JournalPath(data))
	if err != nil {
		t.Fatal(err)
	}
	if _, dropped, err := CompactJournal(t.Context(), data, CompactOptions{KeepLast: 100}); err != nil || dropped != 0 {
		t.Fatalf("second compaction dropped %d, %v", dropped, err)
	}
	after, _ := os.Stat(JournalPath(data))
	if !os.SameFile(before, after) {
		t.Fatal("compaction with nothing to drop replaced the file")
	}
	if left, _ := filepath.Glob(JournalPath(data) + ".tmp*"); len(left) > 0 {
		t.Fatalf("temporary files left: %v", left)
	}
	// No journal: nothing to do.
	if k, d, err := CompactJournal(t.Context(), t.TempDir(), CompactOptions{}); err != nil || k != 0 || d != 0 {
		t.Fatalf("missing journal: %d %d %v", k, d, err)
	}
}
