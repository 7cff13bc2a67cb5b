package report

import (
	"bytes"
	"context"
	"image/png"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chaintrace/chaintrace/internal/incident"
)

// chromium returns the path of a Chromium binary, or skips the test.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Skip("chromium not installed: this test needs Debian's chromium package (CI installs it; locally: apt-get install chromium)")
	return ""
}

// screenshot opens page in headless Chromium, saves a screenshot next to
// it and returns the screenshot's path and Chromium's stderr.
func screenshot(t *testing.T, bin, page string) (string, string) {
	t.Helper()
	shot := strings.TrimSuffix(page, filepath.Ext(page)) + ".png"
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "--headless=new", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
		"--user-data-dir="+filepath.Join(filepath.Dir(page), "chromium-profile"),
		"--window-size=1280,1800", "--screenshot="+shot, "--enable-logging=stderr", "--v=0", "file://"+page)
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = io.Discard, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium on %s: %v\n%s", page, err, stderr.String())
	}
	return shot, stderr.String()
}

// checkScreenshot decodes the PNG and checks its size and that it is not
// a single colour (a blank page).
func checkScreenshot(t *testing.T, shot string) {
	t.Helper()
	f, err := os.Open(shot)
	if err != nil {
		t.Fatalf("no screenshot: %v", err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("screenshot %s: %v", shot, err)
	}
	b := img.Bounds()
	if b.Dx() < 1000 || b.Dy() < 1000 {
		t.Fatalf("screenshot %s is %dx%d", shot, b.Dx(), b.Dy())
	}
	colours := map[[4]uint32]bool{}
	for y := b.Min.Y; y < b.Max.Y; y += 7 {
		for x := b.Min.X; x < b.Max.X; x += 7 {
			r, g, bl, a := img.At(x, y).RGBA()
			colours[[4]uint32{r, g, bl, a}] = true
		}
	}
	if len(colours) < 8 {
		t.Fatalf("screenshot %s has %d colours: the page looks blank", shot, len(colours))
	}
}

// keepArtifact copies the screenshot to $CHAINTRACE_TEST_ARTIFACTS when
// set, so that CI keeps it, else to chaintrace-report-screenshots in the
// system's temporary directory, and logs where.
func keepArtifact(t *testing.T, shot string) {
	t.Helper()
	dir := os.Getenv("CHAINTRACE_TEST_ARTIFACTS")
	if dir == "" {
		// The test's temporary directory is removed when it ends; keep
		// the screenshot where the logged path stays valid.
		dir = filepath.Join(os.TempDir(), "chaintrace-report-screenshots")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(shot)
	if err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(dir, filepath.Base(shot))
	if err := os.WriteFile(dst, b, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", dst)
}

// TestReportsInChromium renders the incidents report of the shipped
// registry and a case report with a hand-built trace, opens each in
// headless Chromium and checks that the page loads without console
// errors and that its screenshot shows something.
func TestReportsInChromium(t *testing.T) {
	bin := chromium(t)
	ctx := context.Background()
	dir := t.TempDir()
	recs, err := incident.Builtin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	figs, err := incident.LoadPublished(ctx)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := BuildIncidents(ctx, recs, figs, IncidentsOptions{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	fixtureRecs, _ := fixture(t)
	cr, err := BuildCase(ctx, incident.Find(fixtureRecs, "2021-05-alpha-exchange"), sampleTrace(), "", nil, fakePrices{"BTC 2021-05-01": 50000, "ETH 2021-05-01": 3000})
	if err != nil {
		t.Fatal(err)
	}
	pages := map[string]func(io.Writer) error{
		"incidents-report.html": rep.WriteHTML,
		"case-report.html":      func(w io.Writer) error { return cr.Write(w, HTML) },
	}
	for name, write := range pages {
		t.Run(strings.TrimSuffix(name, ".html"), func(t *testing.T) {
			page := filepath.Join(dir, name)
			var b bytes.Buffer
			if err := write(&b); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(page, b.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
			shot, stderr := screenshot(t, bin, page)
			for _, line := range strings.Split(stderr, "\n") {
				if strings.Contains(line, "Uncaught") || strings.Contains(line, "ERROR:CONSOLE") {
					t.Errorf("console error: %s", line)
				}
			}
			checkScreenshot(t, shot)
			keepArtifact(t, shot)
		})
	}
}
