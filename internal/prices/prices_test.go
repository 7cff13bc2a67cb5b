package prices

import (
	"context"
	"encoding/csv"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// sharedPrices is the shared price data, relative to this package.
var sharedPrices = filepath.Join("..", "..", "..", "shared", "data", "prices")

func sharedFile(t *testing.T, name string) string {
	t.Helper()
	p := filepath.Join(sharedPrices, name)
	if _, err := os.Stat(p); err != nil {
		t.Skipf("shared data absent (%v): this test needs ../shared/data/prices", err)
	}
	return p
}

// closeInFile reads the close of day from a Yahoo or candles file with
// encoding/csv alone, independently of the package's parser.
func closeInFile(t *testing.T, file, day string, closeCol int) float64 {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows[1:] {
		if strings.HasPrefix(r[0], day) {
			v, err := strconv.ParseFloat(r[closeCol], 64)
			if err != nil {
				t.Fatal(err)
			}
			return v
		}
	}
	t.Fatalf("%s not in %s", day, file)
	return 0
}

// TestImportShared imports the shared Yahoo and candle files and checks
// closes against the files read independently, the fallback to an
// earlier day, and that re-importing changes nothing.
func TestImportShared(t *testing.T) {
	ctx := context.Background()
	yahoo := sharedFile(t, "BTC-USD_yahoo_garve_2014-09-17_to_2021-11-24.csv")
	candles := sharedFile(t, "BTCUSD_1d_candles_full_mathaszip.csv")
	eth := sharedFile(t, "ETH-USD_yahoo_garve_2015-08-07_to_2021-11-24.csv")
	s, err := Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	res, err := s.Import(ctx, yahoo, "")
	if err != nil {
		t.Fatal(err)
	}
	if res.Asset != "BTC" || res.Format != FormatYahoo || res.Skipped != 4 || res.Added != res.Rows || res.First != "2014-09-17" {
		t.Fatalf("import result %+v", res)
	}
	want := closeInFile(t, yahoo, "2017-12-17", 4)
	got, ok := s.Price(ctx, "BTC", "2017-12-17")
	if !ok || got != want {
		t.Fatalf("BTC 2017-12-17: got %v %v, want %v", got, ok, want)
	}
	again, err := s.Import(ctx, yahoo, "btc")
	if err != nil || again.Added != 0 || again.Changed != 0 {
		t.Fatalf("re-import: %+v %v", again, err)
	}
	// Yahoo has no data for 2020-04-17: the 16th is used and said so.
	q, ok, err := s.Lookup(ctx, "BTC", "2020-04-17")
	if err != nil || !ok || q.Exact || q.Day != "2020-04-16" || !strings.Contains(q.Describe(), "nearest earlier day") {
		t.Fatalf("fallback: %+v %v %v", q, ok, err)
	}
	if _, ok := s.Price(ctx, "BTC", "2014-09-01"); ok {
		t.Fatal("a day before the history has a price")
	}

	// The candles file takes over the days it covers, with its source.
	res, err = s.Import(ctx, candles, "")
	if err != nil {
		t.Fatal(err)
	}
	if res.Format != FormatCandles || res.Asset != "BTC" || res.Added == 0 {
		t.Fatalf("candles import %+v", res)
	}
	q, ok, err = s.Lookup(ctx, "BTC", "2024-05-31")
	if err != nil || !ok || q.Close != closeInFile(t, candles, "2024-05-31", 2) || q.Source != filepath.Base(candles) {
		t.Fatalf("candles 2024-05-31: %+v %v %v", q, ok, err)
	}
	if _, err := s.Import(ctx, eth, ""); err != nil {
		t.Fatal(err)
	}
	if got, ok := s.Price(ctx, "ETH", "2021-11-20"); !ok || got != closeInFile(t, eth, "2021-11-20", 4) {
		t.Fatalf("ETH 2021-11-20: %v %v", got, ok)
	}
	// A fresh store on the same directory reads what was written.
	s2, err := Open(ctx, s.Dir())
	if err != nil {
		t.Fatal(err)
	}
	if got, ok := s2.Price(ctx, "btc", "2017-12-17"); !ok || got != closeInFile(t, candles, "2017-12-17", 2) {
		t.Fatalf("reopened store: %v %v", got, ok)
	}
	assets, err := s2.Assets(ctx)
	if err != nil || strings.Join(assets, ",") != "BTC,ETH" {
		t.Fatalf("assets %v %v", assets, err)
	}
}

// TestImportWeeklyRejected checks that weekly candles are not taken for
// daily prices.
func TestImportWeeklyRejected(t *testing.T) {
	weekly := sharedFile(t, "BTCUSD_1w_candles_full_mathaszip.csv")
	s, err := Open(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Import(context.Background(), weekly, ""); err == nil || !strings.Contains(err.Error(), "not daily") {
		t.Fatalf("weekly file: %v", err)
	}
}

// TestBadRows checks that unusable rows are errors naming file and line
// and that nothing is written then.
func TestBadRows(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	cases := map[string]struct{ body, want string }{
		"bad-close": {"Date,Open,High,Low,Close,Adj Close,Volume\n2020-01-01,1,1,1,1,1,1\n2020-01-02,1,1,1,abc,1,1\n", ":3: close \"abc\""},
		"bad-date":  {"timestamp,open,close,volume,unix_timestamp,high,low\n2020-01-01 00:00:00,1,2,3,4,5,6\n2020/01/02,1,2,3,4,5,6\n", ":3: date"},
		"repeat":    {"Date,Open,High,Low,Close,Adj Close,Volume\n2020-01-01,1,1,1,1,1,1\n2020-01-01,1,1,1,1,1,1\n", ":3: day 2020-01-01 repeats line 2"},
		"header":    {"day,price\n2020-01-01,1\n", ":1: unknown header"},
		"fields":    {"Date,Open,High,Low,Close,Adj Close,Volume\n2020-01-01,1,1\n", ":2: 3 fields"},
	}
	s, err := Open(ctx, filepath.Join(dir, "store"))
	if err != nil {
		t.Fatal(err)
	}
	for name, c := range cases {
		file := filepath.Join(dir, "BTC-USD-"+name+".csv")
		if err := os.WriteFile(file, []byte(c.body), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := s.Import(ctx, file, "")
		if err == nil || !strings.Contains(err.Error(), file+c.want) || !strings.HasPrefix(err.Error(), "prices: ") {
			t.Errorf("%s: got %v, want %q", name, err, file+c.want)
		}
	}
	if days, err := s.Days(ctx, "BTC"); err != nil || len(days) != 0 {
		t.Fatalf("a failed import wrote %d days (%v)", len(days), err)
	}
	if _, ok := AssetFromFileName("prices.csv"); ok {
		t.Fatal("asset guessed from a name without one")
	}
	if a, ok := AssetFromFileName("/x/ETHUSD_1d_candles.csv"); !ok || a != "ETH" {
		t.Fatalf("ETHUSD: %q %v", a, ok)
	}
}
