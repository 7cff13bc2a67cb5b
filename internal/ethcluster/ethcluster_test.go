package ethcluster_test

import (
	"context"
	"math/big"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/chaintrace/chaintrace/internal/eth/ethtest"
	"github.com/chaintrace/chaintrace/internal/eth/rpc"
	"github.com/chaintrace/chaintrace/internal/ethcluster"
	"github.com/chaintrace/chaintrace/internal/ingest"
	"github.com/chaintrace/chaintrace/internal/store"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/params"
)

func ether(milli int64) *big.Int {
	return new(big.Int).Mul(big.NewInt(milli), big.NewInt(params.Ether/1000))
}

func lower(a common.Address) string { return strings.ToLower(a.Hex()) }

// TestDepositHeuristicRealChain plays an exchange's deposit flow on a real
// go-ethereum chain, ingests it with the real ingester and checks the
// heuristic's findings: the two sweeping addresses are deposit addresses,
// the address that also paid someone else is not, one that swept too late
// is not, and the senders sharing deposit addresses form one entity.
func TestDepositHeuristicRealChain(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a go-ethereum node")
	}
	c := ethtest.Start(t)
	acc := c.Accounts
	ex, d1, d2, u3, u4, u5, n6, other := acc[0], acc[1], acc[2], acc[3], acc[4], acc[5], acc[6], acc[7]
	pay := func(from ethtest.Account, to common.Address, milli int64) {
		c.SendTx(t, ethtest.Tx{From: from, To: &to, Value: ether(milli)})
	}
	// Block 1: customers pay their deposit addresses; u5 also pays n6.
	pay(u3, d1.Address, 1000)
	pay(u4, d1.Address, 2000)
	pay(u5, d2.Address, 500)
	pay(u5, n6.Address, 3000)
	c.Commit(t)
	// Block 2: d1 sweeps all but 1 milli-ether (within the slack), d2
	// sweeps exactly; n6 forwards to the exchange but also pays another.
	pay(d1, ex.Address, 2999)
	pay(d2, ex.Address, 500)
	pay(n6, ex.Address, 3000)
	pay(n6, other.Address, 10)
	c.Commit(t)
	// Blocks 3-5: u3 also uses d2, swept two blocks later.
	pay(u3, d2.Address, 200)
	c.Commit(t)
	pay(other, n6.Address, 1)
	c.Commit(t)
	pay(d2, ex.Address, 200)
	// A contract, for Kind.
	fwd, deploy := c.Deploy(t, other, ethtest.ForwarderCode, nil, 0)
	c.Mine(t, deploy)
	fwdTx := c.SendTx(t, ethtest.Tx{From: other, To: &fwd, Value: ether(5), Data: ethtest.ForwardData(u4.Address)})
	c.Mine(t, fwdTx)

	ctx := context.Background()
	src, err := rpc.Dial(ctx, rpc.Config{URL: c.URL(), ChainID: c.ChainID.Uint64()})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	db, err := store.Open(ctx, t.TempDir(), store.ChainMeta{Chain: "eth", Network: "dev"}, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := ingest.NewEth(db, src, ingest.Options{}).Run(ctx); err != nil {
		t.Fatal(err)
	}

	res, err := ethcluster.FindDeposits(ctx, db, []ethcluster.Service{{Address: ex.Address.Hex(), Name: "Test Exchange"}}, ethcluster.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, d := range res.Deposits {
		got = append(got, d.Address)
	}
	want := []string{lower(d1.Address), lower(d2.Address)}
	if strings.Compare(want[0], want[1]) > 0 {
		want[0], want[1] = want[1], want[0]
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("deposit addresses %v, want %v (n6 %s pays others)", got, want, lower(n6.Address))
	}
	dep, ok := res.Deposit(d2.Address.Hex())
	if !ok || dep.Service != "Test Exchange" || len(dep.Sweeps) != 2 || dep.Sweeps[0].Forwarded.String() != ether(500).String() {
		t.Fatalf("d2 deposit: %+v", dep)
	}
	entity := res.Linked(u4.Address.Hex())
	wantEntity := []string{lower(u3.Address), lower(u4.Address), lower(u5.Address)}
	sort.Strings(wantEntity)
	if !reflect.DeepEqual(entity, wantEntity) {
		t.Fatalf("entity of u4: %v, want %v", entity, wantEntity)
	}
	if l := res.Linked(n6.Address.Hex()); l != nil {
		t.Fatalf("n6 linked to %v", l)
	}

	// A stricter delay turns d2's second sweep (two blocks after u3's
	// payment) into a failure, so d2 is no deposit address and u3 and u5
	// are no longer linked.
	strict, err := ethcluster.FindDeposits(ctx, db, []ethcluster.Service{{Address: ex.Address.Hex(), Name: "Test Exchange"}}, ethcluster.Options{MaxDelay: 1})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := strict.Deposit(d2.Address.Hex()); ok {
		t.Fatalf("d2 is a deposit address with MaxDelay 1: %+v", strict.Deposits)
	}
	if _, ok := strict.Deposit(d1.Address.Hex()); !ok {
		t.Fatalf("d1 is no deposit address with MaxDelay 1")
	}

	kinds := map[common.Address]ethcluster.AccountKind{u3.Address: ethcluster.EOA, fwd: ethcluster.Contract}
	for a, want := range kinds {
		id, err := db.AddrID(ctx, a.Bytes())
		if err != nil {
			t.Fatal(err)
		}
		k, why, err := ethcluster.Kind(ctx, db, id, 0)
		if err != nil || k != want {
			t.Errorf("kind of %s: %s (%s) %v, want %s", a.Hex(), k, why, err, want)
		}
	}
}
