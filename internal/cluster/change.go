package cluster

import (
	"context"
	"fmt"

	"github.com/chaintrace/chaintrace/internal/btc"
	"github.com/chaintrace/chaintrace/internal/model"
	"github.com/chaintrace/chaintrace/internal/store"
)

// Annotator answers the two per-transaction questions tracing asks: is
// this a CoinJoin, and which output is the sender's change. It reads the
// store for the change heuristics and is safe for concurrent use when its
// store is.
type Annotator struct {
	db store.Reader
}

// NewAnnotator returns an annotator over db.
func NewAnnotator(db store.Reader) *Annotator { return &Annotator{db: db} }

// CoinJoin returns the name of the CoinJoin kind t looks like (see
// KindName), or "" when it looks like none.
func (a *Annotator) CoinJoin(t *store.TxRec) string {
	if k := DetectCoinJoin(t); k != store.LinkMultiInput {
		return KindName(k)
	}
	return ""
}

// Change returns the output of t most likely to be the sender's change
// and a confidence in (0, 1], or false when no output stands out (or the
// store could not be read: Guess reports the error).
func (a *Annotator) Change(ctx context.Context, t *store.TxRec) (vout int, confidence float64, ok bool) {
	g, ok, err := a.Guess(ctx, t)
	if err != nil || !ok {
		return 0, 0, false
	}
	return g.Vout, g.Confidence, true
}

// ChangeGuess is the change output of a transaction and why.
type ChangeGuess struct {
	Vout       int
	Confidence float64
	Reasons    []string
}

// Heuristic weights: how much each signal adds to the confidence of the
// output it points at. They are deliberately below one half each, so that
// a single weak signal never reads as certain, and they add up when
// signals agree.
const (
	wSameAsInput  = 0.6  // output pays back to an input's address
	wScriptType   = 0.35 // only output of the inputs' address type
	wFresh        = 0.3  // only output to a never-seen address
	wOptimal      = 0.3  // only output smaller than every input
	wRoundPayment = 0.25 // the other outputs are round amounts
	wFingerprint  = 0.2  // only output spent in the same wallet style
	maxChangeOuts = 4
	roundUnit     = 100_000 // 0.001 BTC: payments are often multiples of it
)

// Guess combines the change heuristics over t's spendable outputs. It
// only guesses for non-coinbase, non-CoinJoin transactions with two to
// four spendable outputs and every input's value and address known.
// Each heuristic that singles out exactly one output adds its weight to
// that output:
//
//   - same address: the output pays an address that is also an input's
//     (address reuse for change, common in old and simple wallets);
//   - address type: the output is the only one of the address type all
//     the inputs share (wallets make change of their own type, payees
//     have theirs);
//   - fresh address: the output is the only one whose address first
//     appears in this very transaction (wallets make a new change address
//     each time; payees often reuse deposit addresses);
//   - optimal change: the output is the only one smaller than every input
//     (had a payment been smaller than an input, the wallet would not have
//     needed that input);
//   - round payment: the other outputs are round (a multiple of 0.001
//     BTC) and this one is not;
//   - wallet fingerprint: the output is the only one already spent, and
//     spent by a transaction with the same nVersion and the same nLockTime
//     style (zero, a block height, a time) as this one: wallets differ in
//     both, and the sender's wallet is what spends its change. A payee's
//     wallet of the same make would look alike, so the weight is low.
//
// The guess is the output with most weight, its confidence that weight
// minus the best other output's, capped at 0.95; no guess when no output
// leads.
func (a *Annotator) Guess(ctx context.Context, t *store.TxRec) (ChangeGuess, bool, error) {
	if t.Coinbase || len(t.Ins) == 0 || DetectCoinJoin(t) != store.LinkMultiInput {
		return ChangeGuess{}, false, nil
	}
	var outs []int
	for i := range t.Outs {
		if o := &t.Outs[i]; o.Class != model.ScriptNullData && len(o.AddrIDs) > 0 {
			outs = append(outs, i)
		}
	}
	if len(outs) < 2 || len(outs) > maxChangeOuts {
		return ChangeGuess{}, false, nil
	}
	minIn := int64(-1)
	inAddr := map[uint64]bool{}
	for _, in := range t.Ins {
		if in.External || in.AddrID == 0 {
			return ChangeGuess{}, false, nil
		}
		inAddr[in.AddrID] = true
		if minIn < 0 || in.Value < minIn {
			minIn = in.Value
		}
	}
	score := make([]float64, len(outs))
	reasons := make([][]string, len(outs))
	vote := func(pick func(vout int, o *store.OutRec) (bool, error), w float64, why string) error {
		only := -1
		for k, i := range outs {
			hit, err := pick(i, &t.Outs[i])
			if err != nil {
				return err
			}
			if hit {
				if only >= 0 {
					return nil
				}
				only = k
			}
		}
		if only >= 0 {
			score[only] += w
			reasons[only] = append(reasons[only], why)
		}
		return nil
	}
	err := vote(func(_ int, o *store.OutRec) (bool, error) { return inAddr[o.AddrIDs[0]], nil }, wSameAsInput, "pays an input's address")
	if err != nil {
		return ChangeGuess{}, false, err
	}
	inKind, err := a.commonKind(ctx, t)
	if err != nil {
		return ChangeGuess{}, false, err
	}
	if inKind != btc.AddrInvalid {
		err = vote(func(_ int, o *store.OutRec) (bool, error) {
			k, err := a.kind(ctx, o.AddrIDs[0])
			return k == inKind, err
		}, wScriptType, "only output of the inputs' address type")
		if err != nil {
			return ChangeGuess{}, false, err
		}
	}
	err = vote(func(_ int, o *store.OutRec) (bool, error) {
		first, err := a.firstTx(ctx, o.AddrIDs[0])
		return first == t.TxNum, err
	}, wFresh, "only output to an address first seen here")
	if err != nil {
		return ChangeGuess{}, false, err
	}
	err = vote(func(vout int, _ *store.OutRec) (bool, error) {
		return a.sameFingerprint(ctx, t, vout)
	}, wFingerprint, "spent later by a transaction with this one's nVersion and nLockTime style")
	if err != nil {
		return ChangeGuess{}, false, err
	}
	_ = vote(func(_ int, o *store.OutRec) (bool, error) { return o.Value < minIn, nil }, wOptimal, "only output smaller than every input")
	round := 0
	for _, i := range outs {
		if t.Outs[i].Value%roundUnit == 0 {
			round++
		}
	}
	if round == len(outs)-1 {
		_ = vote(func(_ int, o *store.OutRec) (bool, error) { return o.Value%roundUnit != 0, nil }, wRoundPayment, "the other outputs are round amounts")
	}
	best, second := -1, 0.0
	for k := range outs {
		switch {
		case best < 0 || score[k] > score[best]:
			if best >= 0 {
				second = max(second, score[best])
			}
			best = k
		default:
			second = max(second, score[k])
		}
	}
	conf := min(score[best]-second, 0.95)
	if conf <= 0 {
		return ChangeGuess{}, false, nil
	}
	return ChangeGuess{Vout: outs[best], Confidence: conf, Reasons: reasons[best]}, true, nil
}

