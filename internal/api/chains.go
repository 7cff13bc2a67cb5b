package api

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"hash/fnv"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/chaintrace/chaintrace/internal/addrs"
	"github.com/chaintrace/chaintrace/internal/btc"
	"github.com/chaintrace/chaintrace/internal/labels"
	"github.com/chaintrace/chaintrace/internal/model"
	"github.com/chaintrace/chaintrace/internal/query"
	"github.com/chaintrace/chaintrace/internal/trace"
)

// BTCChain is what the chain routes read of a Bitcoin store;
// *query.BTC implements it.
type BTCChain interface {
	Network() string
	Tip(ctx context.Context) (model.Block, bool, error)
	Stages(ctx context.Context) ([]query.Stage, error)
	Block(ctx context.Context, ref string) (model.Block, error)
	BlockTxIDsPage(ctx context.Context, b model.Block, from, limit int) ([]string, error)
	Tx(ctx context.Context, txid string) (model.Tx, error)
	Address(ctx context.Context, addr string) (model.AddressSummary, error)
	AddressTxs(ctx context.Context, addr string, cursor uint64, limit int) ([]query.AddressTx, uint64, error)
	Neighbors(ctx context.Context, addr string, out bool, limit, maxTxs int) (query.Neighbors, error)
	Cluster(ctx context.Context, addr string) (query.Cluster, bool, error)
}

// ETHChain is what the chain routes read of an EVM store; *query.ETH
// implements it.
type ETHChain interface {
	Network() string
	Tip(ctx context.Context) (query.ETHBlock, bool, error)
	Stages(ctx context.Context) ([]query.Stage, error)
	Block(ctx context.Context, ref string) (query.ETHBlock, error)
	BlockTxHashes(ctx context.Context, b query.ETHBlock, from, limit int) ([]string, error)
	Tx(ctx context.Context, hash string) (query.ETHTx, error)
	Address(ctx context.Context, addr string, maxCounterparties int) (query.ETHAddress, error)
	AddressTxs(ctx context.Context, addr string, cursor uint64, limit int) ([]query.ETHAddressTx, uint64, error)
	Neighbors(ctx context.Context, addr string, out bool, limit, maxTxs int) (query.Neighbors, error)
}

// The query readers are the intended chains.
var (
	_ BTCChain = (*query.BTC)(nil)
	_ ETHChain = (*query.ETH)(nil)
)

// Chain is one chain store the chain routes serve: exactly one of BTC
// and ETH is set.
type Chain struct {
	BTC BTCChain
	ETH ETHChain
	// Size returns the store's bytes on disk; nil leaves store_bytes out.
	Size func() uint64
}

// Labeler looks up the active labels of a normalised address;
// *labels.Index implements it.
type Labeler interface {
	Lookup(chain, address string) []labels.Label
}

// Confirmations is how deep a block must be for the chain routes to
// call it final: its block and transaction answers then carry a strong
// ETag. A reorganisation six blocks deep has not happened on Bitcoin
// since 2013.
const Confirmations = 6

// Page sizes of the chain routes: the default and the largest limit.
const (
	DefaultBlockTxs    = 100
	MaxBlockTxs        = 1000
	DefaultAddressTxs  = 50
	MaxAddressTxs      = 500
	DefaultNeighbors   = 50
	MaxNeighbors       = 500
	chainCursorVersion = 1
)

// Problems of the chain routes.
var (
	probInvalidRef      = problemKind{"invalid-reference", "Invalid block or transaction reference", http.StatusBadRequest}
	probBlockNotFound   = problemKind{"block-not-found", "Block not found", http.StatusNotFound}
	probTxNotFound      = problemKind{"transaction-not-found", "Transaction not found", http.StatusNotFound}
	probAddressNotFound = problemKind{"address-not-found", "Address not found", http.StatusNotFound}
)

// BlockRef points to a block.
type BlockRef struct {
	Height uint64    `json:"height"`
	Hash   string    `json:"hash"`
	Time   time.Time `json:"time"`
}

