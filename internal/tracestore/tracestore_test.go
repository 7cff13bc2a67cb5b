package tracestore

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/chaintrace/chaintrace/internal/model"
	"github.com/chaintrace/chaintrace/internal/trace"
)

func result(t *testing.T, hops int, holding string) *trace.Result {
	t.Helper()
	amt, err := model.ParseAmount("5000000000")
	if err != nil {
		t.Fatal(err)
	}
	return &trace.Result{
		Params:   trace.Params{Chain: "btc", From: []string{"12cbQLTFMXRnSzktFkuoG3eHoMeFtpTu3S"}, Direction: trace.Forward, Model: trace.Haircut, Hops: hops},
		Heights:  map[string]uint64{"btc": 14131},
		Holdings: []trace.Holding{{Node: "btc:" + holding, Chain: "btc", Address: holding, Asset: "BTC", Amount: amt, Hop: 2}},
	}
}

// TestSaveLoad checks that a saved trace reads back equal, that its id
// comes from its content (the same result saves once, another gets
// another id), and the summaries List gives.
func TestSaveLoad(t *testing.T) {
	ctx := t.Context()
	data := t.TempDir()
	r1 := result(t, 3, "1Q2TWHE3GMdB6BZKafqwxXtWAWgFt5Jvm3")
	s1, err := Save(ctx, data, r1)
	if err != nil {
		t.Fatal(err)
	}
	if !ValidID(s1.ID) || s1.Holdings != 1 || s1.Sources != 1 || s1.Chain != "btc" || s1.Hops != 3 || s1.Bytes == 0 {
		t.Fatalf("summary %+v", s1)
	}
	again, err := Save(ctx, data, r1)
	if err != nil || again.ID != s1.ID {
		t.Fatalf("saving the same result again: %+v, %v; want id %s", again, err, s1.ID)
	}
	s2, err := Save(ctx, data, result(t, 4, "1Q2TWHE3GMdB6BZKafqwxXtWAWgFt5Jvm3"))
	if err != nil || s2.ID == s1.ID {
		t.Fatalf("another result: %+v, %v; want an id other than %s", s2, err, s1.ID)
	}
	got, sum, err := Load(ctx, data, s1.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, r1) || sum.ID != s1.ID {
		t.Fatalf("loaded %+v, want %+v", got, r1)
	}
	ss, err := List(ctx, data)
	if err != nil || len(ss) != 2 {
		t.Fatalf("List: %+v, %v", ss, err)
	}
	if left, _ := filepath.Glob(filepath.Join(Dir(data), "*.tmp*")); len(left) > 0 {
		t.Fatalf("temporary files left: %v", left)
	}
	if ss, err := List(ctx, t.TempDir()); err != nil || len(ss) != 0 {
		t.Fatalf("List without traces: %v, %v", ss, err)
	}
}

// TestLoadRefuses checks the errors: ids of the wrong form (never
// reaching the file system), unknown ids, corrupt and foreign files.
func TestLoadRefuses(t *testing.T) {
	ctx := t.Context()
	data := t.TempDir()
	for _, id := range []string{"", "../../etc/passwd", "tr-", "tr-0123456789ABCDEF", "tr-0123456789abcde", "tr-0123456789abcdef0", "xx-0123456789abcdef", "tr-0123456789abcdeg"} {
		if ValidID(id) {
			t.Errorf("ValidID(%q) = true", id)
		}
		if _, _, err := Load(ctx, data, id); err == nil || !strings.Contains(err.Error(), "not a trace id") {
			t.Errorf("Load(%q): %v, want a refusal of its form", id, err)
		}
	}
	if _, _, err := Load(ctx, data, "tr-0123456789abcdef"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown id: %v, want ErrNotFound", err)
	}
	if err := os.MkdirAll(Dir(data), 0o700); err != nil {
		t.Fatal(err)
	}
	corrupt := filepath.Join(Dir(data), "tr-00000000000000aa.json")
	if err := os.WriteFile(corrupt, []byte(`{"params": {"chain": "btc",`), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := Load(ctx, data, "tr-00000000000000aa"); err == nil || !strings.Contains(err.Error(), corrupt) {
		t.Fatalf("corrupt file: %v, want an error naming %s", err, corrupt)
	}
	if _, err := List(ctx, data); err == nil || !strings.Contains(err.Error(), corrupt) {
		t.Fatalf("List over a corrupt file: %v, want an error naming it", err)
	}
	for name, body := range map[string]string{
		"a syntax error": "{\n  \"params\": [}",
		"a foreign JSON": `{"holdings": [], "kind": "something else"}`,
		"no model":       `{"params": {"chain": "btc"}}`,
	} {
		_, err := Decode("in.json", []byte(body))
		if err == nil || !strings.Contains(err.Error(), "in.json: not a trace result") {
			t.Errorf("%s: %v, want an error naming the input", name, err)
		}
	}
	if _, err := Decode("in.json", []byte("{\n  \"params\": [}")); err == nil || !strings.Contains(err.Error(), "byte ") {
		t.Errorf("syntax error without its offset: %v", err)
	}
}
