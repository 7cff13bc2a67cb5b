// Package prices keeps daily USD price history per asset, imported from
// CSV files, and answers "what was an asset's closing price on a day"
// for valuing incidents and traces.
//
// # Store
//
// The store is a directory (<data>/prices) holding one JSON-lines file per
// asset, <ASSET>.jsonl, one line per day in day order:
//
//	{"day":"2017-12-17","close":19140.800781,"source":"BTC-USD_yahoo.csv"}
//
// Source is the base name of the CSV file the day came from, so that a
// valuation can say where its price comes from. A file is rewritten as a
// whole through a temporary file and a rename, so a crash leaves either
// the old or the new version. Plain text was chosen over a Pebble
// database because the data is small (a few thousand days per asset),
// written rarely, and worth reading with ordinary tools.
//
// # Import
//
// Two CSV layouts are recognised by their header: Yahoo Finance
// (Date,Open,High,Low,Close,Adj Close,Volume) and candles
// (timestamp,open,close,volume,unix_timestamp,high,low). Rows whose values
// are all "null" (days Yahoo has no data for) are skipped and counted; any
// other unusable row is an error naming the file and line, and nothing is
// written. An import replaces the days the file covers and keeps the
// others, so importing the same file again changes nothing.
package prices

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/chaintrace/chaintrace/internal/atomicfile"
)

// MaxGapDays is how many days before the requested day Lookup may go for
// a price when the day itself is missing.
const MaxGapDays = 3

// dayLayout is the format of days in the store and in the API.
const dayLayout = "2006-01-02"

// Day is one asset's closing price on one day.
type Day struct {
	Day    string  `json:"day"`
	Close  float64 `json:"close"`
	Source string  `json:"source"`
}

// Quote is the answer to a price look-up.
type Quote struct {
	Asset string `json:"asset"`
	// Requested is the day asked for; Day is the day the price is of.
	// They differ when the requested day is missing and an earlier day
	// within MaxGapDays was used.
	Requested string  `json:"requested"`
	Day       string  `json:"day"`
	Close     float64 `json:"close"`
	Source    string  `json:"source"`
	// Exact is false when Day is earlier than Requested.
	Exact bool `json:"exact"`
}

// Describe says in words where the price comes from, including the
// fallback day when the requested one was missing.
func (q Quote) Describe() string {
	s := fmt.Sprintf("%s close on %s from %s", q.Asset, q.Day, q.Source)
	if !q.Exact {
		s += fmt.Sprintf(" (no price on %s; nearest earlier day used)", q.Requested)
	}
	return s
}

// Store is the price history under one directory. It is safe for
// concurrent use within one process.
type Store struct {
	dir   string
	mu    sync.Mutex
	cache map[string][]Day
}

// Open returns the store in dir, creating the directory.
func Open(ctx context.Context, dir string) (*Store, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("prices: %w", err)
	}
	return &Store{dir: dir, cache: map[string][]Day{}}, nil
}

// Dir returns the store's directory.
func (s *Store) Dir() string { return s.dir }

var assetRe = regexp.MustCompile(`^[A-Z0-9]{2,12}$`)

// NormalizeAsset upper-cases an asset symbol and checks that it can name
// a file.
func NormalizeAsset(asset string) (string, error) {
	a := strings.ToUpper(strings.TrimSpace(asset))
	if !assetRe.MatchString(a) {
		return "", fmt.Errorf("prices: asset %q: want 2 to 12 letters or digits", asset)
	}
	return a, nil
}

// fileAssetRe finds the asset at the start of a price file's name:
// "BTC-USD_yahoo...", "BTCUSD_1d_candles...".
var fileAssetRe = regexp.MustCompile(`^([A-Za-z0-9]{2,12}?)[-_]?USD`)

// AssetFromFileName guesses the asset from a file name such as
// "BTC-USD_yahoo.csv" or "ETHUSD_1d_candles.csv".
func AssetFromFileName(file string) (string, bool) {
	m := fileAssetRe.FindStringSubmatch(filepath.Base(file))
	if m == nil {
		return "", false
	}
	a, err := NormalizeAsset(m[1])
	return a, err == nil
}

func (s *Store) path(asset string) string { return filepath.Join(s.dir, asset+".jsonl") }

// Days returns an asset's stored days in day order. The slice must not be
// modified.
func (s *Store) Days(ctx context.Context, asset string) ([]Day, error) {
	asset, err := NormalizeAsset(asset)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.load(ctx, asset)
}

// Assets lists the assets with stored prices.
func (s *Store) Assets(ctx context.Context) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	files, err := filepath.Glob(filepath.Join(s.dir, "*.jsonl"))
	if err != nil {
		return nil, fmt.Errorf("prices: %w", err)
	}
	var out []string
	for _, f := range files {
		out = append(out, strings.TrimSuffix(filepath.Base(f), ".jsonl"))
	}
	sort.Strings(out)
	return out, nil
}

