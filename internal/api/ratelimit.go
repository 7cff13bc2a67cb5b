package api

import (
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/chaintrace/chaintrace/internal/auth"
)

// Rate is a token bucket's refill rate and size: PerSecond tokens a
// second, at most Burst at once. A zero PerSecond is no limit.
type Rate struct {
	PerSecond float64
	Burst     int
}

// RateLimits are the limits per caller: each API key has a bucket of
// its role's rate, each anonymous client IP one of Anonymous. Disabled
// turns them all off.
type RateLimits struct {
	Anonymous, Read, Write, Admin Rate
	Disabled                      bool
}

// DefaultRateLimits are what `chaintrace serve` applies without
// --rate-limit: generous enough for the web UI and scripts, low enough
// that one client cannot take the server.
func DefaultRateLimits() RateLimits {
	return RateLimits{
		Anonymous: Rate{20, 100},
		Read:      Rate{50, 200},
		Write:     Rate{10, 40},
		Admin:     Rate{50, 200},
	}
}

// Off reports whether no request is limited.
func (l RateLimits) Off() bool {
	return l.Disabled || l.Anonymous.PerSecond <= 0 && l.Read.PerSecond <= 0 && l.Write.PerSecond <= 0 && l.Admin.PerSecond <= 0
}

// of returns the rate of a caller.
func (l RateLimits) of(c caller) Rate {
	if c.KeyID == "" {
		return l.Anonymous
	}
	switch c.Role {
	case auth.RoleAdmin:
		return l.Admin
	case auth.RoleWrite:
		return l.Write
	}
	return l.Read
}

// ParseRateLimits reads "off" or a comma-separated list of
// ROLE=N/s|N/m[:BURST] (ROLE anonymous, read, write or admin; N 0 for
// no limit) over base. A missing burst is twice the per-second rate,
// at least 1.
func ParseRateLimits(s string, base RateLimits) (RateLimits, error) {
	s = strings.TrimSpace(s)
	if s == "off" || s == "none" {
		return RateLimits{Disabled: true}, nil
	}
	out := base
	for item := range strings.SplitSeq(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		role, spec, ok := strings.Cut(item, "=")
		if !ok {
			return out, fmt.Errorf("api: rate limit %q: want ROLE=N/s", item)
		}
		var dst *Rate
		switch role {
		case "anonymous":
			dst = &out.Anonymous
		case "read":
			dst = &out.Read
		case "write":
			dst = &out.Write
		case "admin":
			dst = &out.Admin
		default:
			return out, fmt.Errorf("api: rate limit %q: unknown role %q (want anonymous, read, write or admin)", item, role)
		}
		r, err := parseRate(spec)
		if err != nil {
			return out, fmt.Errorf("api: rate limit %q: %w", item, err)
		}
		*dst = r
	}
	return out, nil
}

// parseRate reads N/s or N/m with an optional :BURST.
func parseRate(spec string) (Rate, error) {
	spec, burstStr, hasBurst := strings.Cut(spec, ":")
	num, unit, ok := strings.Cut(spec, "/")
	if !ok {
		return Rate{}, fmt.Errorf("want N/s or N/m")
	}
	n, err := strconv.ParseFloat(num, 64)
	if err != nil || n < 0 || math.IsInf(n, 0) || math.IsNaN(n) {
		return Rate{}, fmt.Errorf("bad rate %q", num)
	}
	switch unit {
	case "s":
	case "m":
		n /= 60
	default:
		return Rate{}, fmt.Errorf("bad unit %q (want s or m)", unit)
	}
	r := Rate{PerSecond: n, Burst: max(1, int(math.Ceil(2*n)))}
	if hasBurst {
		b, err := strconv.Atoi(burstStr)
		if err != nil || b < 1 {
			return Rate{}, fmt.Errorf("bad burst %q", burstStr)
		}
		r.Burst = b
	}
	return r, nil
}

// String spells the limits as ParseRateLimits reads them.
func (l RateLimits) String() string {
	if l.Off() {
		return "off"
	}
	f := func(r Rate) string {
		return strconv.FormatFloat(r.PerSecond, 'f', -1, 64) + "/s:" + strconv.Itoa(r.Burst)
	}
	return "anonymous=" + f(l.Anonymous) + ",read=" + f(l.Read) + ",write=" + f(l.Write) + ",admin=" + f(l.Admin)
}

