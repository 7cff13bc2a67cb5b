package ethcluster

import (
	"context"
	"fmt"

	"github.com/chaintrace/chaintrace/internal/eth"
	"github.com/chaintrace/chaintrace/internal/store"
)

// AccountKind says whether an address is a contract or an externally owned
// account (EOA), as far as the store shows.
type AccountKind string

const (
	// EOA signed a transaction: only a key holder can.
	EOA AccountKind = "eoa"
	// Contract was created by a transaction or a create frame, moved value
	// from inside a call, or is a token contract.
	Contract AccountKind = "contract"
	// Unknown never did anything that tells: it only received. A contract
	// created without value and never called with value looks like this
	// too, as the store indexes value transfers, not creations.
	Unknown AccountKind = "unknown"
)

// Kind classifies address id from its history, reading at most maxEvents
// events (0: 100,000), and gives the evidence as a sentence. The first
// decisive event wins; both cannot be true of one address except through
// CREATE2 redeployment, which the store would show as a creation later
// than the signed transaction, so signed transactions are checked first.
func Kind(ctx context.Context, db Reader, id uint64, maxEvents int) (AccountKind, string, error) {
	if maxEvents <= 0 {
		maxEvents = 100_000
	}
	if m, ok, err := db.Token(ctx, id); err != nil {
		return "", "", fmt.Errorf("ethcluster: token of address #%d: %w", id, err)
	} else if ok && m.Standard != 0 {
		return Contract, "it is a token contract", nil
	}
	var tx store.EthTxRec
	var ierr error
	kind, why := Unknown, "it only received value"
	n := 0
	err := db.EthEvents(ctx, id, 0, func(e store.EthEvent) bool {
		if n++; n > maxEvents {
			why = fmt.Sprintf("no decisive event in its first %d", maxEvents)
			return false
		}
		tr, err := transferOf(ctx, db, &tx, e)
		if err != nil {
			ierr = err
			return false
		}
		hash := fmt.Sprintf("0x%x", tx.Hash)
		if tx.From == id {
			kind, why = EOA, "it signed transaction "+hash
			return false
		}
		if tx.Created == id {
			kind, why = Contract, "it was created by transaction "+hash
			return false
		}
		switch k := eth.Kind(tr.Kind); {
		case k == eth.Create && tr.To == id:
			kind, why = Contract, "it was created inside transaction "+hash
			return false
		case (k == eth.Internal || k == eth.SelfDestruct) && tr.From == id:
			kind, why = Contract, "it sent value from inside a call in transaction "+hash
			return false
		}
		return true
	})
	if err == nil {
		err = ierr
	}
	if err != nil {
		return "", "", fmt.Errorf("ethcluster: history of address #%d: %w", id, err)
	}
	return kind, why, nil
}
