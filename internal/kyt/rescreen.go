package kyt

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/chaintrace/chaintrace/internal/monitor"
	"github.com/chaintrace/chaintrace/internal/screen"
	"github.com/chaintrace/chaintrace/internal/store"
)

// rescreenBatch is how many transfers one committed batch of a Rescreen
// carries: a crash loses at most the uncommitted ones, which the next
// Rescreen redoes without repeating an alert.
const rescreenBatch = 256

// Stats count what a Rescreen did.
type Stats struct {
	// Transfers were read; Resolved were pending and are now screened;
	// Changed changed rating; Alerts were raised; Vanished were screened
	// but their transaction has left the chain store (a reorg) and are
	// pending again; Invalid were pending and their transaction appeared
	// without the output or log they name.
	Transfers, Resolved, Changed, Alerts, Vanished, Invalid int
}

// Rescreen screens every registered transfer again with the current
// labels and graphs, resolves the pending ones whose transaction has
// appeared, and records the results. A transfer whose rating changed
// raises a monitor.KindRatingChange alert, committed with its new rating
// (so an alert is raised once per change) and journalled under chain
// AlertChain; a pending transfer that turns out rated above LOW raises
// one too. A screened transfer whose transaction left the store (a
// reorg) is pending again, without an alert. A transfer that fails to
// screen, or whose store cannot be read, is kept as it was.
func (r *Registry) Rescreen(ctx context.Context) (Stats, error) {
	return r.rescreen(ctx, false)
}

// ResolvePending is Rescreen of the pending transfers alone: what is due
// when only the chain stores have grown.
func (r *Registry) ResolvePending(ctx context.Context) (Stats, error) {
	return r.rescreen(ctx, true)
}

func (r *Registry) rescreen(ctx context.Context, onlyPending bool) (Stats, error) {
	if r.opts.ReadOnly {
		return Stats{}, errors.New("kyt: the registry is open read-only")
	}
	r.rescreenMu.Lock()
	defer r.rescreenMu.Unlock()
	scan := r.scan
	if onlyPending {
		scan = r.scanPending
	}
	var st Stats
	from := uint64(1)
	for {
		type item struct {
			seq uint64
			t   Transfer
		}
		var items []item
		last := uint64(0)
		err := scan(ctx, from, func(seq uint64, t *Transfer) bool {
			last = seq
			items = append(items, item{seq, *t})
			return len(items) < rescreenBatch
		})
		if err != nil {
			return st, err
		}
		if last == 0 {
			break
		}
		from = last + 1
		type update struct {
			seq    uint64
			t      Transfer
			reason string // set when an alert is due
			old    string
			base   Transfer // as read
		}
		var ups []update
		for _, it := range items {
			st.Transfers++
			old := it.t
			t := it.t
			if old.Status == StatusInvalid {
				continue
			}
			outcome, err := r.resolveAndScreen(ctx, &t)
			if errors.Is(err, ErrNoSuchTransfer) && old.Status == StatusPending {
				// Registered before its transaction was known, with an
				// index the transaction turned out not to have.
				st.Invalid++
				t.Status, t.Reasons = StatusInvalid, []string{strings.TrimPrefix(err.Error(), "kyt: ")}
				ups = append(ups, update{seq: it.seq, t: t, base: old})
				continue
			}
			if err != nil {
				if ctx.Err() != nil {
					return st, ctx.Err()
				}
				r.log.Warn("kyt: re-screening failed", "id", t.ID, "err", err)
				continue
			}
			switch {
			case outcome == offline || outcome == absent && old.Status == StatusPending:
				continue
			case outcome == absent:
				// The block that held it was orphaned: the transfer
				// waits as pending for the transaction to come back.
				st.Vanished++
				t.Status, t.Rating, t.Screened = StatusPending, "", nil
				t.Reasons = []string{"the transaction left the chain store (its block was orphaned); pending until it is back"}
				r.log.Warn("kyt: a screened transfer's transaction left the chain store", "id", t.ID, "tx", t.Tx)
				ups = append(ups, update{seq: it.seq, t: t, base: old})
				continue
			}
			u := update{seq: it.seq, t: t, old: old.Rating, base: old}
			switch {
			case old.Status == StatusPending:
				st.Resolved++
				if t.Rating != screen.Low.String() {
					u.old = StatusPending
					u.reason = "the pending transfer's transaction appeared and was screened: " + strings.Join(t.Reasons, "; ")
				}
			case old.Rating != t.Rating:
				st.Changed++
				u.reason = changes(&old, &t)
			}
			ups = append(ups, u)
		}
		if err := r.commitUpdates(ctx, len(ups), func(b store.Batch, i int, nextAlert uint64) (bool, error) {
			u := &ups[i]
			// A registration may have resolved a pending transfer
			// since it was read: its record is newer than this one.
			cur, ok, err := r.db.MonitorGet(ctx, store.MonWatched, recordKey(u.seq))
			if err != nil {
				return false, wrap(err)
			}
			if ok {
				c, err := decodeRecord(u.seq, cur)
				if err != nil {
					return false, err
				}
				if c.Status != u.base.Status || c.Rating != u.base.Rating {
					return false, nil
				}
			}
			if err := putRecord(b, u.seq, &u.t); err != nil {
				return false, err
			}
			switch {
			case u.base.Status == StatusPending && u.t.Status != StatusPending:
				b.DeleteMonitor(store.MonWatched, pendingKey(u.seq))
			case u.base.Status != StatusPending && u.t.Status == StatusPending:
				b.PutMonitor(store.MonWatched, pendingKey(u.seq), nil)
			}
			if u.reason == "" {
				return false, nil
			}
			a := ratingAlert(nextAlert, &u.t, u.old, u.reason)
			v, err := json.Marshal(&a)
			if err != nil {
				return false, fmt.Errorf("kyt: %w", err)
			}
			b.PutMonitor(store.MonAlert, monitor.SeqKey(a.Seq), v)
			b.PutMonitor(store.MonOutbox, monitor.SeqKey(a.Seq), nil)
			r.log.Info("kyt: rating changed", "id", u.t.ID, "alert", a.ID, "old", a.OldRating, "new", a.NewRating, "reason", a.Reason)
			st.Alerts++
			return true, nil
		}); err != nil {
			return st, err
		}
	}
	if _, err := r.jw.Sync(ctx, r.db); err != nil {
		return st, fmt.Errorf("kyt: journalling alerts: %w", err)
	}
	return st, nil
}

