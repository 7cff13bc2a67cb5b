package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chaintrace/chaintrace/internal/api"
	"github.com/chaintrace/chaintrace/internal/kyt"
	"github.com/chaintrace/chaintrace/internal/kyt/kyttest"
)

// transferServer is a server whose registry is over the kyttest
// fixture's stores, built by the real ingesters.
func transferServer(t *testing.T, mod func(*api.Config)) (*kyttest.Fixture, http.Handler) {
	t.Helper()
	f := kyttest.Build(t)
	reg := f.Open(context.Background())
	t.Cleanup(func() { reg.Close() })
	srv, _ := testServer(t, newWorld(t), false, func(c *api.Config) {
		c.Screener = f.Screener
		c.Transfers = reg
		if mod != nil {
			mod(c)
		}
	})
	return f, srv.Handler()
}

// checkGolden compares a response with testdata/NAME.golden in the form
// TestGolden writes (request line, status, headers, indented body), or
// rewrites the file under -update.
func checkGolden(t *testing.T, name, method, target string, rec *httptest.ResponseRecorder) {
	t.Helper()
	var got bytes.Buffer
	fmt.Fprintf(&got, "%s %s\nstatus: %d\n", method, target, rec.Code)
	for _, k := range []string{"Content-Type", "Location", "X-Request-Id"} {
		if v := rec.Header().Get(k); v != "" {
			fmt.Fprintf(&got, "%s: %s\n", k, v)
		}
	}
	got.WriteString("\n")
	if err := json.Indent(&got, rec.Body.Bytes(), "", "  "); err != nil {
		t.Fatalf("body is not JSON: %v\n%s", err, rec.Body)
	}
	got.WriteString("\n")
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(path, got.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -run %s -update to create it)", err, t.Name())
	}
	if !bytes.Equal(got.Bytes(), want) {
		t.Errorf("response differs from %s (rerun with -update if intended)\n--- got\n%s\n--- want\n%s", path, got.Bytes(), want)
	}
}

// TestTransfersGolden pins every status of the transfer routes with its
// body: screened (200), pending (202), the RFC 9457 problems of a
// malformed body, an unknown chain, an invalid hash, both indexes (400),
// a missing output and an unknown id (404), a conflict (409) and an
// oversized body (413).
func TestTransfersGolden(t *testing.T) {
	f, h := transferServer(t, nil)
	post := func(body string) [3]string { return [3]string{"POST", "/api/v1/transfers", body} }
	steps := []struct {
		name string
		req  [3]string
		code int
	}{
		{"transfer_screened", post(fmt.Sprintf(`{"chain":"btc","tx":%q,"output_index":0,"user_id":"alice"}`, f.DepositTx)), 200},
		{"transfer_token", post(fmt.Sprintf(`{"chain":"eth-sim","tx":%q,"log_index":%d,"user_id":"bob"}`, f.TokenTx, f.TokenLog)), 200},
		{"transfer_pending", post(fmt.Sprintf(`{"chain":"btc-regtest","tx":%q,"output_index":0,"user_id":"carol"}`, f.PendingTx)), 202},
		{"transfer_malformed", post(`{"chain":"btc","tx":`), 400},
		{"transfer_unknown_field", post(`{"chain":"btc","txid":"00"}`), 400},
		{"transfer_unknown_chain", post(fmt.Sprintf(`{"chain":"doge","tx":%q,"output_index":0,"user_id":"alice"}`, f.DepositTx)), 400},
		{"transfer_invalid_hash", post(`{"chain":"btc","tx":"0xdeadbeef","output_index":0,"user_id":"alice"}`), 400},
		{"transfer_both_indexes", post(fmt.Sprintf(`{"chain":"eth-sim","tx":%q,"output_index":0,"log_index":1,"user_id":"bob"}`, f.TokenTx)), 400},
		{"transfer_no_such_output", post(fmt.Sprintf(`{"chain":"btc","tx":%q,"output_index":5,"user_id":"alice"}`, f.DepositTx)), 404},
		{"transfer_conflict", post(fmt.Sprintf(`{"chain":"btc","tx":%q,"output_index":0,"user_id":"mallory"}`, f.DepositTx)), 409},
		{"transfer_get", [3]string{"GET", "/api/v1/transfers/tr_c8a84b8ea1a8346c4e1cd7c4", ""}, 0},
		{"transfer_not_found", [3]string{"GET", "/api/v1/transfers/tr_nothing", ""}, 404},
		{"transfers_bad_cursor", [3]string{"GET", "/api/v1/transfers?cursor=zzz", ""}, 400},
		{"transfers_bad_rating", [3]string{"GET", "/api/v1/transfers?rating=CRITICAL", ""}, 400},
	}
	var screenedID string
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			target := st.req[1]
			if st.name == "transfer_get" {
				target = "/api/v1/transfers/" + screenedID
			}
			rec := do(h, st.req[0], target, st.req[2], "X-Request-Id", "golden-"+st.name)
			if st.code != 0 && rec.Code != st.code {
				t.Fatalf("status %d, want %d: %s", rec.Code, st.code, rec.Body)
			}
			if st.name == "transfer_screened" {
				var tr kyt.Transfer
				decode(t, rec, &tr)
				screenedID = tr.ID
			}
			if rec.Code >= 400 && rec.Header().Get("Content-Type") != "application/problem+json" {
				t.Fatalf("a %d without a problem document: %s", rec.Code, rec.Header().Get("Content-Type"))
			}
			checkGolden(t, st.name, st.req[0], target, rec)
		})
	}
}

