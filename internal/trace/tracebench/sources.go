package tracebench

import (
	"context"
	"fmt"
	"math/rand/v2"

	"github.com/chaintrace/chaintrace/internal/btc"
	"github.com/chaintrace/chaintrace/internal/store"
)

// SourceSet is one trace's sources: addresses as the trace engine takes
// them, and the same addresses as store ids, which the SQL query takes.
type SourceSet struct {
	Addrs []string
	IDs   []int64
}

// SourceOptions say how source sets are drawn.
type SourceOptions struct {
	// Seed makes the draw reproducible; set i draws from its own stream.
	Seed uint64
	// Sets is the number of sets and PerSet the addresses in each.
	Sets, PerSet int
	// From and To bound the part of the chain the sources received value
	// in, as fractions of the transaction count (0.05 and 0.25: the
	// first quarter after the opening twentieth, so that value has room
	// for many hops after it).
	From, To float64
	// MinValue is the least value of the output that makes an address a
	// candidate, so that a source starts with more than dust.
	MinValue int64
}

// Sources draws opts.Sets sets of opts.PerSet distinct addresses each.
// Each address is the address of a random output (one address, at least
// MinValue) of a random transaction in the chosen part of the chain.
func Sources(ctx context.Context, db *store.DB, opts SourceOptions) ([]SourceSet, error) {
	n, err := TxCount(ctx, db)
	if err != nil {
		return nil, err
	}
	lo, hi := uint64(float64(n)*opts.From), uint64(float64(n)*opts.To)
	if hi <= lo {
		return nil, fmt.Errorf("tracebench: sources: empty range of transactions [%d, %d)", lo, hi)
	}
	sets := make([]SourceSet, opts.Sets)
	var t store.TxRec
	for i := range sets {
		rng := rand.New(rand.NewPCG(opts.Seed, uint64(i)))
		seen := map[uint64]bool{}
		s := &sets[i]
		for tries := 0; len(s.IDs) < opts.PerSet; tries++ {
			if tries > 100*opts.PerSet {
				return nil, fmt.Errorf("tracebench: sources: found only %d of %d addresses in transactions [%d, %d)", len(s.IDs), opts.PerSet, lo, hi)
			}
			txnum := lo + rng.Uint64N(hi-lo)
			if err := db.Tx(ctx, txnum, &t); err != nil {
				return nil, fmt.Errorf("tracebench: sources: %w", err)
			}
			o := &t.Outs[rng.IntN(len(t.Outs))]
			if len(o.AddrIDs) != 1 || o.Value < opts.MinValue || seen[o.AddrIDs[0]] {
				continue
			}
			id := o.AddrIDs[0]
			a, err := AddrString(ctx, db, id)
			if err != nil {
				return nil, err
			}
			seen[id] = true
			s.Addrs = append(s.Addrs, a)
			s.IDs = append(s.IDs, int64(id))
		}
	}
	return sets, nil
}

// AddrString returns the address of store id as the trace engine writes
// it.
func AddrString(ctx context.Context, db *store.DB, id uint64) (string, error) {
	kb, err := db.AddrKey(ctx, id)
	if err != nil {
		return "", fmt.Errorf("tracebench: address #%d: %w", id, err)
	}
	k, err := btc.AddrKeyFromBytes(kb)
	if err != nil {
		return "", fmt.Errorf("tracebench: address #%d: %w", id, err)
	}
	return k.Encode(Net), nil
}
