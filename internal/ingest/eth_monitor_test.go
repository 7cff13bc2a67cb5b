package ingest_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"slices"
	"testing"

	"github.com/ethereum/go-ethereum/common"

	"github.com/chaintrace/chaintrace/internal/eth"
	"github.com/chaintrace/chaintrace/internal/ingest"
	"github.com/chaintrace/chaintrace/internal/monitor"
	"github.com/chaintrace/chaintrace/internal/store"
)

// newEthMonitor returns an account monitor watching addr on the test
// stores' chain (eth), following native value down to one wei.
func newEthMonitor(t *testing.T, addr common.Address) *monitor.EthMonitor {
	t.Helper()
	w := monitor.Watch{ID: "w1", Chain: "eth", Addresses: []string{addr.Hex()}}
	if err := w.Check(); err != nil {
		t.Fatal(err)
	}
	m, err := monitor.NewEth(monitor.Options{Chain: "eth", Watches: []monitor.Watch{w}, AssetDust: map[string]string{"ETH": "0"}})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// monitorTable returns a monitor table's entries as text, to compare.
func monitorTable(t *testing.T, db *store.DB, tab store.MonitorTable) string {
	t.Helper()
	var b bytes.Buffer
	err := db.MonitorScan(context.Background(), tab, nil, func(k, v []byte) (bool, error) {
		fmt.Fprintf(&b, "%s=%s\n", hex.EncodeToString(k), hex.EncodeToString(v))
		return true, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// liveAlerts returns the store's alerts that no retraction withdrew, as
// text without their sequence numbers and ids, sorted; and the
// retractions.
func liveAlerts(t *testing.T, db *store.DB) (live []string, retracted map[string]monitor.Alert) {
	t.Helper()
	var all []monitor.Alert
	err := db.MonitorScan(context.Background(), store.MonAlert, nil, func(_, v []byte) (bool, error) {
		a, err := monitor.DecodeAlert(v)
		all = append(all, a)
		return true, err
	})
	if err != nil {
		t.Fatal(err)
	}
	retracted = map[string]monitor.Alert{}
	for _, a := range all {
		if a.Kind == monitor.KindRetraction {
			retracted[a.Retracts] = a
		}
	}
	for _, a := range all {
		if _, gone := retracted[a.ID]; a.Kind == monitor.KindAlert && !gone {
			live = append(live, fmt.Sprintf("%d %s %s %s %s %s %s %d %s", a.Height, a.Block, a.Tx, a.Rule, a.Direction, a.Asset, a.Value, a.Hop, a.Counterparties[0].Address))
		}
	}
	slices.Sort(live)
	return live, retracted
}

// TestEthMonitorReorg follows a watched sender on one branch, reorganises
// onto another, and checks that the orphaned blocks' alerts are
// retracted and that the alerts left and the taint and undo tables equal
// those of a fresh ingest of the new branch.
func TestEthMonitorReorg(t *testing.T) {
	ctx := context.Background()
	watched := synthAddr(0, 0) // sends in block 0 on both branches, 7 on a, 6 on b
	cfg := synthConfig{txs: 4, logs: 2, seed: 1}
	a := synthChain(t, 0, common.Hash{}, 10, cfg)
	cfg.seed = 2
	b := append(append([]*eth.RawBlock{}, a[:6]...), synthChain(t, 6, common.HexToHash(a[5].Hash), 6, cfg)...)
	fresh, _ := ingestEth(t, newMemEthSource(b), ingest.Options{EthMonitor: newEthMonitor(t, watched)})

	src := newMemEthSource(a)
	db := openEthStore(t, t.TempDir())
	defer db.Close()
	m := newEthMonitor(t, watched)
	if _, err := ingest.NewEth(db, src, ingest.Options{EthMonitor: m}).Run(ctx); err != nil {
		t.Fatal(err)
	}
	before, _ := liveAlerts(t, db)
	var at7 int
	for _, s := range before {
		if s[:2] == "7 " {
			at7++
		}
	}
	if at7 == 0 || len(before) == at7 {
		t.Fatalf("alerts on branch a: %v", before)
	}
	if _, n := m.Watching(); n == 0 {
		t.Fatal("nothing tainted on branch a")
	}
	src.set(b)
	st, err := ingest.NewEth(db, src, ingest.Options{EthMonitor: m}).Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Unwound != 4 {
		t.Fatalf("status %+v, want 4 unwound", st)
	}
	live, retracted := liveAlerts(t, db)
	if len(retracted) != at7 {
		t.Fatalf("%d retractions, want the %d alerts of the orphaned block 7", len(retracted), at7)
	}
	for _, r := range retracted {
		if r.Height != 7 || r.Reason != monitor.RetractedReason {
			t.Fatalf("retraction %+v", r)
		}
	}
	want, _ := liveAlerts(t, fresh)
	if !slices.Equal(live, want) {
		t.Fatalf("alerts after the reorg:\n%v\nfresh ingest of the new branch:\n%v", live, want)
	}
	for _, tab := range []store.MonitorTable{store.MonTaint, store.MonUndo} {
		if monitorTable(t, db, tab) != monitorTable(t, fresh, tab) {
			t.Fatalf("monitor table %c after the reorg differs from a fresh ingest", tab)
		}
	}
}
