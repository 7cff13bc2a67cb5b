// Package webtest drives chaintrace's web interface in headless
// Chromium (Debian's /usr/bin/chromium, through chromedp) for the
// end-to-end tests: the incident dashboard, an incident, the
// investigation graph expanded twice, and a screening, with a screenshot
// after each step; console errors and uncaught exceptions fail the test.
package webtest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// browserPath is Debian's Chromium.
const browserPath = "/usr/bin/chromium"

// browserErrors collects the page's console errors and uncaught
// exceptions.
type browserErrors struct {
	mu   sync.Mutex
	list []string
	// stop ends the step under way, so that an error fails it at once
	// instead of after its timeout.
	stop context.CancelFunc
}

func (b *browserErrors) add(s string) {
	b.mu.Lock()
	b.list = append(b.list, s)
	stop := b.stop
	b.mu.Unlock()
	if stop != nil {
		stop()
	}
}

func (b *browserErrors) setStop(f context.CancelFunc) {
	b.mu.Lock()
	b.stop = f
	b.mu.Unlock()
}

func (b *browserErrors) all() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.list...)
}

// listenBrowser records console errors, uncaught exceptions and the
// browser's own error log entries (CSP violations and the like; failed
// requests are the pages' business, which show them).
func listenBrowser(ctx context.Context, errs *browserErrors, t *testing.T) {
	if err := chromedp.Listen(ctx, func(ev any) {
		switch e := ev.(type) {
		case *runtime.EventConsoleAPICalled:
			var parts []string
			for _, a := range e.Args {
				if len(a.Value) > 0 {
					parts = append(parts, string(a.Value))
				} else {
					parts = append(parts, a.Description)
				}
			}
			msg := fmt.Sprintf("console.%s: %s", e.Type, strings.Join(parts, " "))
			// Other console output is the page's business; the
			// listener must not log through t, which may have ended.
			if e.Type == runtime.ConsoleAPICalledTypeError || e.Type == runtime.ConsoleAPICalledTypeAssert {
				errs.add(msg)
			}
		case *runtime.EventExceptionThrown:
			d := e.ExceptionDetails
			msg := d.Text
			if d.Exception != nil {
				msg += " " + d.Exception.Description
			}
			errs.add(fmt.Sprintf("uncaught exception at %s:%d: %s", d.URL, d.LineNumber, msg))
		case *log.EventEntryAdded:
			if e.Entry.Level == log.EntryLevelError && e.Entry.Source != log.EntrySourceNetwork {
				errs.add(fmt.Sprintf("browser log (%s): %s %s", e.Entry.Source, e.Entry.Text, e.Entry.URL))
			}
		}
	}); err != nil {
		t.Fatalf("starting the browser: %v", err)
	}
}

// ArtefactDir is where the screenshots go: $CHAINTRACE_ARTIFACTS when
// set, else the test's temporary directory.
func ArtefactDir(t *testing.T) string {
	if d := os.Getenv("CHAINTRACE_ARTIFACTS"); d != "" {
		dir := filepath.Join(d, "web")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	return t.TempDir()
}

// NeedBrowser skips without Chromium, except on CI, where its absence
// fails the test.
func NeedBrowser(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath(browserPath); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("the browser tests need %s (Debian's chromium package): %v", browserPath, err)
		}
		t.Skipf("skipping the browser test: %s not found (apt-get install chromium)", browserPath)
	}
}

// Config says where the scenario starts the graph, what it screens, and
// the API key it saves a case with.
type Config struct {
	// Chain and Address start the graph.
	Chain, Address string
	// Screen are the lines pasted into the screening form ("address" or
	// "chain,address"), one result row each.
	Screen []string
	// APIKey, when set, is entered in the settings dialog (before the
	// incident) and used to trace the incident and to save the expanded
	// graph as a case, which the scenario reopens from the cases page.
	APIKey string
	// Incident, when set, is the incident the scenario opens from the
	// dashboard; with APIKey it traces the funds and waits for the flow
	// diagram and its tables. Empty opens the newest one, untraced.
	Incident string
	// NewAlert, when set, is called once the alerts page follows the
	// live stream; it makes the server journal an alert of 1.5 BTC and
	// returns its id, which the page must then show with its amount.
	NewAlert func() string
}

