// Command loadgen drives chaintrace's read endpoints at a target rate
// and reports the rate achieved, the errors and the latency
// percentiles. It discovers what to ask for from the server itself: the
// chains, a spread of their blocks, those blocks' transactions and the
// addresses in them, then cycles through screen, address, transaction,
// label and chain-list requests.
//
//	go run ./scripts/loadgen -base http://127.0.0.1:8080 -rate 6000 -duration 60s
//
// Requests are paced open-loop: each has a scheduled time, and its
// latency counts from then, so a server that falls behind shows it in
// the percentiles instead of slowing the generator down (no coordinated
// omission).
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

func main() {
	base := flag.String("base", "http://127.0.0.1:8080", "the server's base URL")
	rate := flag.Float64("rate", 5000, "target requests per second (0: as fast as the workers go)")
	duration := flag.Duration("duration", 60*time.Second, "how long to drive")
	workers := flag.Int("workers", 64, "concurrent connections")
	key := flag.String("key", "", "API key sent as X-API-Key (for a server with --anonymous none or rate limits)")
	flag.Parse()
	if err := run(context.Background(), *base, *key, *rate, *duration, *workers); err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
}

// client sends requests with the key, if any.
type client struct {
	http *http.Client
	base string
	key  string
}

// get fetches path and returns the status and body.
func (c *client) get(ctx context.Context, path string) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+path, nil)
	if err != nil {
		return 0, nil, err
	}
	if c.key != "" {
		req.Header.Set("X-API-Key", c.key)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

// getJSON fetches path into v, failing on a non-200.
func (c *client) getJSON(ctx context.Context, path string, v any) error {
	status, b, err := c.get(ctx, path)
	if err != nil {
		return err
	}
	if status != http.StatusOK {
		return fmt.Errorf("GET %s: %d %s", path, status, b)
	}
	return json.Unmarshal(b, v)
}

// discover builds the request mix from the server's own chain data.
func discover(ctx context.Context, c *client) ([]string, error) {
	var chains struct {
		Chains []struct {
			Chain string `json:"chain"`
			Tip   *struct {
				Height int64 `json:"height"`
			} `json:"tip"`
		} `json:"chains"`
	}
	if err := c.getJSON(ctx, "/api/v1/chains", &chains); err != nil {
		return nil, err
	}
	paths := []string{"/api/v1/chains"}
	for _, ch := range chains.Chains {
		if ch.Tip == nil || ch.Tip.Height < 1 {
			continue
		}
		esc := url.PathEscape(ch.Chain)
		paths = append(paths, "/api/v1/chains/"+esc)
		addrs := map[string]bool{}
		for i := range int64(20) {
			h := ch.Tip.Height * (i + 1) / 21
			var blk struct {
				Txs []string `json:"txs"`
			}
			if err := c.getJSON(ctx, "/api/v1/chains/"+esc+"/blocks/"+strconv.FormatInt(h, 10)+"?limit=5", &blk); err != nil {
				return nil, err
			}
			for _, tx := range blk.Txs {
				paths = append(paths, "/api/v1/chains/"+esc+"/txs/"+tx)
				var t struct {
					Inputs []struct {
						Address string `json:"address"`
					} `json:"inputs"`
					Outputs []struct {
						Address string `json:"address"`
					} `json:"outputs"`
					From string `json:"from"`
					To   string `json:"to"`
				}
				if err := c.getJSON(ctx, "/api/v1/chains/"+esc+"/txs/"+tx, &t); err != nil {
					return nil, err
				}
				for _, in := range t.Inputs {
					addrs[in.Address] = true
				}
				for _, out := range t.Outputs {
					addrs[out.Address] = true
				}
				addrs[t.From], addrs[t.To] = true, true
			}
		}
		delete(addrs, "")
		n := 0
		for a := range addrs {
			if n == 100 {
				break
			}
			n++
			ea := url.PathEscape(a)
			paths = append(paths, "/api/v1/chains/"+esc+"/addresses/"+ea)
			if sc := screenChain(ch.Chain); sc != "" {
				paths = append(paths, "/api/v1/screen/"+sc+"/"+ea, "/api/v1/labels/"+sc+"/"+ea)
			}
		}
	}
	if len(paths) < 10 {
		return nil, errors.New("the server holds too little chain data to drive (run chaintrace demo --no-serve first)")
	}
	return paths, nil
}

// screenChain is the chain a store's addresses are screened and
// labelled under: btc for Bitcoin mainnet, eth for the EVM stores
// (eth-sim included), none for test networks, whose addresses the
// screening namespace does not take.
func screenChain(store string) string {
	switch {
	case store == "btc":
		return "btc"
	case store == "eth" || strings.HasPrefix(store, "eth-"):
		return "eth"
	}
	return ""
}

// result is one worker's tally.
type result struct {
	ok, errs  int
	latencies []time.Duration
	firstErr  string
}

func run(ctx context.Context, base, key string, rate float64, duration time.Duration, workers int) error {
	tr := &http.Transport{
		MaxIdleConns: workers, MaxIdleConnsPerHost: workers, MaxConnsPerHost: workers,
		DialContext: (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
	}
	c := &client{http: &http.Client{Transport: tr, Timeout: 10 * time.Second}, base: base, key: key}
	paths, err := discover(ctx, c)
	if err != nil {
		return err
	}
	fmt.Printf("driving %d distinct paths with %d workers at %.0f req/s for %s\n", len(paths), workers, rate, duration)
	start := time.Now().Add(100 * time.Millisecond)
	end := start.Add(duration)
	var seq atomic.Int64
	results := make([]result, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			res := &results[w]
			for {
				n := seq.Add(1) - 1
				due := time.Now()
				if rate > 0 {
					due = start.Add(time.Duration(float64(n) / rate * float64(time.Second)))
					if d := time.Until(due); d > 0 {
						time.Sleep(d)
					}
				}
				if !due.Before(end) {
					return
				}
				status, _, err := c.get(ctx, paths[n%int64(len(paths))])
				lat := time.Since(due)
				switch {
				case err != nil:
					res.errs++
					if res.firstErr == "" {
						res.firstErr = err.Error()
					}
				case status != http.StatusOK:
					res.errs++
					if res.firstErr == "" {
						res.firstErr = "status " + strconv.Itoa(status) + " on " + paths[n%int64(len(paths))]
					}
				default:
					res.ok++
				}
				res.latencies = append(res.latencies, lat)
			}
		})
	}
	wg.Wait()
	elapsed := min(time.Since(start), duration)
	var all []time.Duration
	total := result{}
	for _, r := range results {
		total.ok += r.ok
		total.errs += r.errs
		if total.firstErr == "" {
			total.firstErr = r.firstErr
		}
		all = append(all, r.latencies...)
	}
	slices.Sort(all)
	pct := func(p float64) time.Duration {
		if len(all) == 0 {
			return 0
		}
		return all[min(len(all)-1, int(p*float64(len(all))))]
	}
	n := total.ok + total.errs
	fmt.Printf("requests %d in %s: %.0f req/s achieved (target %.0f), errors %d\n", n, elapsed.Round(time.Millisecond), float64(n)/elapsed.Seconds(), rate, total.errs)
	fmt.Printf("latency p50 %s, p90 %s, p99 %s, max %s\n", pct(0.50), pct(0.90), pct(0.99), pct(1))
	if total.errs > 0 {
		fmt.Printf("first error: %s\n", total.firstErr)
		return fmt.Errorf("%d errors", total.errs)
	}
	return nil
}