// kind returns the address type of address id.
func (a *Annotator) kind(ctx context.Context, id uint64) (btc.AddrKind, error) {
	b, err := a.db.AddrKey(ctx, id)
	if err != nil {
		return btc.AddrInvalid, fmt.Errorf("cluster: %w", err)
	}
	k, err := btc.AddrKeyFromBytes(b)
	if err != nil {
		return btc.AddrInvalid, fmt.Errorf("cluster: address #%d: %w", id, err)
	}
	return k.Kind(), nil
}

// commonKind returns the address type all of t's inputs share, or
// AddrInvalid when they differ.
func (a *Annotator) commonKind(ctx context.Context, t *store.TxRec) (btc.AddrKind, error) {
	common := btc.AddrInvalid
	for i, in := range t.Ins {
		k, err := a.kind(ctx, in.AddrID)
		if err != nil {
			return btc.AddrInvalid, err
		}
		if i > 0 && k != common {
			return btc.AddrInvalid, nil
		}
		common = k
	}
	return common, nil
}

// firstTx returns the ordinal of the first transaction touching address
// id, from the address index.
func (a *Annotator) firstTx(ctx context.Context, id uint64) (uint64, error) {
	first, seen := uint64(0), false
	err := a.db.Events(ctx, id, 0, func(e store.Event) bool {
		first, seen = e.TxNum, true
		return false
	})
	if err != nil {
		return 0, fmt.Errorf("cluster: %w", err)
	}
	if !seen {
		return 0, fmt.Errorf("cluster: address #%d has no events", id)
	}
	return first, nil
}

// lockStyle classifies an nLockTime: 0 unused, 1 a block height (wallets
// that set it against fee sniping), 2 a time.
func lockStyle(lt uint32) int {
	switch {
	case lt == 0:
		return 0
	case lt < 500_000_000:
		return 1
	}
	return 2
}

// sameFingerprint reports whether output vout of t is spent by a
// transaction with t's nVersion and nLockTime style.
func (a *Annotator) sameFingerprint(ctx context.Context, t *store.TxRec, vout int) (bool, error) {
	sp, ok, err := a.db.Spender(ctx, t.TxNum, uint32(vout))
	if err != nil || !ok {
		return false, err
	}
	var next store.TxRec
	if err := a.db.Tx(ctx, sp.TxNum, &next); err != nil {
		return false, fmt.Errorf("cluster: %w", err)
	}
	return next.Version == t.Version && lockStyle(next.LockTime) == lockStyle(t.LockTime), nil
}