// Scenario drives the web interface at base: the incident dashboard,
// an incident, the graph expanded twice (by keyboard) and exported as
// PNG, a case saved and reopened (with c.APIKey), and a screening, with
// a screenshot after each step; then, with c.NewAlert, an alert arriving
// on the alerts page's live stream.
func Scenario(t *testing.T, base string, c Config) {
	chain, address, screenAddrs := c.Chain, c.Address, c.Screen
	NeedBrowser(t)
	dir := ArtefactDir(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(browserPath),
		chromedp.NoSandbox,
		chromedp.WindowSize(1366, 860),
		chromedp.Flag("disable-dev-shm-usage", true),
	)
	actx, acancel := chromedp.NewExecAllocator(ctx, opts...)
	defer acancel()
	bctx, bcancel := chromedp.NewContext(actx)
	defer bcancel()
	errs := &browserErrors{}
	listenBrowser(bctx, errs, t)
	shot := func(name string) chromedp.Action[chromedp.Void] {
		return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			buf, err := chromedp.CaptureScreenshot()(ctx, tg)
			if err != nil {
				return err
			}
			p := filepath.Join(dir, name+".png")
			t.Logf("screenshot %s", p)
			return os.WriteFile(p, buf, 0o644)
		})
	}
	step := func(name string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		sctx, scancel := context.WithTimeout(bctx, 25*time.Second)
		defer scancel()
		errs.setStop(scancel)
		defer errs.setStop(nil)
		if err := chromedp.Do(sctx, actions...); err != nil {
			html, _ := chromedp.Run(bctx, chromedp.OuterHTML(chromedp.CSS("#view")))
			_ = chromedp.Do(bctx, shot(name+"-failed"))
			t.Fatalf("%s: %v\npage:\n%.3000s\nbrowser errors: %q", name, err, html, errs.all())
		}
		if e := errs.all(); len(e) > 0 {
			_ = chromedp.Do(bctx, shot(name+"-errors"))
			t.Fatalf("%s: browser errors: %q", name, e)
		}
	}
	eval := func(expr string, dst *int) chromedp.Action[chromedp.Void] {
		return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			v, err := chromedp.Evaluate[int](expr)(ctx, tg)
			*dst = v
			return err
		})
	}
	// waitNodes polls until the graph, done loading, shows more than n
	// nodes.
	waitNodes := func(n int, got *int) chromedp.Action[chromedp.Void] {
		return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			v, err := chromedp.Poll[int](fmt.Sprintf(`(() => { const b = document.getElementById('graphbox'); const k = b ? +(b.dataset.nodes || 0) : 0; return b && b.getAttribute('aria-busy') !== 'true' && k > %d ? k : 0; })()`, n),
				chromedp.WithPollingTimeout(20*time.Second), chromedp.WithPollingInterval(100*time.Millisecond))(ctx, tg)
			*got = v
			return err
		})
	}
	const nodesJS = `+(document.getElementById('graphbox').dataset.nodes || 0)`

	step("01-dashboard",
		chromedp.Navigate(base+"/#/incidents"),
		chromedp.WaitVisible(chromedp.CSS(`table.incidents tbody tr`)),
		chromedp.WaitVisible(chromedp.CSS(`.chart svg rect`)),
		shot("01-dashboard"))

	if c.APIKey != "" {
		step("01b-api-key",
			chromedp.Click(chromedp.CSS(`#settings-btn`)),
			chromedp.WaitVisible(chromedp.CSS(`#settings input[name=key]`)),
			chromedp.SetValue(chromedp.CSS(`#settings input[name=key]`), c.APIKey),
			chromedp.Click(chromedp.CSS(`#settings button[value=save]`)),
			chromedp.WaitNotVisible(chromedp.CSS(`#settings`)))
	}
	link := `table.incidents tbody tr a`
	if c.Incident != "" {
		link = `table.incidents tbody tr a[href="#/incident/` + c.Incident + `"]`
	}
	step("02-incident",
		chromedp.Click(chromedp.CSS(link)),
		chromedp.WaitVisible(chromedp.CSS(`#incident-facts dl`)),
		chromedp.WaitVisible(chromedp.CSS(`#incident-trace`)),
		shot("02-incident"))
	if c.Incident != "" && c.APIKey != "" {
		step("02b-incident-traced",
			chromedp.Click(chromedp.CSS(`#incident-trace button.trace-start`)),
			chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
				got, err := chromedp.Poll[string](`document.querySelector('#incident-trace .flow svg rect') ? 'flow' : (document.querySelector('#incident-trace .error') ? 'error: ' + document.querySelector('#incident-trace .error').textContent : '')`,
					chromedp.WithPollingTimeout(20*time.Second))(ctx, tg)
				if err == nil && got != "flow" {
					err = fmt.Errorf("tracing the incident: %s", got)
				}
				return err
			}),
			chromedp.WaitVisible(chromedp.CSS(`#incident-trace table.endpoints, #incident-trace table.holdings`)),
			chromedp.ScrollIntoView(chromedp.CSS(`#incident-trace`)),
			shot("02b-incident-traced"))
	}

	var before, after1, after2 int
	step("03-graph",
		chromedp.Navigate(base+"/#/graph?start=address:"+chain+":"+address),
		chromedp.WaitVisible(chromedp.CSS(`#graphbox svg .gnode`)),
		eval(nodesJS, &before),
		shot("03-graph"))
	step("04-graph-expanded",
		// Keyboard: the starting node has the focus; Enter expands
		// its outgoing side.
		chromedp.Focus(chromedp.CSS(`#graphbox svg`)),
		chromedp.KeyEvent("\r"),
		waitNodes(before, &after1),
		chromedp.Sleep(300*time.Millisecond),
		shot("04-graph-expanded"))
	// expandAnother moves the focus with Tab to a node other than the
	// start and presses Enter, until an expansion adds nodes (a node
	// may have no counterparty the graph lacks).
	expandAnother := chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		startID := chain + ":" + address
		// Escape clears the focus, so that Tab starts from the first
		// node (Tab past the last one leaves the graph).
		if _, err := chromedp.Steps(chromedp.Focus(chromedp.CSS(`#graphbox svg`)), chromedp.KeyEvent(kb.Escape))(ctx, tg); err != nil {
			return err
		}
		for range 10 {
			if _, err := chromedp.Steps(chromedp.Focus(chromedp.CSS(`#graphbox svg`)), chromedp.KeyEvent("\t"))(ctx, tg); err != nil {
				return err
			}
			focus, err := chromedp.Evaluate[string](`document.getElementById('graphbox').dataset.focus || ''`)(ctx, tg)
			if err != nil {
				return err
			}
			if focus == "" || focus == startID {
				continue
			}
			if _, err := chromedp.KeyEvent("\r")(ctx, tg); err != nil {
				return err
			}
			pctx, pcancel := context.WithTimeout(ctx, 5*time.Second)
			_, err = waitNodes(after1, &after2)(pctx, tg)
			pcancel()
			if err == nil {
				return nil
			}
			if ctx.Err() != nil {
				return ctx.Err()
			}
		}
		return fmt.Errorf("no node's expansion added nodes to the %d shown", after1)
	})
	step("05-graph-expanded-twice",
		// Tab to another node and expand it too.
		expandAnother,
		chromedp.Sleep(500*time.Millisecond),
		shot("05-graph-expanded-twice"),
		// The PNG export draws the SVG through a canvas.
		chromedp.Click(chromedp.CSS(`#export-png`)),
		chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			_, err := chromedp.Poll[string](`document.getElementById('graphbox').dataset.exported || document.querySelector('#view .error') && 'error'`,
				chromedp.WithPollingTimeout(10*time.Second))(ctx, tg)
			return err
		}),
		chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			got, err := chromedp.Evaluate[string](`document.getElementById('graphbox').dataset.exported || document.querySelector('#view .error').textContent`)(ctx, tg)
			if err == nil && !strings.HasPrefix(got, "png:") {
				err = fmt.Errorf("PNG export: %s", got)
			}
			return err
		}))
	t.Logf("graph nodes: %d, then %d, then %d", before, after1, after2)
	if !(before < after1 && after1 < after2) {
		t.Errorf("the graph did not grow with each expansion: %d, %d, %d", before, after1, after2)
	}

	if c.APIKey != "" {
		const sameNodes = `(() => { const b = document.getElementById('graphbox'); return !!b && b.getAttribute('aria-busy') !== 'true' && +(b.dataset.nodes || 0) === %d; })()`
		step("06-case-saved",
			chromedp.SetValue(chromedp.CSS(`#view input[name=name]`), "end-to-end test case"),
			chromedp.Click(chromedp.CSS(`#save-case`)),
			chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
				_, err := chromedp.Poll[string](`location.hash.startsWith('#/graph?case=') ? location.hash : (document.querySelector('#view .error') ? 'error: ' + document.querySelector('#view .error').textContent : '')`,
					chromedp.WithPollingTimeout(10*time.Second))(ctx, tg)
				return err
			}),
			chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
				if e, _ := chromedp.Evaluate[string](`document.querySelector('#view .error') ? document.querySelector('#view .error').textContent : ''`)(ctx, tg); e != "" {
					return fmt.Errorf("saving the case: %s", e)
				}
				return nil
			}),
			shot("06-case-saved"))
		step("07-case-reopened",
			chromedp.Navigate(base+"/#/cases"),
			chromedp.WaitVisible(chromedp.CSS(`#view table tbody tr a`)),
			shot("07a-cases"),
			chromedp.Click(chromedp.CSS(`#view table tbody tr a`)),
			chromedp.WaitVisible(chromedp.CSS(`#graphbox svg .gnode`)),
			chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
				_, err := chromedp.Poll[bool](fmt.Sprintf(sameNodes, after2), chromedp.WithPollingTimeout(10*time.Second))(ctx, tg)
				return err
			}),
			shot("07b-case-reopened"))
	}

	var rows int
	step("09-screening",
		chromedp.Navigate(base+"/#/screen"),
		chromedp.WaitVisible(chromedp.CSS(`#screen-input`)),
		chromedp.SetValue(chromedp.CSS(`#screen-input`), strings.Join(screenAddrs, "\n")),
		chromedp.Click(chromedp.CSS(`#screen-run`)),
		chromedp.WaitVisible(chromedp.CSS(`table.screen-results tbody tr`)),
		eval(`document.querySelectorAll('table.screen-results tbody tr').length`, &rows),
		shot("09-screening"))
	if rows != len(screenAddrs) {
		t.Errorf("screening shows %d rows for %d addresses", rows, len(screenAddrs))
	}

	if c.NewAlert != nil {
		step("10-alerts-live",
			chromedp.Navigate(base+"/#/alerts"),
			chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
				_, err := chromedp.Poll[bool](`(document.querySelector('#view p[role=status]') || {}).textContent === 'Live: new alerts appear at the top.'`,
					chromedp.WithPollingTimeout(15*time.Second))(ctx, tg)
				return err
			}),
			chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
				id := c.NewAlert()
				// 150,000,000 satoshi must read as 1.5 BTC.
				_, err := chromedp.Poll[bool](fmt.Sprintf(`[...document.querySelectorAll('#view table tbody tr')].some((tr) => tr.textContent.includes(%q) && tr.textContent.includes('1.5 BTC'))`, id),
					chromedp.WithPollingTimeout(15*time.Second))(ctx, tg)
				return err
			}),
			shot("10-alerts-live"))
	}
}
