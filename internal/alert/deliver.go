package alert

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/netip"
	"syscall"
	"time"

	"github.com/chaintrace/chaintrace/internal/monitor"
	"github.com/chaintrace/chaintrace/internal/store"
)

// Store is what the deliverer needs of a chain store: the monitor's
// tables and batches to change them. *store.DB is one; it may be the
// store a following ingest writes at the same time.
type Store interface {
	MonitorGet(ctx context.Context, t store.MonitorTable, key []byte) ([]byte, bool, error)
	MonitorScan(ctx context.Context, t store.MonitorTable, prefix []byte, fn func(key, val []byte) (bool, error)) error
	NewBatch() store.Batch
}

// Options tune a Deliverer.
type Options struct {
	// Data is the data directory whose webhooks.json lists the targets.
	Data string
	// Timeout bounds one delivery (default 5s): a hanging receiver costs
	// at most this much.
	Timeout time.Duration
	// MaxAttempts is the number of tries before a delivery goes to the
	// dead-letter list (default 8).
	MaxAttempts int
	// BaseDelay and MaxDelay bound the backoff (defaults 1s and 5m).
	BaseDelay, MaxDelay time.Duration
	// Poll is the outbox polling period (default 100ms).
	Poll   time.Duration
	Logger *slog.Logger
}

// Deliverer moves alerts from a chain store's outbox to the webhooks. The
// outbox entry of an alert (written with the alert by the monitor stage)
// is replaced, in one batch, by one pending delivery per target; a
// pending delivery is removed only after a 2xx answer, so a restart may
// send an alert again but never loses one, and the receiver drops the
// repeat by its idempotency key. It runs on its own goroutine and never
// holds up ingest.
type Deliverer struct {
	db     Store
	opts   Options
	log    *slog.Logger
	strict *http.Client
	loose  *http.Client
	// next is when a failed delivery may be tried again; it is not
	// stored, so a restart retries at once.
	next map[string]time.Time
	rnd  func() float64
}

