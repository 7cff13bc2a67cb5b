package trace

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// update rewrites the expected output of golden test files:
//
//	go test ./internal/trace/ -run Golden -update
//
// and review the diff before committing it.
var update = flag.Bool("update", false, "rewrite the expected output of testdata files")

// goldenCase is one directive of a testdata file:
//
//	<cmd> [key=value | flag]...
//	<input lines>
//	----
//	<expected output lines>
//
// Cases are separated by blank lines; a line starting with # outside a
// case is a comment. The input may be empty; then "----" follows the
// command line directly. Expected output may not contain blank lines
// (the runner writes "." for one).
type goldenCase struct {
	Pos      string // file:line of the command, for messages
	Cmd      string
	Args     map[string]string
	ArgOrder []string
	Input    string
	Expected string
	line     int // index of the first expected line in the file
	end      int // index after the last expected line
}

// Arg returns an argument's value, def when absent.
func (c *goldenCase) Arg(key, def string) string {
	if v, ok := c.Args[key]; ok {
		return v
	}
	return def
}

// runGolden runs every case of each file matching pattern through fn and
// compares fn's output with the expected text, or rewrites the files under
// -update. fn returns the output text or an error, which is compared as
// "error: <message>".
func runGolden(t *testing.T, pattern string, fn func(t *testing.T, c *goldenCase) (string, error)) {
	t.Helper()
	files, err := filepath.Glob(pattern)
	if err != nil || len(files) == 0 {
		t.Fatalf("no testdata files match %s (%v)", pattern, err)
	}
	for _, path := range files {
		t.Run(filepath.Base(path), func(t *testing.T) {
			raw, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			lines := strings.Split(strings.TrimRight(string(raw), "\n"), "\n")
			cases, err := parseGolden(path, lines)
			if err != nil {
				t.Fatal(err)
			}
			changed := false
			for _, c := range cases {
				got, err := fn(t, c)
				if err != nil {
					got = "error: " + err.Error()
				}
				got = strings.TrimRight(got, "\n")
				got = strings.ReplaceAll(got, "\n\n", "\n.\n")
				if got == c.Expected {
					continue
				}
				if *update {
					c.Expected, changed = got, true
					continue
				}
				t.Errorf("%s: %s\ngot:\n%s\nwant:\n%s", c.Pos, c.Cmd, got, c.Expected)
			}
			if changed {
				if err := os.WriteFile(path, []byte(rewriteGolden(lines, cases)), 0o644); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}

func parseGolden(path string, lines []string) ([]*goldenCase, error) {
	var cases []*goldenCase
	for i := 0; i < len(lines); {
		l := strings.TrimSpace(lines[i])
		if l == "" || strings.HasPrefix(l, "#") {
			i++
			continue
		}
		c := &goldenCase{Pos: fmt.Sprintf("%s:%d", path, i+1), Args: map[string]string{}}
		fields := strings.Fields(l)
		c.Cmd = fields[0]
		for _, f := range fields[1:] {
			k, v, _ := strings.Cut(f, "=")
			c.Args[k] = v
			c.ArgOrder = append(c.ArgOrder, k)
		}
		i++
		var in []string
		for ; i < len(lines) && lines[i] != "----"; i++ {
			in = append(in, lines[i])
		}
		if i == len(lines) {
			return nil, fmt.Errorf("%s: no ---- after the input", c.Pos)
		}
		c.Input = strings.Join(in, "\n")
		i++
		c.line = i
		var out []string
		for ; i < len(lines) && strings.TrimSpace(lines[i]) != ""; i++ {
			out = append(out, lines[i])
		}
		c.end = i
		c.Expected = strings.Join(out, "\n")
		cases = append(cases, c)
	}
	return cases, nil
}

func rewriteGolden(lines []string, cases []*goldenCase) string {
	var b strings.Builder
	prev := 0
	for _, c := range cases {
		for _, l := range lines[prev:c.line] {
			b.WriteString(l + "\n")
		}
		if c.Expected != "" {
			b.WriteString(c.Expected + "\n")
		}
		prev = c.end
	}
	for _, l := range lines[prev:] {
		b.WriteString(l + "\n")
	}
	return b.String()
}
