// Package progress shows the progress of long work: a live bar with rates
// and ETA when stderr is a terminal, and periodic structured log lines
// otherwise (CI, pipes, services).
package progress

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// Reporter renders a counter moving towards a total. It is not safe for
// concurrent use; call it from the goroutine doing the work.
type Reporter struct {
	what     string
	unit     string
	bar      *progressbar.ProgressBar
	log      *slog.Logger
	every    time.Duration
	lastLog  time.Time
	start    time.Time
	total    int64
	lastDone int64
}

// New returns a Reporter for work measured in unit (e.g. "blocks"). It
// draws a bar on w when w is a terminal and logs through log otherwise; a
// nil log disables the log lines.
func New(w io.Writer, log *slog.Logger, what, unit string, total int64) *Reporter {
	r := &Reporter{what: what, unit: unit, log: log, every: 5 * time.Second, start: time.Now(), total: total}
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		r.bar = progressbar.NewOptions64(total,
			progressbar.OptionSetWriter(w),
			progressbar.OptionSetDescription(what),
			progressbar.OptionShowCount(),
			progressbar.OptionShowIts(),
			progressbar.OptionSetItsString(unit),
			progressbar.OptionSetPredictTime(true),
			progressbar.OptionThrottle(200*time.Millisecond),
			progressbar.OptionClearOnFinish(),
		)
	}
	return r
}

// Update sets the total and the amount done, with extra key/value pairs
// for the log line (e.g. "txs", 1200, "tx_per_s", 5300.0).
func (r *Reporter) Update(done, total int64, extra ...any) {
	if total != r.total {
		r.total = total
		if r.bar != nil {
			r.bar.ChangeMax64(total)
		}
	}
	r.lastDone = done
	if r.bar != nil {
		if len(extra) >= 2 {
			r.bar.Describe(fmt.Sprintf("%s %v=%v", r.what, extra[0], extra[1]))
		}
		_ = r.bar.Set64(done)
		return
	}
	if r.log == nil || time.Since(r.lastLog) < r.every {
		return
	}
	r.lastLog = time.Now()
	args := []any{"done", done, "total", total, "unit", r.unit}
	el := time.Since(r.start).Seconds()
	if el > 0 {
		rate := float64(done) / el
		args = append(args, "per_s", int64(rate))
		if rate > 0 && total > done {
			args = append(args, "eta", time.Duration(float64(total-done)/rate*float64(time.Second)).Round(time.Second).String())
		}
	}
	r.log.Info(r.what, append(args, extra...)...)
}

// Finish clears the bar.
func (r *Reporter) Finish() {
	if r.bar != nil {
		_ = r.bar.Finish()
	}
}
