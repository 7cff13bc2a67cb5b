package migrate

import (
	"context"
	"errors"
	"os"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/chaintrace/chaintrace/internal/pg/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// testFS is a small schema of two migrations: a partitioned table and a
// reference table.
func testFS() fstest.MapFS {
	return fstest.MapFS{
		"0001_events.up.sql": {Data: []byte(`CREATE TABLE events (addr_id bigint NOT NULL, n bigint NOT NULL, PRIMARY KEY (addr_id, n)) {{partitionBy "addr_id"}};
{{distribute "events" "addr_id" "events"}}`)},
		"0001_events.down.sql": {Data: []byte(`DROP TABLE events;`)},
		"0002_kinds.up.sql":    {Data: []byte(`CREATE TABLE kinds (id int PRIMARY KEY, name text NOT NULL); {{reference "kinds"}}`)},
		"0002_kinds.down.sql":  {Data: []byte(`DROP TABLE kinds;`)},
		"README":               {Data: []byte("not a migration")},
	}
}

func TestLoad(t *testing.T) {
	migs, err := Load(testFS())
	if err != nil {
		t.Fatal(err)
	}
	if len(migs) != 2 || migs[0].Version != 1 || migs[1].Name != "kinds" {
		t.Fatalf("loaded %+v", migs)
	}
	bad := testFS()
	delete(bad, "0002_kinds.down.sql")
	if _, err := Load(bad); err == nil {
		t.Fatal("a migration without a down file was loaded")
	}
}

func TestRender(t *testing.T) {
	up := testFS()["0001_events.up.sql"].Data
	native, err := Render("x", string(up), Variant{Partitions: 4})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(native, "PARTITION BY HASH (addr_id)") || !strings.Contains(native, "MODULUS 4, REMAINDER 3") {
		t.Fatalf("native rendering:\n%s", native)
	}
	citus, err := Render("x", string(up), Variant{Citus: true})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(citus, "PARTITION") || !strings.Contains(citus, "create_distributed_table('events', 'addr_id', colocate_with => 'none')") {
		t.Fatalf("citus rendering:\n%s", citus)
	}
	if _, err := Render("x", `{{reference "x; DROP TABLE y"}}`, Variant{Citus: true}); err == nil {
		t.Fatal("a non-identifier was rendered")
	}
}

func TestUpDownStatus(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.New(t)
	r, err := New(testFS(), Options{Partitions: 4})
	if err != nil {
		t.Fatal(err)
	}
	st, err := r.Status(ctx, pool)
	if err != nil || len(st) != 2 || st[0].Applied {
		t.Fatalf("status of an empty database: %+v, %v", st, err)
	}
	if did, err := r.Up(ctx, pool, 1); err != nil || len(did) != 1 {
		t.Fatalf("up to 1: %v, %v", did, err)
	}
	if did, err := r.Up(ctx, pool, 0); err != nil || len(did) != 1 || did[0] != 2 {
		t.Fatalf("up to latest: %v, %v", did, err)
	}
	var parts int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM pg_inherits WHERE inhparent = 'events'::regclass`).Scan(&parts); err != nil || parts != 4 {
		t.Fatalf("events has %d partitions, %v; want 4", parts, err)
	}
	st, _ = r.Status(ctx, pool)
	if !st[1].Applied || st[1].Variant != "native:4" {
		t.Fatalf("status after up: %+v", st)
	}
	if did, err := r.Down(ctx, pool, 5); err != nil || len(did) != 2 || did[0] != 2 {
		t.Fatalf("down: %v, %v", did, err)
	}
	var n int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM pg_tables WHERE tablename IN ('events', 'kinds')`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("%d tables left after down, %v", n, err)
	}
}

// TestChangedRefused edits an applied migration's up file: Up, Down and
// Status's Changed flag all notice, and nothing runs.
func TestChangedRefused(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.New(t)
	r, _ := New(testFS(), Options{})
	if _, err := r.Up(ctx, pool, 1); err != nil {
		t.Fatal(err)
	}
	changed := testFS()
	changed["0001_events.up.sql"] = &fstest.MapFile{Data: []byte("CREATE TABLE events (addr_id bigint PRIMARY KEY);")}
	r2, _ := New(changed, Options{})
	if _, err := r2.Up(ctx, pool, 0); !errors.Is(err, ErrChanged) {
		t.Fatalf("up with a changed file: %v, want ErrChanged", err)
	}
	if _, err := r2.Down(ctx, pool, 1); !errors.Is(err, ErrChanged) {
		t.Fatalf("down with a changed file: %v, want ErrChanged", err)
	}
	st, err := r2.Status(ctx, pool)
	if err != nil || !st[0].Changed {
		t.Fatalf("status: %+v, %v", st, err)
	}
	var n int
	pool.QueryRow(ctx, `SELECT count(*) FROM pg_tables WHERE tablename = 'kinds'`).Scan(&n)
	if n != 0 {
		t.Fatal("a refused run applied migration 2")
	}
	// A binary that knows fewer migrations than the database refuses too.
	if _, err := r.Up(ctx, pool, 0); err != nil {
		t.Fatal(err)
	}
	older := testFS()
	delete(older, "0002_kinds.up.sql")
	delete(older, "0002_kinds.down.sql")
	r3, _ := New(older, Options{})
	if _, err := r3.Up(ctx, pool, 0); !errors.Is(err, ErrUnknown) {
		t.Fatalf("older binary: %v, want ErrUnknown", err)
	}
}

// TestConcurrentUp runs two Ups at once on separate connections: both
// succeed, and between them each migration is applied exactly once.
func TestConcurrentUp(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dsn := pgtest.NewDSN(t)
	r, _ := New(testFS(), Options{})
	var wg sync.WaitGroup
	did := make([][]int64, 2)
	errs := make([]error, 2)
	for i := range 2 {
		pool := pgtest.NewPool(t, dsn)
		wg.Add(1)
		go func() {
			defer wg.Done()
			did[i], errs[i] = r.Up(ctx, pool, 0)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if len(did[0])+len(did[1]) != 2 || (len(did[0]) != 0 && len(did[1]) != 0) {
		t.Fatalf("applied %v and %v; want one run to apply both and the other none", did[0], did[1])
	}
}
