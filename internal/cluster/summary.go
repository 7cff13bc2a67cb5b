package cluster

import (
	"context"
	"fmt"
	"time"

	"github.com/chaintrace/chaintrace/internal/btc"
	"github.com/chaintrace/chaintrace/internal/labels"
	"github.com/chaintrace/chaintrace/internal/store"
)

// Labeler looks up the labels of an address; *labels.Index implements it.
type Labeler interface {
	Lookup(chain, address string) []labels.Label
}

// MemberLabel is a label found on one member of a cluster.
type MemberLabel struct {
	Address string       `json:"address"`
	Label   labels.Label `json:"label"`
	// Cluster is set for labels that define their whole cluster
	// (IsClusterDefiner): they apply to every member, not only Address.
	Cluster bool `json:"applies_to_cluster"`
}

// Activity is the block of a cluster's first or last transaction.
type Activity struct {
	Height uint64    `json:"height"`
	Time   time.Time `json:"time"`
}

// Summary describes the cluster of an address.
type Summary struct {
	Chain     string `json:"chain"`
	Address   string `json:"address"` // the address asked about
	ClusterID uint64 `json:"cluster_id"`
	Size      int    `json:"size"`
	// Addresses are the members' encoded addresses in id order (first
	// seen first), at most the limit Summarize was given.
	Addresses []string  `json:"addresses"`
	Received  int64     `json:"total_received"`
	Sent      int64     `json:"total_sent"`
	Balance   int64     `json:"balance"`
	TxCount   int       `json:"tx_count"`
	First     *Activity `json:"first_seen,omitempty"`
	Last      *Activity `json:"last_seen,omitempty"`
	// Labels are the members' labels, those defining the cluster first.
	Labels []MemberLabel `json:"labels"`
}

// ChainID returns the label chain id of a Bitcoin store (btc.ChainID).
func ChainID(db store.Reader) string { return btc.ChainID(db.Meta().Network) }

// Summarize describes the cluster of address addrID: its members (up to
// limit encoded addresses, all when limit <= 0), the sums of their
// address-index events, the number of distinct transactions touching
// them, first and last activity, and their labels. lb may be nil. Totals
// include transfers between members (change), as an address's own totals
// do.
func Summarize(ctx context.Context, db store.Reader, lb Labeler, ix *Index, addrID uint64, limit int) (Summary, error) {
	net, err := btc.Network(db.Meta().Network)
	if err != nil {
		return Summary{}, fmt.Errorf("cluster: %w", err)
	}
	chain := ChainID(db)
	members := ix.Members(addrID)
	s := Summary{Chain: chain, ClusterID: ix.ClusterOf(addrID), Size: len(members)}
	txs := map[uint64]struct{}{}
	var first, last uint64
	var definers, others []MemberLabel
	for _, id := range members {
		kb, err := db.AddrKey(ctx, id)
		if err != nil {
			return Summary{}, fmt.Errorf("cluster: member #%d: %w", id, err)
		}
		k, err := btc.AddrKeyFromBytes(kb)
		if err != nil {
			return Summary{}, fmt.Errorf("cluster: member #%d: %w", id, err)
		}
		addr := k.Encode(net)
		if id == addrID {
			s.Address = addr
		}
		if limit <= 0 || len(s.Addresses) < limit {
			s.Addresses = append(s.Addresses, addr)
		}
		if lb != nil {
			for _, l := range lb.Lookup(chain, addr) {
				m := MemberLabel{Address: addr, Label: l, Cluster: l.IsClusterDefiner}
				if m.Cluster {
					definers = append(definers, m)
				} else {
					others = append(others, m)
				}
			}
		}
		err = db.Events(ctx, id, 0, func(e store.Event) bool {
			if e.Spent {
				s.Sent += e.Value
			} else {
				s.Received += e.Value
			}
			if len(txs) == 0 || e.TxNum < first {
				first = e.TxNum
			}
			last = max(last, e.TxNum)
			txs[e.TxNum] = struct{}{}
			return true
		})
		if err != nil {
			return Summary{}, fmt.Errorf("cluster: %w", err)
		}
	}
	s.Balance = s.Received - s.Sent
	s.TxCount = len(txs)
	s.Labels = append(definers, others...)
	if len(txs) > 0 {
		if s.First, err = activity(ctx, db, first); err != nil {
			return Summary{}, err
		}
		if s.Last, err = activity(ctx, db, last); err != nil {
			return Summary{}, err
		}
	}
	return s, nil
}

// activity returns the block of transaction txnum.
func activity(ctx context.Context, db store.Reader, txnum uint64) (*Activity, error) {
	var t store.TxRec
	if err := db.Tx(ctx, txnum, &t); err != nil {
		return nil, fmt.Errorf("cluster: %w", err)
	}
	b, err := db.BlockByHeight(ctx, t.Height)
	if err != nil {
		return nil, fmt.Errorf("cluster: %w", err)
	}
	return &Activity{Height: b.Height, Time: time.Unix(int64(b.Time), 0).UTC()}, nil
}