// TestTransferTooLarge refuses a body over the limit with 413.
func TestTransferTooLarge(t *testing.T) {
	_, h := transferServer(t, func(c *api.Config) { c.MaxBodyBytes = 256 })
	body := `{"chain":"btc","tx":"` + strings.Repeat("0", 300) + `","output_index":0,"user_id":"alice"}`
	rec := do(h, "POST", "/api/v1/transfers", body, "X-Request-Id", "golden-transfer_too_large")
	if rec.Code != http.StatusRequestEntityTooLarge {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	checkGolden(t, "transfer_too_large", "POST", "/api/v1/transfers", rec)
}

// TestTransfersUnavailable answers 404 without a registry.
func TestTransfersUnavailable(t *testing.T) {
	srv, _ := testServer(t, newWorld(t), false, nil)
	rec := do(srv.Handler(), "GET", "/api/v1/transfers", "", "X-Request-Id", "golden-transfers_unavailable")
	if rec.Code != http.StatusNotFound {
		t.Fatalf("status %d", rec.Code)
	}
	checkGolden(t, "transfers_unavailable", "GET", "/api/v1/transfers", rec)
}

// TestTransfersIdempotentAndPaged registers the same transfer twice (the
// same answer), then pages through the list with filters.
func TestTransfersIdempotentAndPaged(t *testing.T) {
	f, h := transferServer(t, nil)
	body := fmt.Sprintf(`{"chain":"btc","tx":%q,"output_index":0,"user_id":"alice"}`, f.DepositTx)
	a := do(h, "POST", "/api/v1/transfers", body)
	b := do(h, "POST", "/api/v1/transfers", body)
	if a.Code != 200 || b.Code != 200 || a.Body.String() != b.Body.String() || a.Header().Get("Location") == "" {
		t.Fatalf("registered twice: %d %d\n%s\n%s", a.Code, b.Code, a.Body, b.Body)
	}
	for _, body := range []string{
		fmt.Sprintf(`{"chain":"eth-sim","tx":%q,"log_index":%d,"user_id":"bob"}`, f.TokenTx, f.TokenLog),
		fmt.Sprintf(`{"chain":"eth-sim","tx":%q,"user_id":"bob"}`, f.NativeTx),
		fmt.Sprintf(`{"chain":"btc","tx":%q,"output_index":0,"user_id":"carol"}`, f.PendingTx),
	} {
		if rec := do(h, "POST", "/api/v1/transfers", body, "Content-Type", "application/json"); rec.Code != 200 && rec.Code != 202 {
			t.Fatalf("%s: %d %s", body, rec.Code, rec.Body)
		}
	}
	var ids []string
	cursor := ""
	for range 5 {
		rec := do(h, "GET", "/api/v1/transfers?limit=1&cursor="+cursor, "")
		var p kyt.Page
		decode(t, rec, &p)
		if rec.Code != 200 || len(p.Transfers) != 1 {
			t.Fatalf("page: %d %s", rec.Code, rec.Body)
		}
		ids = append(ids, p.Transfers[0].ID)
		if cursor = p.Next; cursor == "" {
			break
		}
	}
	if len(ids) != 4 {
		t.Fatalf("paged through %d transfers: %v", len(ids), ids)
	}
	for q, want := range map[string]int{"user_id=bob": 2, "rating=HIGH": 1, "rating=pending": 1, "rating=low&user_id=alice": 1, "user_id=nobody": 0} {
		rec := do(h, "GET", "/api/v1/transfers?"+q, "")
		var p kyt.Page
		decode(t, rec, &p)
		if rec.Code != 200 || len(p.Transfers) != want {
			t.Errorf("%s: %d, %d transfers, want %d", q, rec.Code, len(p.Transfers), want)
		}
	}
	for _, q := range []string{"limit=0", "limit=1001", "user=alice"} {
		if rec := do(h, "GET", "/api/v1/transfers?"+q, ""); rec.Code != 400 {
			t.Errorf("%s: %d", q, rec.Code)
		}
	}
	if rec := do(h, "POST", "/api/v1/transfers", body, "Content-Type", "text/plain"); rec.Code != http.StatusUnsupportedMediaType {
		t.Errorf("text/plain body: %d", rec.Code)
	}
}

// exampleTransfers is the registry the OpenAPI document's transfer
// examples read: the kyttest fixture with a screened Bitcoin deposit for
// alice, a token deposit from a labelled hacker for bob and a pending
// deposit for carol, registered in that order.
func exampleTransfers(t *testing.T) *kyt.Registry {
	t.Helper()
	f := kyttest.Build(t)
	ctx := context.Background()
	reg := f.Open(ctx)
	t.Cleanup(func() { reg.Close() })
	for _, req := range []kyt.Request{
		{Chain: "btc", Tx: f.DepositTx, OutputIndex: u32(0), UserID: "alice"},
		{Chain: "eth-sim", Tx: f.TokenTx, LogIndex: u32(f.TokenLog), UserID: "bob"},
		{Chain: "btc", Tx: f.PendingTx, OutputIndex: u32(0), UserID: "carol"},
	} {
		if _, err := reg.Register(ctx, req); err != nil {
			t.Fatal(err)
		}
	}
	return reg
}

func u32(n uint32) *uint32 { return &n }
