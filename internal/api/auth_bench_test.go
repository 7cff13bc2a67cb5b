package api_test

import (
	"log/slog"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/chaintrace/chaintrace/internal/api"
	"github.com/chaintrace/chaintrace/internal/auth"
)

// BenchmarkGuard measures what authentication and rate limiting add to
// a cheap read (an actor look-up): none, anonymous with an IP bucket,
// and a key checked against the keyring with a key bucket.
func BenchmarkGuard(b *testing.B) {
	data := b.TempDir()
	_, tok, err := auth.Create(b.Context(), data, auth.RoleRead, "bench", time.Time{})
	if err != nil {
		b.Fatal(err)
	}
	kr, err := auth.OpenKeyring(data, auth.DefaultCheckEvery)
	if err != nil {
		b.Fatal(err)
	}
	high := api.Rate{PerSecond: 1e9, Burst: 1e9}
	limits := api.RateLimits{Anonymous: high, Read: high}
	w := newWorld(b)
	for _, c := range []struct {
		name string
		mod  func(*api.Config)
		hdr  []string
	}{
		{"off", nil, nil},
		{"anonymous", func(c *api.Config) { c.Keys, c.Anonymous, c.RateLimits = kr, auth.RoleRead, limits }, nil},
		{"key", func(c *api.Config) { c.Keys, c.Anonymous, c.RateLimits = kr, auth.RoleNone, limits }, []string{"Authorization", "Bearer " + tok}},
	} {
		b.Run(c.name, func(b *testing.B) {
			srv, _ := testServer(b, w, true, func(cfg *api.Config) {
				cfg.Logger = slog.New(slog.DiscardHandler)
				if c.mod != nil {
					c.mod(cfg)
				}
			})
			h := srv.Handler()
			req := httptest.NewRequest("GET", "/api/v1/actors/lazarusgroup", nil)
			for i := 0; i+1 < len(c.hdr); i += 2 {
				req.Header.Set(c.hdr[i], c.hdr[i+1])
			}
			b.ReportAllocs()
			for b.Loop() {
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				if rec.Code != 200 {
					b.Fatalf("status %d: %s", rec.Code, rec.Body)
				}
			}
		})
	}
}
