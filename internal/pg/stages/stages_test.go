package stages

import (
	"context"
	"errors"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chaintrace/chaintrace/internal/pg/pgtest"
	"github.com/jackc/pgx/v5/pgxpool"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// ingester opens a pool named like an ingester process would name its
// connections.
func ingester(t *testing.T, dsn, name string) *pgxpool.Pool {
	t.Helper()
	return pgtest.NewPool(t, dsn+"&application_name="+name)
}

// TestRace has two ingesters with separate pools race for one stage: one
// wins, the other gets a HeldError naming the winner's session; after the
// winner releases, the loser can take it.
func TestRace(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dsn := pgtest.NewDSN(t)
	names := []string{"ingest-a", "ingest-b"}
	pools := []*pgxpool.Pool{ingester(t, dsn, names[0]), ingester(t, dsn, names[1])}
	leases := make([]*Lease, 2)
	errs := make([]error, 2)
	var wg sync.WaitGroup
	for i := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			leases[i], errs[i] = Acquire(ctx, pools[i], "btc", "blocks", Options{})
		}()
	}
	wg.Wait()
	win, lose := 0, 1
	if leases[0] == nil {
		win, lose = 1, 0
	}
	if leases[win] == nil || leases[lose] != nil {
		t.Fatalf("want one winner: leases %v, errors %v", leases, errs)
	}
	var held *HeldError
	if !errors.As(errs[lose], &held) || !errors.Is(errs[lose], ErrHeld) {
		t.Fatalf("loser's error %v, want a HeldError", errs[lose])
	}
	var winnerPID int32
	if err := leases[win].conn.QueryRow(ctx, "SELECT pg_backend_pid()").Scan(&winnerPID); err != nil {
		t.Fatal(err)
	}
	if held.Holder == nil || held.Holder.ApplicationName != names[win] || held.Holder.PID != winnerPID {
		t.Fatalf("holder %+v, want %s pid %d", held.Holder, names[win], winnerPID)
	}
	if !strings.Contains(held.Error(), names[win]) {
		t.Errorf("error %q does not name the holder", held.Error())
	}
	t.Log(held)

	// Another stage of the same chain, and the same stage of another
	// chain, are free.
	for _, k := range [][2]string{{"btc", "txs"}, {"ltc", "blocks"}} {
		l, err := Acquire(ctx, pools[lose], k[0], k[1], Options{})
		if err != nil {
			t.Fatalf("%s/%s: %v", k[0], k[1], err)
		}
		l.Release(ctx)
	}

	if err := leases[win].Check(ctx); err != nil {
		t.Fatal(err)
	}
	if err := leases[win].Release(ctx); err != nil {
		t.Fatal(err)
	}
	if err := leases[win].Check(ctx); !errors.Is(err, ErrLost) {
		t.Fatalf("check after release: %v, want ErrLost", err)
	}
	l, err := Acquire(ctx, pools[lose], "btc", "blocks", Options{})
	if err != nil {
		t.Fatalf("after the winner released: %v", err)
	}
	l.Release(ctx)
}

// TestWait has the second ingester wait: it gets the stage when the first
// releases within the wait, and a HeldError when it does not.
func TestWait(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dsn := pgtest.NewDSN(t)
	a, b := ingester(t, dsn, "ingest-a"), ingester(t, dsn, "ingest-b")
	first, err := Acquire(ctx, a, "btc", "addrindex", Options{})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if _, err := Acquire(ctx, b, "btc", "addrindex", Options{Wait: 300 * time.Millisecond, Poll: 50 * time.Millisecond}); !errors.Is(err, ErrHeld) {
		t.Fatalf("wait past the timeout: %v, want ErrHeld", err)
	} else if d := time.Since(start); d < 300*time.Millisecond {
		t.Fatalf("gave up after %s, before the 300ms wait", d)
	}
	go func() {
		time.Sleep(200 * time.Millisecond)
		first.Release(context.Background())
	}()
	second, err := Acquire(ctx, b, "btc", "addrindex", Options{Wait: 10 * time.Second, Poll: 20 * time.Millisecond})
	if err != nil {
		t.Fatalf("waiting for a release: %v", err)
	}
	second.Release(ctx)

	// A cancelled context ends the wait.
	held, _ := Acquire(ctx, a, "btc", "addrindex", Options{})
	defer held.Release(ctx)
	cctx, ccancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer ccancel()
	if _, err := Acquire(cctx, b, "btc", "addrindex", Options{Wait: time.Minute}); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("cancelled wait: %v", err)
	}
}

// TestRestart restarts the server under a held lease: the lease reports
// itself lost, the pool reconnects, and the stage can be taken again.
func TestRestart(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	srv := pgtest.StartT(t)
	pool := ingester(t, pgtest.NewDSNOn(t, srv), "ingest-a")
	lease, err := Acquire(ctx, pool, "btc", "blocks", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	if err := lease.Check(ctx); !errors.Is(err, ErrLost) {
		t.Fatalf("check after restart: %v, want ErrLost", err)
	}
	if err := lease.Release(ctx); !errors.Is(err, ErrLost) {
		t.Fatalf("release after restart: %v, want ErrLost", err)
	}
	again, err := Acquire(ctx, pool, "btc", "blocks", Options{})
	if err != nil {
		t.Fatalf("acquire after restart: %v", err)
	}
	if err := again.Check(ctx); err != nil {
		t.Fatal(err)
	}
	again.Release(ctx)
}
