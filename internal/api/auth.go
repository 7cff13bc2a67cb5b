package api

import (
	"errors"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/chaintrace/chaintrace/internal/auth"
	"github.com/prometheus/client_golang/prometheus"
)

// Authenticator checks API keys; *auth.Keyring implements it.
type Authenticator interface {
	// Authenticate returns the key a token names if it is valid at now.
	Authenticate(token string, now time.Time) (auth.Key, error)
}

var _ Authenticator = (*auth.Keyring)(nil)

// routeRoles are the roles of the routes whose role is not their
// method's (routeRole). They are kept apart from routeTable's rows so
// that a row added without a role still compiles and gets its method's.
var routeRoles = map[string]auth.Role{
	// A batch screen posts a list of addresses but changes nothing.
	"POST /api/v1/screen": auth.RoleRead,
	// The audit log shows every key's writes: admins only.
	"GET /api/v1/audit": auth.RoleAdmin,
	// Liveness probes and API clients' generators run without a key.
	"GET /healthz":             auth.RoleNone,
	"GET /api/v1/openapi.json": auth.RoleNone,
}

// routeRole is the role a route pattern requires: routeRoles' when it
// lists the pattern, else read for GET and HEAD and write for the
// methods that change state (POST, PUT, PATCH, DELETE).
func routeRole(pattern string) auth.Role {
	if r, ok := routeRoles[pattern]; ok {
		return r
	}
	method, _, _ := strings.Cut(pattern, " ")
	if readMethod(method) {
		return auth.RoleRead
	}
	return auth.RoleWrite
}

// readMethod reports whether an HTTP method only reads.
func readMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

// caller is who made a request: a key, or an anonymous client.
type caller struct {
	// KeyID is "" for an anonymous caller.
	KeyID string
	Role  auth.Role
}

// The problems of authentication and rate limiting.
var (
	probUnauthorized = problemKind{"unauthorized", "Authentication required", http.StatusUnauthorized}
	probForbidden    = problemKind{"forbidden", "Role too low", http.StatusForbidden}
	probRateLimited  = problemKind{"rate-limited", "Too many requests", http.StatusTooManyRequests}
)

// security is the server's authentication, rate limiting and audit
// state.
type security struct {
	keys      Authenticator
	anonymous auth.Role
	limits    *limiter
	audit     *auditLog
	refused   *prometheus.CounterVec
}

// newSecurity sets up cfg's authentication, limits and audit log and
// registers their metrics with reg.
func newSecurity(cfg Config, reg prometheus.Registerer) *security {
	sec := &security{keys: cfg.Keys, anonymous: cfg.Anonymous,
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "chaintrace", Subsystem: "http", Name: "refused_total",
			Help: "Requests refused before their handler, by reason: unauthorized, forbidden, rate_limited.",
		}, []string{"reason"}),
	}
	if cfg.Keys == nil {
		// Without a keyring there is nobody to tell apart: every
		// caller may do everything (tests, embedding).
		sec.anonymous = auth.RoleAdmin
	}
	if !cfg.RateLimits.Off() {
		sec.limits = newLimiter(cfg.RateLimits, 0)
	}
	if cfg.AuditData != "" {
		sec.audit = newAuditLog(cfg.AuditData)
	}
	reg.MustRegister(sec.refused)
	return sec
}

// bearer returns the API key a request carries, "" for none, and
// whether the headers carrying it are well formed.
func bearer(r *http.Request) (string, bool) {
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, tok, ok := strings.Cut(h, " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(tok) == "" {
			return "", false
		}
		return strings.TrimSpace(tok), true
	}
	return strings.TrimSpace(r.Header.Get("X-API-Key")), true
}

// guard wraps a route's handler with its role check, rate limit and,
// for write methods, the audit log. The audit records refused requests
// too: a refused write is what an audit is most asked about.
func (s *Server) guard(pattern string, h http.HandlerFunc) http.HandlerFunc {
	need := routeRole(pattern)
	return func(w http.ResponseWriter, r *http.Request) {
		sec := s.sec
		var rec *auditRecord
		// returned stays false when the handler panics, which the
		// server answers with a 500 the audit line must show.
		returned := false
		if sec.audit != nil && !readMethod(r.Method) {
			rec = sec.audit.begin(r)
			defer func() { sec.audit.finish(r.Context(), s.log, rec, w, s.cfg.MaxBodyBytes, returned) }()
		}
		c, ok := s.authenticate(w, r, need)
		if ok && c.KeyID != "" {
			if rw, isRec := w.(*recorder); isRec {
				rw.key = c.KeyID
			}
		}
		if rec != nil {
			rec.entry.Role = c.Role.String()
			if c.KeyID != "" && ok {
				rec.entry.Key = c.KeyID
			} else if c.KeyID != "" {
				rec.entry.Claimed = c.KeyID
			}
		}
		if !ok {
			returned = true
			return
		}
		if sec.limits != nil && need != auth.RoleNone && !sec.limits.allow(w, r, c) {
			sec.refused.WithLabelValues("rate_limited").Inc()
			writeProblem(w, newProblem(r, probRateLimited, "the rate limit of "+limitName(c)+" is spent; retry after Retry-After seconds"))
			returned = true
			return
		}
		h(w, r)
		returned = true
	}
}

// authenticate identifies the caller of r and checks it holds need. On
// refusal it answers 401 or 403 and returns false with what it learnt of
// the caller (the id of the key it named), for the audit log.
func (s *Server) authenticate(w http.ResponseWriter, r *http.Request, need auth.Role) (caller, bool) {
	sec := s.sec
	tok, wellFormed := bearer(r)
	// A request asked without credentials, or to an open route, never
	// touches the keyring.
	if wellFormed && (tok == "" || need == auth.RoleNone) {
		c := caller{Role: sec.anonymous}
		if c.Role >= need {
			return c, true
		}
		s.unauthorized(w, r, "this route needs an API key of role "+need.String()+" (Authorization: Bearer <key> or X-API-Key)")
		return c, false
	}
	if sec.keys == nil {
		// Keys are not checked: a server without a keyring accepts
		// any.
		return caller{Role: sec.anonymous}, true
	}
	if !wellFormed {
		s.unauthorized(w, r, "the Authorization header must be \"Bearer <key>\"")
		return caller{}, false
	}
	k, err := sec.keys.Authenticate(tok, time.Now())
	if err != nil {
		detail := "the API key is not valid"
		switch {
		case errors.Is(err, auth.ErrMalformed):
			detail = "the API key is malformed (want ct_<id>_<secret>)"
		case errors.Is(err, auth.ErrRevoked):
			detail = "the API key was revoked"
		case errors.Is(err, auth.ErrExpired):
			detail = "the API key has expired"
		}
		s.unauthorized(w, r, detail)
		id, _, _ := auth.ParseToken(tok)
		return caller{KeyID: id}, false
	}
	c := caller{KeyID: k.ID, Role: k.Role}
	if c.Role < need {
		sec.refused.WithLabelValues("forbidden").Inc()
		writeProblem(w, newProblem(r, probForbidden, "API key "+k.ID+" has role "+k.Role.String()+"; this route needs "+need.String()))
		return c, false
	}
	return c, true
}

// unauthorized answers 401 with the challenge RFC 9110 requires.
func (s *Server) unauthorized(w http.ResponseWriter, r *http.Request, detail string) {
	s.sec.refused.WithLabelValues("unauthorized").Inc()
	w.Header().Set("WWW-Authenticate", `Bearer realm="chaintrace"`)
	writeProblem(w, newProblem(r, probUnauthorized, detail))
}

// clientIP is the address anonymous callers are told apart by.
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