// DefaultMaxBuckets bounds how many callers' buckets a limiter keeps.
const DefaultMaxBuckets = 100_000

// bucket is one caller's tokens as of last.
type bucket struct {
	tokens float64
	last   time.Time
}

// limiter holds a token bucket per caller. Buckets that have refilled
// are the same as new ones, so a sweep drops them; past maxBuckets the
// oldest fall out too, which at worst gives a caller a fresh burst.
type limiter struct {
	limits     RateLimits
	maxBuckets int
	now        func() time.Time
	mu         sync.Mutex
	buckets    map[string]*bucket
	inserts    int
}

// newLimiter returns a limiter of limits keeping at most maxBuckets
// (DefaultMaxBuckets when 0).
func newLimiter(limits RateLimits, maxBuckets int) *limiter {
	if maxBuckets <= 0 {
		maxBuckets = DefaultMaxBuckets
	}
	return &limiter{limits: limits, maxBuckets: maxBuckets, now: time.Now, buckets: map[string]*bucket{}}
}

// limitName names the bucket a caller draws from, for errors.
func limitName(c caller) string {
	if c.KeyID == "" {
		return "anonymous clients from this address"
	}
	return "API key " + c.KeyID
}

// allow takes a token for r's caller, setting the RateLimit headers;
// false means the caller must wait, and Retry-After says how long.
func (l *limiter) allow(w http.ResponseWriter, r *http.Request, c caller) bool {
	rate := l.limits.of(c)
	if rate.PerSecond <= 0 {
		return true
	}
	id := "k:" + c.KeyID
	if c.KeyID == "" {
		id = "ip:" + clientIP(r)
	}
	ok, remaining, wait, full := l.take(id, rate)
	h := w.Header()
	h.Set("RateLimit-Limit", strconv.Itoa(rate.Burst))
	h.Set("RateLimit-Remaining", strconv.Itoa(remaining))
	h.Set("RateLimit-Reset", strconv.Itoa(ceilSeconds(full)))
	if !ok {
		h.Set("Retry-After", strconv.Itoa(max(1, ceilSeconds(wait))))
	}
	return ok
}

// take draws a token from bucket id of rate. It returns whether one was
// there, the whole tokens left, how long until the next token and until
// the bucket is full.
func (l *limiter) take(id string, rate Rate) (ok bool, remaining int, wait, full time.Duration) {
	now := l.now()
	burst := float64(rate.Burst)
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.buckets[id]
	if b == nil {
		l.makeRoom(now)
		b = &bucket{tokens: burst, last: now}
		l.buckets[id] = b
	} else {
		b.tokens = min(burst, b.tokens+now.Sub(b.last).Seconds()*rate.PerSecond)
		b.last = now
	}
	if b.tokens >= 1 {
		b.tokens--
		ok = true
	} else {
		wait = time.Duration((1 - b.tokens) / rate.PerSecond * float64(time.Second))
	}
	full = time.Duration((burst - b.tokens) / rate.PerSecond * float64(time.Second))
	return ok, int(b.tokens), wait, full
}

// makeRoom sweeps the buckets every 1,024 new ones, or at once when
// they are at the bound, dropping those that have refilled. If none
// have, it drops arbitrary ones until there is room.
func (l *limiter) makeRoom(now time.Time) {
	l.inserts++
	if l.inserts%1024 != 0 && len(l.buckets) < l.maxBuckets {
		return
	}
	slowest := l.slowest()
	for id, b := range l.buckets {
		if now.Sub(b.last) >= slowest {
			delete(l.buckets, id)
		}
	}
	for id := range l.buckets {
		if len(l.buckets) < l.maxBuckets {
			break
		}
		delete(l.buckets, id)
	}
}

// slowest is the longest any limited bucket takes to refill from
// empty: a bucket idle that long is full.
func (l *limiter) slowest() time.Duration {
	var d time.Duration
	for _, r := range []Rate{l.limits.Anonymous, l.limits.Read, l.limits.Write, l.limits.Admin} {
		if r.PerSecond > 0 {
			d = max(d, time.Duration(float64(r.Burst)/r.PerSecond*float64(time.Second)))
		}
	}
	return d
}

// size returns how many buckets are kept.
func (l *limiter) size() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.buckets)
}

// ceilSeconds rounds a duration up to whole seconds.
func ceilSeconds(d time.Duration) int {
	return int((d + time.Second - 1) / time.Second)
}
