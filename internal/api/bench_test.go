package api_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/btcsuite/btcd/chaincfg"
	"github.com/chaintrace/chaintrace/internal/addrs"
	"github.com/chaintrace/chaintrace/internal/api"
	"github.com/chaintrace/chaintrace/internal/btc"
	"github.com/chaintrace/chaintrace/internal/labels"
	"github.com/chaintrace/chaintrace/internal/screen"
)

const benchLabels = 1_000_000

var (
	benchOnce  sync.Once
	benchIndex *labels.Index
	benchPaths []string // request paths, hits and misses alternating
)

// benchFixture builds (once) a million labels, half eth and half btc,
// and 2000 request paths, half of them hits.
func benchFixture(b *testing.B) (*labels.Index, []string) {
	benchOnce.Do(func() {
		eth := func(s string) string {
			h := sha256.Sum256([]byte("bench-eth:" + s))
			n, err := addrs.Normalize("eth", "0x"+hex.EncodeToString(h[:20]))
			if err != nil {
				b.Fatal(err)
			}
			return n
		}
		bt := func(s string) string {
			h := sha256.Sum256([]byte("bench-btc:" + s))
			k, _ := btc.NewAddrKey(btc.AddrWPKH, 0, h[:20])
			return k.Encode(&chaincfg.MainNetParams)
		}
		ls := make([]labels.Label, 0, benchLabels)
		var hits []string
		for i := 0; i < benchLabels; i++ {
			l := labels.Label{Label: "Entity " + strconv.Itoa(i%5000), Category: "exchange", Confidence: "web_crawl",
				ConfidenceLevel: 40, Source: "https://example.org/list", Dataset: "bench"}
			if i%2 == 0 {
				l.Chain, l.Address = "eth", eth(strconv.Itoa(i))
			} else {
				l.Chain, l.Address = "btc", bt(strconv.Itoa(i))
			}
			if i%10 == 0 {
				l.Category, l.Abuse, l.Actor, l.Entity, l.Programs = "", "sanction", "tradertraitor", "TraderTraitor", []string{"DPRK3"}
			}
			ls = append(ls, l)
			if i%1000 == 0 || i%1000 == 1 {
				hits = append(hits, "/api/v1/screen/"+l.Chain+"/"+l.Address)
			}
		}
		for i, h := range hits {
			benchPaths = append(benchPaths, h)
			if i%2 == 0 {
				benchPaths = append(benchPaths, "/api/v1/screen/eth/"+eth("miss"+strconv.Itoa(i)))
			} else {
				benchPaths = append(benchPaths, "/api/v1/screen/btc/"+bt("miss"+strconv.Itoa(i)))
			}
		}
		benchIndex = labels.NewIndex(ls, testActors)
		runtime.GC()
	})
	return benchIndex, benchPaths
}

// rawClient is a minimal HTTP/1.1 keep-alive client for one connection:
// it writes a GET, reads the status line and headers, and reads exactly
// Content-Length body bytes. It spends far less CPU per request than
// net/http's client, so more of the shared cores go to the server.
type rawClient struct {
	conn net.Conn
	r    *bufio.Reader
	req  []byte
	body []byte
}

func dialRaw(addr string) (*rawClient, error) {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	return &rawClient{conn: c, r: bufio.NewReaderSize(c, 16<<10)}, nil
}

// get fetches path and returns the status code.
func (c *rawClient) get(path string) (int, error) {
	c.req = append(c.req[:0], "GET "...)
	c.req = append(c.req, path...)
	c.req = append(c.req, " HTTP/1.1\r\nHost: bench\r\nUser-Agent: chaintrace-bench\r\n\r\n"...)
	if _, err := c.conn.Write(c.req); err != nil {
		return 0, err
	}
	line, err := c.r.ReadSlice('\n')
	if err != nil {
		return 0, err
	}
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.1 ")) {
		return 0, fmt.Errorf("bad status line %q", line)
	}
	status, err := strconv.Atoi(string(line[9:12]))
	if err != nil {
		return 0, err
	}
	length := -1
	for {
		line, err := c.r.ReadSlice('\n')
		if err != nil {
			return 0, err
		}
		if len(line) <= 2 {
			break
		}
		if k, v, ok := bytes.Cut(line, []byte(":")); ok && bytes.EqualFold(k, []byte("Content-Length")) {
			if length, err = strconv.Atoi(string(bytes.TrimSpace(v))); err != nil {
				return 0, err
			}
		}
	}
	if length < 0 {
		return 0, fmt.Errorf("response without Content-Length")
	}
	if cap(c.body) < length {
		c.body = make([]byte, length)
	}
	if _, err := io.ReadFull(c.r, c.body[:length]); err != nil {
		return 0, err
	}
	return status, nil
}