// StageProgress is how far one ingest stage got, and how many blocks it
// is behind the store's tip.
type StageProgress struct {
	Name   string `json:"name"`
	Height uint64 `json:"height"`
	Hash   string `json:"hash"`
	Behind uint64 `json:"behind"`
}

// ChainInfo answers GET /api/v1/chains/{chain}: a chain store, its tip
// (null while empty) and its stages.
type ChainInfo struct {
	Chain      string          `json:"chain"`
	Kind       string          `json:"kind"`
	Network    string          `json:"network"`
	Tip        *BlockRef       `json:"tip"`
	Stages     []StageProgress `json:"stages"`
	StoreBytes *uint64         `json:"store_bytes,omitempty"`
}

// ChainList answers GET /api/v1/chains.
type ChainList struct {
	Chains []ChainInfo `json:"chains"`
}

// Asset names what an amount is of: the native coin (no token) or a
// token contract, with its symbol, name and decimals when known.
type Asset struct {
	Token    string `json:"token,omitempty"`
	Symbol   string `json:"symbol,omitempty"`
	Name     string `json:"name,omitempty"`
	Decimals *uint8 `json:"decimals,omitempty"`
}

// AssetAmount is an amount of an asset in its smallest unit (satoshi,
// wei, token base units), as a decimal string: EVM amounts do not fit a
// JSON number.
type AssetAmount struct {
	Asset Asset  `json:"asset"`
	Value string `json:"value"`
}

