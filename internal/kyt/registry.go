package kyt

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/chaintrace/chaintrace/internal/monitor"
	"github.com/chaintrace/chaintrace/internal/screen"
	"github.com/chaintrace/chaintrace/internal/store"
	"golang.org/x/sync/errgroup"
)

// Store counters.
const (
	metaNextTransfer = "kyt_next_transfer"
	metaNextAlert    = "monitor_next_alert"
)

// Sub-tables of the W table (see the package comment).
const (
	subRecord  = 'r'
	subID      = 'i'
	subPending = 'p'
	subUser    = 'u'
)

// screenWorkers is how many senders of one transfer are screened at
// once.
const screenWorkers = 4

// List page sizes.
const (
	DefaultLimit = 100
	MaxLimit     = 1000
)

// Options configure a Registry.
type Options struct {
	// Data is the data directory: the registry lives in Dir(Data), its
	// alerts are journalled to monitor.JournalPath(Data).
	Data string
	// Screener screens the senders; it must be set unless ReadOnly.
	Screener *screen.Screener
	// Chains are the stores transfers are resolved in.
	Chains Chains
	// Screen tunes each sender's screening (hops, transaction budget).
	Screen screen.Options
	// ReadOnly opens the registry for reading only (list and get while a
	// server holds it): registering and re-screening fail.
	ReadOnly bool
	// Now is the clock (time.Now when nil), Logger the log (discarded
	// when nil).
	Now    func() time.Time
	Logger *slog.Logger
}

// Registry is the set of registered transfers. Its methods are safe for
// concurrent use; writes are serialised.
type Registry struct {
	db   *store.DB
	opts Options
	log  *slog.Logger
	jw   *monitor.JournalWriter

	chainsMu sync.RWMutex
	chains   Chains

	// rescreenMu serialises Rescreens, so that two never raise the same
	// change twice.
	rescreenMu sync.Mutex
	// mu serialises writes and guards the counters.
	mu        sync.Mutex
	nextSeq   uint64
	nextAlert uint64
}