// BenchmarkScreenHTTP serves a million labels from a real server on
// 127.0.0.1 and drives it with N keep-alive workers issuing GET
// /api/v1/screen/{chain}/{address}, hits and misses alternating. The
// load generator runs in the same process on the same cores. It reports
// requests per second and the p50, p99 and max latency seen by clients.
func BenchmarkScreenHTTP(b *testing.B) {
	ix, paths := benchFixture(b)
	for _, tc := range []struct {
		name    string
		workers int
		client  string
	}{
		{"raw/workers=4", 4, "raw"},
		{"raw/workers=16", 16, "raw"},
		{"raw/workers=64", 64, "raw"},
		{"nethttp/workers=16", 16, "nethttp"},
	} {
		b.Run(tc.name, func(b *testing.B) {
			sc, err := screen.New(ix, nil, screen.DefaultRules())
			if err != nil {
				b.Fatal(err)
			}
			// Access logs stay on, formatted as JSON and discarded.
			srv := api.NewServer(api.Config{Screener: sc, Logger: slog.New(slog.NewJSONHandler(io.Discard, nil))})
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				b.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			served := make(chan error, 1)
			go func() { served <- srv.Serve(ctx, ln) }()
			defer func() {
				cancel()
				if err := <-served; err != nil {
					b.Error(err)
				}
			}()
			addr := ln.Addr().String()
			lat := loadTest(b, addr, paths, tc.workers, tc.client)
			slices.Sort(lat)
			pct := func(p float64) float64 {
				return float64(lat[int(p*float64(len(lat)-1))].Microseconds()) / 1000
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
			b.ReportMetric(pct(0.50), "p50-ms")
			b.ReportMetric(pct(0.99), "p99-ms")
			b.ReportMetric(float64(lat[len(lat)-1].Microseconds())/1000, "max-ms")
		})
	}
}

// loadTest issues b.N requests over workers connections and returns every
// request's latency.
func loadTest(b *testing.B, addr string, paths []string, workers int, client string) []time.Duration {
	type getter func(path string) (int, error)
	gets := make([]getter, workers)
	for i := range gets {
		switch client {
		case "raw":
			c, err := dialRaw(addr)
			if err != nil {
				b.Fatal(err)
			}
			defer c.conn.Close()
			gets[i] = c.get
		default:
			tr := &http.Transport{MaxIdleConnsPerHost: 1, DisableCompression: true}
			defer tr.CloseIdleConnections()
			hc := &http.Client{Transport: tr}
			base := "http://" + addr
			gets[i] = func(path string) (int, error) {
				resp, err := hc.Get(base + path)
				if err != nil {
					return 0, err
				}
				_, err = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				return resp.StatusCode, err
			}
		}
		// Warm the connection up.
		if st, err := gets[i](paths[i%len(paths)]); err != nil || st != 200 {
			b.Fatalf("warm-up: %d %v", st, err)
		}
	}
	lats := make([][]time.Duration, workers)
	var next atomic.Int64
	var failed atomic.Pointer[string]
	var wg sync.WaitGroup
	b.ResetTimer()
	for w := range workers {
		wg.Go(func() {
			lat := make([]time.Duration, 0, b.N/workers+1)
			for {
				i := next.Add(1) - 1
				if i >= int64(b.N) {
					break
				}
				start := time.Now()
				st, err := gets[w](paths[int(i)%len(paths)])
				lat = append(lat, time.Since(start))
				if err != nil || st != 200 {
					msg := fmt.Sprintf("request %d: status %d, %v", i, st, err)
					failed.CompareAndSwap(nil, &msg)
					break
				}
			}
			lats[w] = lat
		})
	}
	wg.Wait()
	b.StopTimer()
	if f := failed.Load(); f != nil {
		b.Fatal(*f)
	}
	var all []time.Duration
	for _, l := range lats {
		all = append(all, l...)
	}
	return all
}

// BenchmarkHandler measures the handler alone, without sockets: routing,
// request id, screening, JSON encoding, metrics and the access log.
func BenchmarkHandler(b *testing.B) {
	ix, paths := benchFixture(b)
	sc, err := screen.New(ix, nil, screen.DefaultRules())
	if err != nil {
		b.Fatal(err)
	}
	h := api.NewServer(api.Config{Screener: sc, Logger: slog.New(slog.NewJSONHandler(io.Discard, nil))}).Handler()
	reqs := make([]*http.Request, len(paths))
	for i, p := range paths {
		reqs[i] = httptest.NewRequest("GET", p, nil)
	}
	w := &discardWriter{h: http.Header{}}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		clear(w.h)
		h.ServeHTTP(w, reqs[i%len(reqs)])
		if w.status != 200 {
			b.Fatalf("status %d", w.status)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
}

// discardWriter is a ResponseWriter that keeps only the status.
type discardWriter struct {
	h      http.Header
	status int
}

// Header returns the response headers.
func (w *discardWriter) Header() http.Header { return w.h }

// WriteHeader records the status.
func (w *discardWriter) WriteHeader(code int) { w.status = code }

// Write discards the body.
func (w *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