// NewDeliverer returns a deliverer of db's outbox.
func NewDeliverer(db Store, opts Options) *Deliverer {
	if opts.Timeout <= 0 {
		opts.Timeout = 5 * time.Second
	}
	if opts.MaxAttempts <= 0 {
		opts.MaxAttempts = 8
	}
	if opts.BaseDelay <= 0 {
		opts.BaseDelay = time.Second
	}
	if opts.MaxDelay <= 0 {
		opts.MaxDelay = 5 * time.Minute
	}
	if opts.Poll <= 0 {
		opts.Poll = 100 * time.Millisecond
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Deliverer{db: db, opts: opts, log: log, strict: client(opts.Timeout, false), loose: client(opts.Timeout, true),
		next: map[string]time.Time{}, rnd: rand.Float64}
}

// client is an HTTP client that does not follow redirects (a 3xx is a
// failure to retry) and, unless allowPrivate, refuses at dial time to
// connect to a non-public address, whatever the name resolved to then.
func client(timeout time.Duration, allowPrivate bool) *http.Client {
	d := &net.Dialer{Timeout: timeout}
	if !allowPrivate {
		d.Control = func(_, address string, _ syscall.RawConn) error {
			ap, err := netip.ParseAddrPort(address)
			if err != nil {
				return fmt.Errorf("%w: %s: %w", ErrTarget, address, err)
			}
			if private(ap.Addr()) {
				return fmt.Errorf("%w: %s is not a public address", ErrTarget, ap.Addr())
			}
			return nil
		}
	}
	tr := &http.Transport{DialContext: d.DialContext, TLSHandshakeTimeout: timeout, ResponseHeaderTimeout: timeout, MaxIdleConnsPerHost: 2}
	return &http.Client{Timeout: timeout, Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// Backoff is the wait after the attempt-th failure (from 1): base
// doubled per attempt, capped at max, with full jitter in its upper half
// so that many failing deliveries do not retry in step. r returns a
// number in [0, 1).
func Backoff(attempt int, base, max time.Duration, r func() float64) time.Duration {
	d := base
	for i := 1; i < attempt && d < max; i++ {
		d *= 2
	}
	d = min(d, max)
	return d/2 + time.Duration(r()*float64(d/2))
}

// Run delivers until ctx ends, polling the outbox; a failed round is
// logged and retried at the next poll.
func (d *Deliverer) Run(ctx context.Context) error {
	t := time.NewTicker(d.opts.Poll)
	defer t.Stop()
	for {
		if _, err := d.Step(ctx); err != nil && ctx.Err() == nil {
			d.log.Warn("alert: delivery round failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// pendingKey is a pending delivery's key: alert seq(8) then webhook id.
func pendingKey(seq uint64, hook string) []byte {
	return append(monitor.SeqKey(seq), hook...)
}

// Dead is a delivery given up after its last retry.
type Dead struct {
	Seq      uint64    `json:"seq"`
	AlertID  string    `json:"alert_id"`
	Webhook  string    `json:"webhook"`
	Attempts int       `json:"attempts"`
	Error    string    `json:"error"`
	Time     time.Time `json:"time"`
}

// Step runs one round: it fans new outbox entries out to the targets and
// tries every pending delivery that is due. It returns the number of
// deliveries acknowledged.
func (d *Deliverer) Step(ctx context.Context) (int, error) {
	hooks, err := Webhooks(d.opts.Data)
	if err != nil {
		return 0, err
	}
	if err := d.fanOut(ctx, hooks); err != nil {
		return 0, err
	}
	byID := map[string]Webhook{}
	for _, h := range hooks {
		byID[h.ID] = h
	}
	type due struct {
		key      []byte
		seq      uint64
		hook     string
		attempts int
	}
	var list []due
	now := time.Now()
	err = d.db.MonitorScan(ctx, store.MonPending, nil, func(k, v []byte) (bool, error) {
		seq, err := monitor.KeySeq(k)
		if err != nil {
			return false, err
		}
		if now.Before(d.next[string(k)]) {
			return true, nil
		}
		n, _ := binary.Uvarint(v)
		list = append(list, due{append([]byte(nil), k...), seq, string(k[8:]), int(n)})
		return true, nil
	})
	if err != nil {
		return 0, err
	}
	if len(list) == 0 {
		return 0, nil
	}
	w := d.db.NewBatch()
	defer w.Close()
	ok := 0
	for _, p := range list {
		if ctx.Err() != nil {
			break
		}
		v, found, err := d.db.MonitorGet(ctx, store.MonAlert, monitor.SeqKey(p.seq))
		if err != nil {
			return ok, err
		}
		var derr error
		var a monitor.Alert
		h, known := byID[p.hook]
		switch {
		case !found:
			derr = errors.New("alert record missing")
		case !known:
			derr = errors.New("webhook removed")
		default:
			if a, derr = monitor.DecodeAlert(v); derr == nil {
				derr = d.post(ctx, h, a.ID, v)
			}
		}
		if derr == nil {
			w.DeleteMonitor(store.MonPending, p.key)
			delete(d.next, string(p.key))
			ok++
			d.log.Info("alert: delivered", "alert", a.ID, "webhook", h.ID)
			continue
		}
		p.attempts++
		if p.attempts >= d.opts.MaxAttempts || !found || !known {
			dv, _ := json.Marshal(Dead{Seq: p.seq, AlertID: a.ID, Webhook: p.hook, Attempts: p.attempts, Error: derr.Error(), Time: time.Now().UTC()})
			w.DeleteMonitor(store.MonPending, p.key)
			w.PutMonitor(store.MonDead, p.key, dv)
			delete(d.next, string(p.key))
			d.log.Warn("alert: delivery given up", "alert", a.ID, "webhook", p.hook, "attempts", p.attempts, "err", derr)
			continue
		}
		w.PutMonitor(store.MonPending, p.key, binary.AppendUvarint(nil, uint64(p.attempts)))
		wait := Backoff(p.attempts, d.opts.BaseDelay, d.opts.MaxDelay, d.rnd)
		d.next[string(p.key)] = time.Now().Add(wait)
		d.log.Warn("alert: delivery failed; will retry", "alert", a.ID, "webhook", p.hook, "attempt", p.attempts, "retry_in", wait, "err", derr)
	}
	if err := w.Commit(context.WithoutCancel(ctx), true); err != nil {
		return ok, err
	}
	return ok, nil
}

// fanOut replaces each outbox entry by a pending delivery per target, in
// one batch. Without targets the outbox keeps its entries for later.
func (d *Deliverer) fanOut(ctx context.Context, hooks []Webhook) error {
	if len(hooks) == 0 {
		return nil
	}
	w := d.db.NewBatch()
	defer w.Close()
	n := 0
	err := d.db.MonitorScan(ctx, store.MonOutbox, nil, func(k, _ []byte) (bool, error) {
		seq, err := monitor.KeySeq(k)
		if err != nil {
			return false, err
		}
		for _, h := range hooks {
			w.PutMonitor(store.MonPending, pendingKey(seq, h.ID), binary.AppendUvarint(nil, 0))
		}
		w.DeleteMonitor(store.MonOutbox, k)
		n++
		return true, nil
	})
	if err != nil || n == 0 {
		return err
	}
	return w.Commit(ctx, true)
}

// post sends one alert body to h; any answer but a 2xx is an error. A
// delivery under way when ctx ends (a follower stopping) runs to its
// answer or its timeout, so that its outcome is recorded and a graceful
// restart sends nothing twice.
func (d *Deliverer) post(ctx context.Context, h Webhook, id string, body []byte) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), d.opts.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.URL, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("alert: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "chaintrace-alerts/1")
	req.Header.Set(HeaderSignature, Sign(h.Secret, body))
	req.Header.Set(HeaderIdempotency, id)
	c := d.strict
	if h.AllowPrivate {
		c = d.loose
	}
	resp, err := c.Do(req)
	if err != nil {
		return fmt.Errorf("alert: post to %s: %w", h.ID, err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("alert: %s answered %s", h.ID, resp.Status)
	}
	return nil
}

// List returns the stored alerts in sequence order, from seq from on,
// at most limit of them (0: all).
func List(ctx context.Context, db Store, from uint64, limit int) ([]monitor.Alert, error) {
	var out []monitor.Alert
	err := db.MonitorScan(ctx, store.MonAlert, nil, func(k, v []byte) (bool, error) {
		seq, err := monitor.KeySeq(k)
		if err != nil || seq < from {
			return err == nil, err
		}
		a, err := monitor.DecodeAlert(v)
		if err != nil {
			return false, err
		}
		out = append(out, a)
		return limit == 0 || len(out) < limit, nil
	})
	return out, err
}

// DeadLetters returns the deliveries given up.
func DeadLetters(ctx context.Context, db Store) ([]Dead, error) {
	var out []Dead
	err := db.MonitorScan(ctx, store.MonDead, nil, func(_, v []byte) (bool, error) {
		var x Dead
		if err := json.Unmarshal(v, &x); err != nil {
			return false, fmt.Errorf("alert: corrupt dead letter: %w", err)
		}
		out = append(out, x)
		return true, nil
	})
	return out, err
}

// Drain delivers until no delivery is pending (acknowledged or given up),
// waiting out the backoff of failed ones: the standalone "alerts
// deliver". Without webhooks it returns at once.
func (d *Deliverer) Drain(ctx context.Context) error {
	for {
		if _, err := d.Step(ctx); err != nil {
			return err
		}
		hooks, err := Webhooks(d.opts.Data)
		if err != nil {
			return err
		}
		left := false
		tables := []store.MonitorTable{store.MonPending}
		if len(hooks) > 0 {
			tables = append(tables, store.MonOutbox)
		}
		for _, t := range tables {
			err := d.db.MonitorScan(ctx, t, nil, func(_, _ []byte) (bool, error) {
				left = true
				return false, nil
			})
			if err != nil {
				return err
			}
		}
		if !left {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(d.opts.Poll):
		}
	}
}