// Open opens (creating it if absent) the registry under opts.Data.
func Open(ctx context.Context, opts Options) (*Registry, error) {
	if opts.Data == "" {
		return nil, errors.New("kyt: no data directory")
	}
	if opts.Screener == nil && !opts.ReadOnly {
		return nil, errors.New("kyt: no screener")
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	db, err := store.Open(ctx, Dir(opts.Data), store.ChainMeta{Chain: "kyt", Network: "registry"},
		store.Options{ReadOnly: opts.ReadOnly, CacheBytes: 16 << 20, Logger: log})
	if err != nil {
		return nil, fmt.Errorf("kyt: %w", err)
	}
	r := &Registry{db: db, opts: opts, log: log, chains: opts.Chains, jw: monitor.NewJournalWriter(opts.Data, AlertChain)}
	for name, dst := range map[string]*uint64{metaNextTransfer: &r.nextSeq, metaNextAlert: &r.nextAlert} {
		n, ok, err := db.MetaU64(ctx, name)
		if err != nil {
			_ = db.Close()
			return nil, fmt.Errorf("kyt: %w", err)
		}
		*dst = 1
		if ok {
			*dst = n
		}
	}
	return r, nil
}

// Close closes the registry's store.
func (r *Registry) Close() error {
	if err := r.db.Close(); err != nil {
		return fmt.Errorf("kyt: %w", err)
	}
	return nil
}

// DB is the registry's store, whose monitor tables an alert.Deliverer
// delivers from.
func (r *Registry) DB() *store.DB { return r.db }

// SetChains replaces the chain stores (reopened read-only stores that
// see a follower's newer blocks). Resolutions under way finish with the
// old ones; the caller closes those once SetChains returns.
func (r *Registry) SetChains(c Chains) {
	r.chainsMu.Lock()
	r.chains = c
	r.chainsMu.Unlock()
}

// Register registers a received transfer and answers with its screening,
// or with Status pending when its transaction is not in the chain store
// yet. Registering the same transfer again returns the same transfer (a
// pending one is resolved again); for another user it is an error
// wrapping ErrConflict. Errors wrap ErrInvalid for a malformed request
// and ErrNoSuchTransfer when the transaction lacks the output or log.
func (r *Registry) Register(ctx context.Context, req Request) (Transfer, error) {
	if r.opts.ReadOnly {
		return Transfer{}, errors.New("kyt: the registry is open read-only")
	}
	t, err := r.newTransfer(req)
	if err != nil {
		return Transfer{}, err
	}
	if old, seq, ok, err := r.lookup(ctx, t.ID); err != nil {
		return Transfer{}, err
	} else if ok {
		if old.UserID != t.UserID {
			return Transfer{}, fmt.Errorf("%w: transfer %s is registered for user %q", ErrConflict, old.ID, old.UserID)
		}
		switch old.Status {
		case StatusPending:
			return r.retryPending(ctx, old, seq)
		case StatusInvalid:
			return Transfer{}, fmt.Errorf("%w: transfer %s: %s", ErrNoSuchTransfer, old.ID, strings.Join(old.Reasons, "; "))
		}
		return old, nil
	}
	if _, err := r.resolveAndScreen(ctx, &t); err != nil {
		return Transfer{}, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	// Another request may have registered it meanwhile.
	if old, _, ok, err := r.lookup(ctx, t.ID); err != nil {
		return Transfer{}, err
	} else if ok {
		if old.UserID != t.UserID {
			return Transfer{}, fmt.Errorf("%w: transfer %s is registered for user %q", ErrConflict, old.ID, old.UserID)
		}
		return old, nil
	}
	b := r.db.NewBatch()
	defer b.Close()
	seq := r.nextSeq
	if err := putRecord(b, seq, &t); err != nil {
		return Transfer{}, err
	}
	b.PutMonitor(store.MonWatched, append([]byte{subID}, t.ID...), store8(seq))
	b.PutMonitor(store.MonWatched, binary.BigEndian.AppendUint64(userPrefix(t.UserID), seq), nil)
	if t.Status == StatusPending {
		b.PutMonitor(store.MonWatched, pendingKey(seq), nil)
	}
	b.SetMetaU64(metaNextTransfer, seq+1)
	if err := b.Commit(ctx, true); err != nil {
		return Transfer{}, fmt.Errorf("kyt: registering %s: %w", t.ID, err)
	}
	r.nextSeq++
	r.log.Info("kyt: transfer registered", "id", t.ID, "chain", t.Chain, "tx", t.Tx, "status", t.Status, "rating", t.Rating)
	return t, nil
}

// retryPending resolves a pending transfer again and stores it if its
// transaction has appeared.
func (r *Registry) retryPending(ctx context.Context, t Transfer, seq uint64) (Transfer, error) {
	if _, err := r.resolveAndScreen(ctx, &t); err != nil {
		return Transfer{}, err
	}
	if t.Status == StatusPending {
		return t, nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	b := r.db.NewBatch()
	defer b.Close()
	if err := putRecord(b, seq, &t); err != nil {
		return Transfer{}, err
	}
	b.DeleteMonitor(store.MonWatched, pendingKey(seq))
	if err := b.Commit(ctx, true); err != nil {
		return Transfer{}, fmt.Errorf("kyt: storing %s: %w", t.ID, err)
	}
	return t, nil
}

// newTransfer validates req and returns the transfer it names, pending.
func (r *Registry) newTransfer(req Request) (Transfer, error) {
	r.chainsMu.RLock()
	chain, isBTC, err := r.chains.chainOf(req.Chain)
	r.chainsMu.RUnlock()
	if err != nil {
		return Transfer{}, err
	}
	user := strings.TrimSpace(req.UserID)
	switch {
	case user == "":
		return Transfer{}, fmt.Errorf("%w: user_id is empty", ErrInvalid)
	case len(user) > 256:
		return Transfer{}, fmt.Errorf("%w: user_id is longer than 256 bytes", ErrInvalid)
	case req.OutputIndex != nil && req.LogIndex != nil:
		return Transfer{}, fmt.Errorf("%w: give output_index or log_index, not both", ErrInvalid)
	case isBTC && req.OutputIndex == nil:
		return Transfer{}, fmt.Errorf("%w: a %s transfer needs output_index", ErrInvalid, chain)
	case !isBTC && req.OutputIndex != nil:
		return Transfer{}, fmt.Errorf("%w: %s has no outputs: give log_index for a token transfer, or no index for the native value", ErrInvalid, chain)
	}
	tx, err := normalizeTx(req.Tx, isBTC)
	if err != nil {
		return Transfer{}, err
	}
	t := Transfer{Status: StatusPending, Chain: chain, Tx: tx, UserID: user, Registered: r.opts.Now().UTC(), Senders: []Sender{}, Reasons: []string{}}
	switch {
	case req.OutputIndex != nil:
		v := *req.OutputIndex
		t.OutputIndex, t.ID = &v, transferID(chain, tx, "vout", v)
	case req.LogIndex != nil:
		v := *req.LogIndex
		t.LogIndex, t.ID = &v, transferID(chain, tx, "log", v)
	default:
		t.ID = transferID(chain, tx, "native", 0)
	}
	return t, nil
}

// Outcomes of resolveAndScreen.
const (
	// screened: t was resolved and screened.
	screened = iota
	// absent: the chain store does not hold t's transaction.
	absent
	// offline: t's chain store cannot be read now.
	offline
)

// resolveAndScreen fills t from its transaction and screens its senders;
// t is left as it was when the store does not hold the transaction or
// cannot be read, which the outcome says.
func (r *Registry) resolveAndScreen(ctx context.Context, t *Transfer) (int, error) {
	r.chainsMu.RLock()
	defer r.chainsMu.RUnlock()
	var res resolved
	var found bool
	var err error
	isBTC := false
	if db, ok := r.chains.BTC[t.Chain]; ok {
		isBTC = true
		res, found, err = resolveBTC(ctx, db, t.Tx, *t.OutputIndex)
	} else if db, ok := r.chains.EVM[t.Chain]; ok {
		res, found, err = resolveEVM(ctx, db, t.Tx, t.LogIndex)
	} else if _, ok := r.chains.Offline[t.Chain]; ok {
		return offline, nil
	} else {
		return offline, fmt.Errorf("%w: no store of chain %s is open", ErrInvalid, t.Chain)
	}
	if err != nil {
		return absent, err
	}
	if !found {
		return absent, nil
	}
	t.Address, t.Asset, t.Token, t.Amount = res.address, res.asset, res.token, res.amount
	t.Senders = res.senders
	if t.Senders == nil {
		t.Senders = []Sender{}
	}
	return screened, r.screen(ctx, t, screenChain(t.Chain, isBTC))
}

// screen screens t's senders on chain and rates t: the worst sender's
// level, with the reasons of every sender rated that.
func (r *Registry) screen(ctx context.Context, t *Transfer, chain string) error {
	// A transaction with many inputs has as many senders, each an
	// exposure computation of its own: they run side by side.
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(screenWorkers)
	for i := range t.Senders {
		s := &t.Senders[i]
		g.Go(func() error {
			res, err := r.opts.Screener.Screen(gctx, chain, s.Address, r.opts.Screen)
			if err != nil {
				return fmt.Errorf("kyt: screening sender %s of %s: %w", s.Address, t.ID, err)
			}
			s.Screening = res
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	worst := screen.Low
	for i := range t.Senders {
		worst = max(worst, t.Senders[i].Screening.Risk.Level)
	}
	t.Reasons = []string{}
	if worst > screen.Low {
		for i := range t.Senders {
			if rk := t.Senders[i].Screening.Risk; rk.Level == worst {
				t.Reasons = append(t.Reasons, "sender "+t.Senders[i].Address+": "+rk.Reason)
			}
		}
	}
	if len(t.Senders) == 0 {
		t.Reasons = append(t.Reasons, "no sending address to screen (a coinbase, a mint, or inputs the store does not know)")
	}
	now := r.opts.Now().UTC()
	t.Status, t.Rating, t.Screened = StatusScreened, worst.String(), &now
	return nil
}

// Get returns a registered transfer by id; an unknown id is an error
// wrapping ErrNotFound.
func (r *Registry) Get(ctx context.Context, id string) (Transfer, error) {
	t, _, ok, err := r.lookup(ctx, id)
	if err != nil {
		return Transfer{}, err
	}
	if !ok {
		return Transfer{}, fmt.Errorf("%w: %q", ErrNotFound, id)
	}
	return t, nil
}

// lookup reads the transfer with id and its seq.
func (r *Registry) lookup(ctx context.Context, id string) (Transfer, uint64, bool, error) {
	if id == "" || len(id) > 64 {
		return Transfer{}, 0, false, nil
	}
	v, ok, err := r.db.MonitorGet(ctx, store.MonWatched, append([]byte{subID}, id...))
	if err != nil || !ok {
		return Transfer{}, 0, false, wrap(err)
	}
	if len(v) != 8 {
		return Transfer{}, 0, false, fmt.Errorf("kyt: corrupt index entry of transfer %s", id)
	}
	seq := binary.BigEndian.Uint64(v)
	rv, ok, err := r.db.MonitorGet(ctx, store.MonWatched, recordKey(seq))
	if err != nil {
		return Transfer{}, 0, false, wrap(err)
	}
	if !ok {
		return Transfer{}, 0, false, fmt.Errorf("kyt: transfer %s: record %d is missing", id, seq)
	}
	t, err := decodeRecord(seq, rv)
	return t, seq, err == nil, err
}

// List returns a page of transfers in registration order that pass f,
// starting after cursor ("" for the first page), at most limit of them
// (DefaultLimit when 0).
func (r *Registry) List(ctx context.Context, f Filter, cursor string, limit int) (Page, error) {
	if err := CheckFilter(f); err != nil {
		return Page{}, err
	}
	switch {
	case limit == 0:
		limit = DefaultLimit
	case limit < 0 || limit > MaxLimit:
		return Page{}, fmt.Errorf("%w: limit %d is outside 1..%d", ErrInvalid, limit, MaxLimit)
	}
	from := uint64(1)
	if cursor != "" {
		b, err := base64.RawURLEncoding.DecodeString(cursor)
		if err != nil || len(b) != 8 {
			return Page{}, fmt.Errorf("%w: %q", ErrBadCursor, cursor)
		}
		from = binary.BigEndian.Uint64(b) + 1
	}
	page := Page{Transfers: []Transfer{}}
	var last uint64
	more := false
	scan := r.scan
	if f.UserID != "" {
		scan = func(ctx context.Context, from uint64, fn func(uint64, *Transfer) bool) error {
			return r.scanUser(ctx, f.UserID, from, fn)
		}
	}
	err := scan(ctx, from, func(seq uint64, t *Transfer) bool {
		if !f.match(t) {
			return true
		}
		if len(page.Transfers) == limit {
			more = true
			return false
		}
		page.Transfers = append(page.Transfers, *t)
		last = seq
		return true
	})
	if err != nil {
		return Page{}, err
	}
	if more {
		page.Next = base64.RawURLEncoding.EncodeToString(store8(last))
	}
	return page, nil
}

// scan visits the records from seq from on in order until fn returns
// false. Records are numbered densely from 1, so it reads them by key
// from from on rather than iterating past the earlier ones.
func (r *Registry) scan(ctx context.Context, from uint64, fn func(seq uint64, t *Transfer) bool) error {
	r.mu.Lock()
	end := r.nextSeq
	r.mu.Unlock()
	for seq := max(from, 1); seq < end; seq++ {
		t, err := r.record(ctx, seq)
		if err != nil {
			return err
		}
		if !fn(seq, &t) {
			return nil
		}
	}
	return nil
}

// record reads record seq.
func (r *Registry) record(ctx context.Context, seq uint64) (Transfer, error) {
	v, ok, err := r.db.MonitorGet(ctx, store.MonWatched, recordKey(seq))
	if err != nil {
		return Transfer{}, wrap(err)
	}
	if !ok {
		return Transfer{}, fmt.Errorf("kyt: transfer record %d is missing", seq)
	}
	return decodeRecord(seq, v)
}

// scanUser visits user's records from seq from on in order, through the
// user index, until fn returns false.
func (r *Registry) scanUser(ctx context.Context, user string, from uint64, fn func(seq uint64, t *Transfer) bool) error {
	prefix := userPrefix(user)
	err := r.db.MonitorScan(ctx, store.MonWatched, prefix, func(k, _ []byte) (bool, error) {
		if len(k) != len(prefix)+8 {
			return false, fmt.Errorf("kyt: corrupt user index key %x", k)
		}
		seq := binary.BigEndian.Uint64(k[len(prefix):])
		if seq < from {
			return true, nil
		}
		t, err := r.record(ctx, seq)
		if err != nil {
			return false, err
		}
		return fn(seq, &t), nil
	})
	return wrap(err)
}

// wrap prefixes a store error with the package, leaving the context
// errors bare so that callers can tell a cancellation.
func wrap(err error) error {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return fmt.Errorf("kyt: %w", err)
}

// store8 encodes a sequence number as index values and cursors hold it.
func store8(n uint64) []byte { return binary.BigEndian.AppendUint64(nil, n) }

// recordKey is the key of record seq in the W table.
func recordKey(seq uint64) []byte { return binary.BigEndian.AppendUint64([]byte{subRecord}, seq) }

// userPrefix starts the user index keys of user: the user id cannot hold
// a NUL (JSON strings can, so it is escaped), which ends it.
func userPrefix(user string) []byte {
	b := append([]byte{subUser}, strings.ReplaceAll(user, "\x00", "\x00\x01")...)
	return append(b, 0, 0)
}

// pendingKey marks record seq as pending, so that finding the pending
// transfers reads no other record.
func pendingKey(seq uint64) []byte { return binary.BigEndian.AppendUint64([]byte{subPending}, seq) }

// putRecord writes t as record seq into b.
func putRecord(b store.Batch, seq uint64, t *Transfer) error {
	v, err := json.Marshal(t)
	if err != nil {
		return fmt.Errorf("kyt: encoding transfer %s: %w", t.ID, err)
	}
	b.PutMonitor(store.MonWatched, recordKey(seq), v)
	return nil
}

// decodeRecord decodes record seq; its lists are never nil, so that they
// encode as [] for clients.
func decodeRecord(seq uint64, v []byte) (Transfer, error) {
	var t Transfer
	if err := json.Unmarshal(v, &t); err != nil {
		return Transfer{}, fmt.Errorf("kyt: corrupt transfer record %d: %w", seq, err)
	}
	if t.Senders == nil {
		t.Senders = []Sender{}
	}
	if t.Reasons == nil {
		t.Reasons = []string{}
	}
	return t, nil
}
