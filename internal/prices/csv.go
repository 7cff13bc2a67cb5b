package prices

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
	"time"
)

// CSV layouts ReadCSV recognises.
const (
	FormatYahoo   = "yahoo"
	FormatCandles = "candles"
)

// layout is where a CSV layout keeps the day and the close.
type layout struct {
	name   string
	header []string
	day    int
	close  int
}

var layouts = []layout{
	{FormatYahoo, []string{"date", "open", "high", "low", "close", "adj close", "volume"}, 0, 4},
	{FormatCandles, []string{"timestamp", "open", "close", "volume", "unix_timestamp", "high", "low"}, 0, 2},
}

// Rows are the daily closes read from one file, in day order, without
// the source (Import sets it).
type Rows struct {
	Format  string
	Days    []Day
	Skipped int
}

// ReadCSV reads a daily price file in one of the known layouts, detected
// from its header. Errors name the file and line.
func ReadCSV(ctx context.Context, file string) (Rows, error) {
	f, err := os.Open(file)
	if err != nil {
		return Rows{}, fmt.Errorf("prices: %w", err)
	}
	defer f.Close()
	return parseCSV(ctx, file, f)
}

func parseCSV(ctx context.Context, file string, r io.Reader) (Rows, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	lineErr := func(line int, format string, args ...any) error {
		return fmt.Errorf("prices: %s:%d: %s", file, line, fmt.Sprintf(format, args...))
	}
	head, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return Rows{}, lineErr(1, "empty file")
	}
	if err != nil {
		return Rows{}, fmt.Errorf("prices: %s: %w", file, err)
	}
	var lay *layout
	for i := range layouts {
		if sameHeader(head, layouts[i].header) {
			lay = &layouts[i]
		}
	}
	if lay == nil {
		return Rows{}, lineErr(1, "unknown header %q: want Yahoo (%s) or candles (%s)", strings.Join(head, ","),
			strings.Join(layouts[0].header, ","), strings.Join(layouts[1].header, ","))
	}
	out := Rows{Format: lay.name}
	seen := map[string]int{}
	for {
		if err := ctx.Err(); err != nil {
			return Rows{}, err
		}
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		line, _ := cr.FieldPos(0)
		if err != nil {
			return Rows{}, fmt.Errorf("prices: %s: %w", file, err)
		}
		if len(rec) != len(lay.header) {
			return Rows{}, lineErr(line, "%d fields, want %d", len(rec), len(lay.header))
		}
		if allNull(rec[1:]) {
			out.Skipped++
			continue
		}
		day, err := parseDay(rec[lay.day])
		if err != nil {
			return Rows{}, lineErr(line, "%v", err)
		}
		if prev, dup := seen[day]; dup {
			return Rows{}, lineErr(line, "day %s repeats line %d", day, prev)
		}
		seen[day] = line
		c, err := strconv.ParseFloat(strings.TrimSpace(rec[lay.close]), 64)
		if err != nil || math.IsNaN(c) || math.IsInf(c, 0) || c <= 0 {
			return Rows{}, lineErr(line, "close %q is not a positive number", rec[lay.close])
		}
		if n := len(out.Days); n > 0 && out.Days[n-1].Day >= day {
			return Rows{}, lineErr(line, "day %s is not after %s: rows must be in day order", day, out.Days[n-1].Day)
		}
		out.Days = append(out.Days, Day{Day: day, Close: c})
	}
	if err := checkDaily(file, out.Days); err != nil {
		return Rows{}, err
	}
	return out, nil
}

func sameHeader(got, want []string) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		g := strings.ToLower(strings.TrimSpace(strings.TrimPrefix(got[i], "\ufeff")))
		if g != want[i] {
			return false
		}
	}
	return true
}

func allNull(fields []string) bool {
	for _, f := range fields {
		if !strings.EqualFold(strings.TrimSpace(f), "null") && strings.TrimSpace(f) != "" {
			return false
		}
	}
	return true
}

// parseDay accepts "2017-12-17" and "2017-12-17 00:00:00" (a candle's
// opening time, which must be midnight UTC for a daily candle).
func parseDay(s string) (string, error) {
	s = strings.TrimSpace(s)
	if t, err := time.Parse(dayLayout, s); err == nil {
		return t.Format(dayLayout), nil
	}
	t, err := time.Parse("2006-01-02 15:04:05", s)
	if err != nil {
		return "", fmt.Errorf("date %q: want YYYY-MM-DD or YYYY-MM-DD HH:MM:SS", s)
	}
	if t.Hour() != 0 || t.Minute() != 0 || t.Second() != 0 {
		return "", fmt.Errorf("date %q: a daily candle opens at midnight", s)
	}
	return t.Format(dayLayout), nil
}

// checkDaily rejects files that are not daily (weekly candles, say): at
// least half of the steps between consecutive rows must be one day.
func checkDaily(file string, days []Day) error {
	if len(days) < 3 {
		return nil
	}
	one := 0
	for i := 1; i < len(days); i++ {
		a, _ := time.Parse(dayLayout, days[i-1].Day)
		b, _ := time.Parse(dayLayout, days[i].Day)
		if b.Sub(a) == 24*time.Hour {
			one++
		}
	}
	if one*2 < len(days)-1 {
		return fmt.Errorf("prices: %s: not daily prices (only %d of %d steps are one day)", file, one, len(days)-1)
	}
	return nil
}