// chainIDs returns the configured chain ids, sorted.
func (s *Server) chainIDs() []string {
	ids := make([]string, 0, len(s.cfg.Chains))
	for id := range s.cfg.Chains {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// chain resolves the {chain} path value: a chain id, or a chain's name
// when one store alone has it (btc for btc-regtest), as the CLI takes
// them. It writes the 404 itself.
func (s *Server) chain(w http.ResponseWriter, r *http.Request) (string, Chain, bool) {
	name := strings.ToLower(r.PathValue("chain"))
	if c, ok := s.cfg.Chains[name]; ok {
		return name, c, true
	}
	var found []string
	for _, id := range s.chainIDs() {
		if strings.HasPrefix(id, name+"-") {
			found = append(found, id)
		}
	}
	if len(found) == 1 {
		return found[0], s.cfg.Chains[found[0]], true
	}
	detail := "no chain store has id " + strconv.Quote(name) + "; this server has " + strconv.Quote(strings.Join(s.chainIDs(), ", "))
	if len(found) > 1 {
		detail = "several chain stores match " + strconv.Quote(name) + " (" + strings.Join(found, ", ") + "): give the full chain id"
	}
	writeProblem(w, newProblem(r, probUnknownChain, detail))
	return "", Chain{}, false
}

// handleChains serves GET /api/v1/chains.
func (s *Server) handleChains(w http.ResponseWriter, r *http.Request) {
	if p := onlyParams(r); p != nil {
		writeProblem(w, p)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.cfg.RequestTimeout)
	defer cancel()
	resp := ChainList{Chains: []ChainInfo{}}
	for _, id := range s.chainIDs() {
		info, err := chainInfo(ctx, id, s.cfg.Chains[id])
		if err != nil {
			writeProblem(w, s.chainProblem(r, err, "", ""))
			return
		}
		resp.Chains = append(resp.Chains, info)
	}
	writeJSON(w, http.StatusOK, &resp)
}

// handleChain serves GET /api/v1/chains/{chain}.
func (s *Server) handleChain(w http.ResponseWriter, r *http.Request) {
	if p := onlyParams(r); p != nil {
		writeProblem(w, p)
		return
	}
	id, c, ok := s.chain(w, r)
	if !ok {
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.cfg.RequestTimeout)
	defer cancel()
	info, err := chainInfo(ctx, id, c)
	if err != nil {
		writeProblem(w, s.chainProblem(r, err, "", ""))
		return
	}
	writeJSON(w, http.StatusOK, &info)
}

// chainInfo describes one chain store.
func chainInfo(ctx context.Context, id string, c Chain) (ChainInfo, error) {
	info := ChainInfo{Chain: id}
	var stages []query.Stage
	var err error
	if c.BTC != nil {
		info.Kind, info.Network = "utxo", c.BTC.Network()
		tip, ok, terr := c.BTC.Tip(ctx)
		if terr != nil {
			return info, terr
		}
		if ok {
			info.Tip = &BlockRef{Height: tip.Height, Hash: tip.Hash, Time: tip.Time}
		}
		stages, err = c.BTC.Stages(ctx)
	} else {
		info.Kind, info.Network = "account", c.ETH.Network()
		tip, ok, terr := c.ETH.Tip(ctx)
		if terr != nil {
			return info, terr
		}
		if ok {
			info.Tip = &BlockRef{Height: tip.Height, Hash: tip.Hash, Time: tip.Time}
		}
		stages, err = c.ETH.Stages(ctx)
	}
	if err != nil {
		return info, err
	}
	info.Stages = make([]StageProgress, 0, len(stages))
	for _, st := range stages {
		sp := StageProgress{Name: st.Name, Height: st.Height, Hash: st.Hash}
		if info.Tip != nil && info.Tip.Height > st.Height {
			sp.Behind = info.Tip.Height - st.Height
		}
		info.Stages = append(info.Stages, sp)
	}
	if c.Size != nil {
		n := c.Size()
		info.StoreBytes = &n
	}
	return info, nil
}

// chainProblem maps an error of a chain look-up to a problem: malformed
// input is a 400, an absent object (what names it) a 404.
func (s *Server) chainProblem(r *http.Request, err error, what, id string) *Problem {
	detail := strings.TrimPrefix(err.Error(), "query: ")
	switch {
	case errors.Is(err, query.ErrNotFound):
		switch what {
		case "block":
			return newProblem(r, probBlockNotFound, "the chain has no block "+id)
		case "tx":
			return newProblem(r, probTxNotFound, "the chain has no transaction "+id)
		case "address":
			return newProblem(r, probAddressNotFound, "the chain has no activity of address "+id)
		}
	case errors.Is(err, btc.ErrInvalidAddress), errors.Is(err, addrs.ErrInvalid):
		return newProblem(r, probInvalidAddress, detail)
	case errors.Is(err, query.ErrInvalid):
		if what == "address" {
			return newProblem(r, probInvalidAddress, detail)
		}
		return newProblem(r, probInvalidRef, detail)
	case errors.Is(err, context.DeadlineExceeded):
		return newProblem(r, probTimeout, "the look-up took longer than "+s.cfg.RequestTimeout.String())
	}
	return s.errProblem(r, err)
}

// normAddress spells an address as the chain's labels do (EIP-55 on EVM
// chains, lower-case bech32), so that answers and cursors do not depend
// on the spelling asked for; one that does not parse is left as it is,
// for the look-up to reject.
func normAddress(chain, address string) string {
	if norm, err := addrs.Normalize(trace.AddrChain(chain), address); err == nil {
		return norm
	}
	return address
}

// onlyParams checks that the request has no query parameters but those
// allowed.
func onlyParams(r *http.Request, allowed ...string) *Problem {
	for k := range r.URL.Query() {
		if !slices.Contains(allowed, k) {
			want := "none"
			if len(allowed) > 0 {
				want = strings.Join(allowed, ", ")
			}
			return newProblem(r, probInvalidParam, "unknown query parameter "+strconv.Quote(k)+" (want "+want+")")
		}
	}
	return nil
}

// limitParam reads the limit query parameter: def when absent, else an
// integer from 1 to max.
func limitParam(r *http.Request, def, maxLimit int) (int, *Problem) {
	v := r.URL.Query().Get("limit")
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > maxLimit {
		return 0, newProblem(r, probInvalidParam, "limit must be an integer from 1 to "+strconv.Itoa(maxLimit)+", not "+strconv.Quote(v))
	}
	return n, nil
}

// Cursors are opaque to clients: a version byte, the position (a
// transaction ordinal or an index in a block) as a uvarint, and a hash of
// what they page through (chain, route, block or address), so that a
// cursor handed to another listing is refused instead of misread. They
// are base64url without padding.

// scopeSum hashes what a cursor pages through.
func scopeSum(scope string) uint32 {
	h := fnv.New32a()
	h.Write([]byte(scope))
	return h.Sum32()
}

// encodeCursor makes the cursor of position pos in scope.
func encodeCursor(scope string, pos uint64) string {
	b := []byte{chainCursorVersion}
	b = binary.AppendUvarint(b, pos)
	b = binary.BigEndian.AppendUint32(b, scopeSum(scope))
	return base64.RawURLEncoding.EncodeToString(b)
}

// cursorParam reads the cursor query parameter of scope: 0 when absent.
func cursorParam(r *http.Request, scope string) (uint64, *Problem) {
	v := r.URL.Query().Get("cursor")
	if v == "" {
		return 0, nil
	}
	bad := newProblem(r, probUnknownCursor, "cursor "+strconv.Quote(v)+" is not one this listing handed out")
	b, err := base64.RawURLEncoding.DecodeString(v)
	if err != nil || len(b) < 6 || b[0] != chainCursorVersion {
		return 0, bad
	}
	pos, n := binary.Uvarint(b[1:])
	if n <= 0 || len(b) != 1+n+4 || binary.BigEndian.Uint32(b[1+n:]) != scopeSum(scope) {
		return 0, bad
	}
	return pos, nil
}

// partyLabels returns the active labels of an address of chain id, nil
// when it has none. Labels of a simulated or private EVM chain are
// Ethereum's (trace.AddrChain), and EVM addresses are looked up in their
// normalised spelling.
func (s *Server) partyLabels(chain, address string) []labels.Label {
	if address == "" {
		return nil
	}
	lc := trace.AddrChain(chain)
	if addrs.IsEVM(lc) {
		norm, err := addrs.Normalize(lc, address)
		if err != nil {
			return nil
		}
		address = norm
	}
	var lb Labeler = s.cfg.ChainLabels
	if lb == nil {
		lb = s.screener.Index()
	}
	return lb.Lookup(lc, address)
}

// writeFinal sends v as JSON. A final answer (its block at least
// Confirmations deep) gets a strong ETag, a hash of the body, and a
// request whose If-None-Match holds it a 304 without a body; an answer
// a reorganisation could still change gets neither.
func writeFinal(w http.ResponseWriter, r *http.Request, v any, final bool) {
	if !final {
		w.Header().Set("Cache-Control", "no-cache")
		writeJSON(w, http.StatusOK, v)
		return
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		panic("api: encoding a response: " + err.Error())
	}
	sum := sha256.Sum256(buf.Bytes())
	etag := `"` + hex.EncodeToString(sum[:16]) + `"`
	h := w.Header()
	h.Set("ETag", etag)
	// Labels in the answer can change with an import: clients revalidate.
	h.Set("Cache-Control", "no-cache")
	if etagMatches(r.Header.Get("If-None-Match"), etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(buf.Bytes())
}

// etagMatches applies If-None-Match's weak comparison (RFC 9110 13.1.2)
// of the header's list against etag.
func etagMatches(header, etag string) bool {
	for t := range strings.SplitSeq(header, ",") {
		t = strings.TrimSpace(t)
		if t == "*" || strings.TrimPrefix(t, "W/") == etag {
			return true
		}
	}
	return false
}

// confirmations counts the blocks from height to tip, both included.
func confirmations(height, tip uint64) uint64 {
	if tip < height {
		return 0
	}
	return tip - height + 1
}