// load reads an asset's file into the cache; s.mu is held.
func (s *Store) load(ctx context.Context, asset string) ([]Day, error) {
	if days, ok := s.cache[asset]; ok {
		return days, nil
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	f, err := os.Open(s.path(asset))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("prices: %w", err)
	}
	defer f.Close()
	var days []Day
	sc := bufio.NewScanner(f)
	for line := 1; sc.Scan(); line++ {
		var d Day
		if err := json.Unmarshal(sc.Bytes(), &d); err != nil {
			return nil, fmt.Errorf("prices: %s:%d: %w", s.path(asset), line, err)
		}
		days = append(days, d)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("prices: %s: %w", s.path(asset), err)
	}
	s.cache[asset] = days
	return days, nil
}

// ImportResult says what an import did.
type ImportResult struct {
	File    string `json:"file"`
	Asset   string `json:"asset"`
	Format  string `json:"format"`
	Rows    int    `json:"rows"`    // days read from the file
	Skipped int    `json:"skipped"` // rows with no data ("null")
	Added   int    `json:"added"`   // days the store did not have
	Changed int    `json:"changed"` // days whose close or source changed
	First   string `json:"first"`
	Last    string `json:"last"`
}

// Import reads the CSV file's daily closes of asset (empty: from the file
// name) and merges them into the store. A bad row fails the whole import
// with an error naming file and line; nothing is written then.
func (s *Store) Import(ctx context.Context, file, asset string) (ImportResult, error) {
	res := ImportResult{File: file}
	if asset == "" {
		a, ok := AssetFromFileName(file)
		if !ok {
			return res, fmt.Errorf("prices: %s: cannot tell the asset from the file name: give it (--asset)", file)
		}
		asset = a
	}
	asset, err := NormalizeAsset(asset)
	if err != nil {
		return res, err
	}
	res.Asset = asset
	rows, err := ReadCSV(ctx, file)
	if err != nil {
		return res, err
	}
	res.Format, res.Rows, res.Skipped = rows.Format, len(rows.Days), rows.Skipped
	if len(rows.Days) > 0 {
		res.First, res.Last = rows.Days[0].Day, rows.Days[len(rows.Days)-1].Day
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	old, err := s.load(ctx, asset)
	if err != nil {
		return res, err
	}
	merged := make(map[string]Day, len(old)+len(rows.Days))
	for _, d := range old {
		merged[d.Day] = d
	}
	src := filepath.Base(file)
	for _, d := range rows.Days {
		d.Source = src
		prev, ok := merged[d.Day]
		switch {
		case !ok:
			res.Added++
		case prev != d:
			res.Changed++
		}
		merged[d.Day] = d
	}
	if res.Added == 0 && res.Changed == 0 {
		return res, nil
	}
	days := make([]Day, 0, len(merged))
	for _, d := range merged {
		days = append(days, d)
	}
	sort.Slice(days, func(i, j int) bool { return days[i].Day < days[j].Day })
	if err := writeAtomic(s.path(asset), days); err != nil {
		return res, err
	}
	s.cache[asset] = days
	return res, nil
}

// writeAtomic replaces path with days as JSON lines.
func writeAtomic(path string, days []Day) error {
	err := atomicfile.Write(path, 0o600, func(f *os.File) error {
		w := bufio.NewWriter(f)
		enc := json.NewEncoder(w)
		for _, d := range days {
			if err := enc.Encode(d); err != nil {
				return err
			}
		}
		return w.Flush()
	})
	if err != nil {
		return fmt.Errorf("prices: %w", err)
	}
	return nil
}

// Lookup returns asset's close on day (YYYY-MM-DD), or on the nearest
// earlier day within MaxGapDays when the day is missing (Quote.Exact
// false). ok is false when there is no such price.
func (s *Store) Lookup(ctx context.Context, asset, day string) (Quote, bool, error) {
	want, err := time.Parse(dayLayout, day)
	if err != nil {
		return Quote{}, false, fmt.Errorf("prices: day %q: want YYYY-MM-DD", day)
	}
	days, err := s.Days(ctx, asset)
	if err != nil {
		return Quote{}, false, err
	}
	asset, _ = NormalizeAsset(asset)
	// The first stored day after the requested one; the answer is the
	// one before it.
	i := sort.Search(len(days), func(i int) bool { return days[i].Day > day })
	if i == 0 {
		return Quote{}, false, nil
	}
	d := days[i-1]
	got, err := time.Parse(dayLayout, d.Day)
	if err != nil {
		return Quote{}, false, fmt.Errorf("prices: stored day %q of %s: %w", d.Day, asset, err)
	}
	if want.Sub(got) > MaxGapDays*24*time.Hour {
		return Quote{}, false, nil
	}
	return Quote{Asset: asset, Requested: day, Day: d.Day, Close: d.Close, Source: d.Source, Exact: d.Day == day}, true, nil
}

// Price returns asset's USD close on day, falling back to the nearest
// earlier day within MaxGapDays; ok is false when there is none or the
// look-up failed. Lookup says which day was used and why.
func (s *Store) Price(ctx context.Context, asset, day string) (usd float64, ok bool) {
	q, ok, err := s.Lookup(ctx, asset, day)
	if err != nil || !ok {
		return 0, false
	}
	return q.Close, true
}