// commitUpdates writes n updates in one synced batch under the write
// lock; put writes update i and says whether it used alert number
// nextAlert.
func (r *Registry) commitUpdates(ctx context.Context, n int, put func(b store.Batch, i int, nextAlert uint64) (bool, error)) error {
	if n == 0 {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	b := r.db.NewBatch()
	defer b.Close()
	next := r.nextAlert
	for i := range n {
		used, err := put(b, i, next)
		if err != nil {
			return err
		}
		if used {
			next++
		}
	}
	if next != r.nextAlert {
		b.SetMetaU64(metaNextAlert, next)
	}
	if err := b.Commit(context.WithoutCancel(ctx), true); err != nil {
		return fmt.Errorf("kyt: storing re-screened transfers: %w", err)
	}
	r.nextAlert = next
	return nil
}

// SyncJournal appends to the alert journal the registry's alerts it does
// not hold yet (after a crash between a commit and the append).
func (r *Registry) SyncJournal(ctx context.Context) error {
	if _, err := r.jw.Sync(ctx, r.db); err != nil {
		return fmt.Errorf("kyt: journalling alerts: %w", err)
	}
	return nil
}

// ratingAlert is the alert of t's change of rating from old.
func ratingAlert(seq uint64, t *Transfer, old, reason string) monitor.Alert {
	a := monitor.Alert{
		Seq: seq, Kind: monitor.KindRatingChange, Watch: AlertChain, Rule: monitor.KindRatingChange, Chain: AlertChain, Tx: t.Tx,
		Direction: monitor.DirIn, Asset: t.Asset, Token: t.Token, Value: t.Amount,
		Transfer: t.ID, UserID: t.UserID, OldRating: old, NewRating: t.Rating, Reason: reason,
	}
	if t.Screened != nil {
		a.Time = *t.Screened
	}
	if t.Asset == "BTC" {
		a.Amount, _ = strconv.ParseInt(t.Amount, 10, 64)
	}
	for i := range t.Senders {
		s := &t.Senders[i]
		cp := monitor.Counterparty{Address: s.Address}
		cp.Value, _ = strconv.ParseInt(s.Value, 10, 64)
		for _, id := range s.Screening.Identifications {
			cp.Labels = append(cp.Labels, monitor.Label{Label: id.Name, Category: id.Category, Actor: id.Actor.ID, Entity: id.Entity, Dataset: id.Dataset})
		}
		a.Counterparties = append(a.Counterparties, cp)
	}
	h := sha256.New()
	for _, p := range []string{AlertChain, strconv.FormatUint(seq, 10), t.ID, old, t.Rating} {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	a.ID = hex.EncodeToString(h.Sum(nil)[:12])
	return a
}

// changes says what changed between two screenings of a transfer: labels
// that appeared on or left a sender, or a sender's new rating.
func changes(old, cur *Transfer) string {
	prev := map[string]*Sender{}
	for i := range old.Senders {
		prev[old.Senders[i].Address] = &old.Senders[i]
	}
	var parts []string
	for i := range cur.Senders {
		s := &cur.Senders[i]
		p := prev[s.Address]
		var before []screen.Identification
		var beforeRisk screen.Risk
		if p != nil {
			before, beforeRisk = p.Screening.Identifications, p.Screening.Risk
		}
		for _, id := range s.Screening.Identifications {
			if !hasIdent(before, id) {
				parts = append(parts, "new label on sender "+s.Address+": "+identString(id))
			}
		}
		for _, id := range before {
			if !hasIdent(s.Screening.Identifications, id) {
				parts = append(parts, "label removed from sender "+s.Address+": "+identString(id))
			}
		}
		if rk := s.Screening.Risk; rk.Level != beforeRisk.Level && len(parts) == 0 {
			why := rk.Reason
			if rk.Rule != "" {
				why = "rule " + rk.Rule + ": " + why
			}
			parts = append(parts, "sender "+s.Address+" is now "+rk.Level.String()+" (was "+beforeRisk.Level.String()+"): "+why)
		}
	}
	if len(parts) == 0 {
		parts = append(parts, "the senders' screening changed")
	}
	return "rating " + old.Rating + " to " + cur.Rating + ": " + strings.Join(parts, "; ")
}

// hasIdent reports whether ids holds id, the same label of the same
// dataset.
func hasIdent(ids []screen.Identification, id screen.Identification) bool {
	return slices.ContainsFunc(ids, func(x screen.Identification) bool {
		return x.Dataset == id.Dataset && x.Name == id.Name && x.Category == id.Category && x.Abuse == id.Abuse
	})
}

// identString names a label in a reason: its name, abuse or category,
// and dataset.
func identString(id screen.Identification) string {
	s := id.Name
	if c := id.Abuse; c != "" {
		s += " (" + c + ")"
	} else if id.Category != "" {
		s += " (" + id.Category + ")"
	}
	return s + " from " + id.Dataset
}

// Stamp fingerprints what a rating rests on besides the chain stores and
// the labels: the incident registry (<data>/incidents) and saved traces
// (<data>/traces), as the names, sizes and modification times of their
// files. A different stamp means something may have changed and a
// Rescreen is due; missing directories stamp as empty. The label store is
// left out: opening it rewrites some of its files, so its files say
// nothing about its content; labels.Live.Refresh compares the content's
// version instead.
func Stamp(data string) (string, error) {
	h := sha256.New()
	for _, dir := range []string{"incidents", "traces"} {
		root := filepath.Join(data, dir)
		err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			if err != nil {
				return err
			}
			if d.IsDir() || strings.HasSuffix(d.Name(), ".lock") || d.Name() == "LOCK" {
				return nil
			}
			fi, err := d.Info()
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			if err != nil {
				return err
			}
			fmt.Fprintf(h, "%s\x00%d\x00%d\n", p, fi.Size(), fi.ModTime().UnixNano())
			return nil
		})
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return "", fmt.Errorf("kyt: stamping %s: %w", root, err)
		}
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// HasPending reports whether any registered transfer is pending.
func (r *Registry) HasPending(ctx context.Context) (bool, error) {
	found := false
	err := r.db.MonitorScan(ctx, store.MonWatched, []byte{subPending}, func(_, _ []byte) (bool, error) {
		found = true
		return false, nil
	})
	return found, wrap(err)
}

// scanPending visits the pending records from seq from on in order until
// fn returns false.
func (r *Registry) scanPending(ctx context.Context, from uint64, fn func(seq uint64, t *Transfer) bool) error {
	err := r.db.MonitorScan(ctx, store.MonWatched, []byte{subPending}, func(k, _ []byte) (bool, error) {
		if len(k) != 9 {
			return false, fmt.Errorf("kyt: corrupt pending key %x", k)
		}
		seq := binary.BigEndian.Uint64(k[1:])
		if seq < from {
			return true, nil
		}
		v, ok, err := r.db.MonitorGet(ctx, store.MonWatched, recordKey(seq))
		if err != nil {
			return false, err
		}
		if !ok {
			return false, fmt.Errorf("kyt: pending record %d is missing", seq)
		}
		t, err := decodeRecord(seq, v)
		if err != nil {
			return false, err
		}
		return fn(seq, &t), nil
	})
	return wrap(err)
}
