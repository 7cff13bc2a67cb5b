package trace

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"time"

	"github.com/ethereum/go-ethereum/common"

	"github.com/chaintrace/chaintrace/internal/addrs"
	"github.com/chaintrace/chaintrace/internal/eth"
	"github.com/chaintrace/chaintrace/internal/labels"
	"github.com/chaintrace/chaintrace/internal/model"
	"github.com/chaintrace/chaintrace/internal/store"
)

// accountReader is the part of an account-chain store the Account engine
// reads; *store.DB implements it.
type accountReader interface {
	Progress(ctx context.Context, stage string) (store.Progress, bool, error)
	EthBlockByHeight(ctx context.Context, height uint64) (store.EthBlockRec, error)
	EthTxNum(ctx context.Context, hash [32]byte) (uint64, error)
	EthTx(ctx context.Context, txnum uint64, t *store.EthTxRec) error
	AddrID(ctx context.Context, addrKey []byte) (uint64, error)
	AddrKey(ctx context.Context, id uint64) ([]byte, error)
	EthEvents(ctx context.Context, addrID, fromTxNum uint64, fn func(store.EthEvent) bool) error
}

var _ accountReader = (*store.DB)(nil)

// accountTipStage is the last ingest stage of an account-chain store: a
// block is traceable once its address index is written.
const accountTipStage = "eth-addrindex"

// accountDefaultMaxEvents bounds a trace's work when AccountOptions leaves
// MaxEvents zero.
const accountDefaultMaxEvents = 5_000_000

// AccountOptions configure an Account engine.
type AccountOptions struct {
	// Chain is the chain id: an addrs EVM chain ("eth"), or
	// "eth-<network>" for a chain addrs does not know, whose addresses
	// are then checked as Ethereum's (see AddrChain).
	Chain  string
	Labels Labeler // nil: no labels
	// MaxEvents is the work limit: address-index events visited (and, backward,
	// attribution steps) before a trace stops early; default 5,000,000.
	MaxEvents int
}

// Account traces value on an account-chain (Ethereum, EVM) store. Taint is
// kept per (address, asset); see runForward and runBackward for the models.
//
// Assets are named "ETH" (the chain's native coin, by its ticker) or by the
// token contract's lower-case 0x address. ERC-721 and ERC-1155 transfers
// move no fungible value and are ignored by every model. Self-transfers
// (sender equals recipient) move nothing. Addresses are written in EIP-55
// form, as addrs.Normalize writes them and as labels are keyed.
//
// An Account is safe for concurrent use: each Run keeps its state apart.
type Account struct {
	db        accountReader
	chain     string
	native    string
	labels    Labeler
	maxEvents int
}

var _ Engine = (*Account)(nil)

// accountTickers names the native coin of the EVM chains whose ticker is
// not ETH.
var accountTickers = map[string]string{"etc": "ETC", "bsc": "BNB", "polygon": "POL", "avax": "AVAX"}

// NewAccount returns an engine over db for the chain opts.Chain.
func NewAccount(db accountReader, opts AccountOptions) (*Account, error) {
	if db == nil {
		return nil, errors.New("trace: account engine: nil store")
	}
	if opts.Chain == "" {
		opts.Chain = "eth"
	}
	if !addrs.IsEVM(AddrChain(opts.Chain)) {
		return nil, fmt.Errorf("trace: account engine: chain %q is not an EVM chain", opts.Chain)
	}
	if opts.MaxEvents < 0 {
		return nil, fmt.Errorf("trace: account engine: MaxEvents %d is negative", opts.MaxEvents)
	}
	if opts.MaxEvents == 0 {
		opts.MaxEvents = accountDefaultMaxEvents
	}
	native := accountTickers[opts.Chain]
	if native == "" {
		native = "ETH"
	}
	return &Account{db: db, chain: opts.Chain, native: native, labels: opts.Labels, maxEvents: opts.MaxEvents}, nil
}

// Chain returns the engine's chain id.
func (e *Account) Chain() string { return e.chain }

// Tip returns the height of the last block whose address index is stored.
func (e *Account) Tip(ctx context.Context) (uint64, error) {
	p, ok, err := e.db.Progress(ctx, accountTipStage)
	if err != nil {
		return 0, fmt.Errorf("trace: %s tip: %w", e.chain, err)
	}
	if !ok {
		return 0, fmt.Errorf("trace: %s tip: the store has no indexed blocks", e.chain)
	}
	return p.Height, nil
}

// Run traces from p's sources (and, forward, from seeds); it implements
// Engine.
func (e *Account) Run(ctx context.Context, p Params, seeds []Seed) (*Result, error) {
	start := time.Now()
	if p.Chain == "" {
		p.Chain = e.chain
	}
	if p.Chain != e.chain {
		return nil, fmt.Errorf("trace: params chain %q on an engine for %q", p.Chain, e.chain)
	}
	if err := p.validate(len(seeds)); err != nil {
		return nil, err
	}
	tip, err := e.Tip(ctx)
	if err != nil {
		return nil, err
	}
	r := &acctRun{e: e, p: &p, tip: tip, names: map[uint64]string{}, classes: map[uint64]*acctClass{},
		times: map[uint64]time.Time{}, nodes: map[uint64]*acctNode{}, ends: map[acctKey]*Endpoint{},
		totals: map[uint64]*Totals{}, assets: map[uint64]string{}, origins: map[acctKey]*Holding{}, held: map[uint64]bool{}}
	if err := r.parseAsset(ctx); err != nil {
		return nil, err
	}
	if p.Direction == Backward {
		err = r.runBackward(ctx)
	} else {
		err = r.runForward(ctx, seeds)
	}
	if err != nil {
		return nil, err
	}
	res, err := r.result(ctx)
	if err != nil {
		return nil, err
	}
	res.Stats.Elapsed = time.Since(start)
	return res, nil
}

// acctKey names an (address, token) pair.
type acctKey struct{ addr, token uint64 }

// acctClass is what the stop rules made of an address's labels.
type acctClass struct {
	class  Class
	label  *labels.Label
	labels []labels.Label
}

// acctNode is an address in the result with what the trace did there.
type acctNode struct {
	hop                  int
	source, followed     bool
	endpoint, limit, dex bool
}

// acctRun is the state of one Run.
type acctRun struct {
	e   *Account
	p   *Params
	tip uint64
	// asset is the token id the trace is restricted to when hasAsset.
	asset    uint64
	hasAsset bool

	names   map[uint64]string
	classes map[uint64]*acctClass
	times   map[uint64]time.Time
	assets  map[uint64]string
	nodes   map[uint64]*acctNode
	edges   []acctEdge
	ends    map[acctKey]*Endpoint
	origins map[acctKey]*Holding
	holds   []Holding
	held    map[uint64]bool
	cross   []Crossing
	totals  map[uint64]*Totals

	events    int
	truncated bool
}

// acctEdge is an Edge with its chain position, for sorting and merging.
type acctEdge struct {
	txnum    uint64
	index    uint32
	from, to uint64
	token    uint64
	height   uint64
	hash     [32]byte
	hop      int
	value    model.Amount
	tainted  model.Amount
}

// acctFungible reports whether a transfer kind moves fungible value.
func acctFungible(kind uint8) bool {
	k := eth.Kind(kind)
	return k != eth.ERC721 && k != eth.ERC1155Single && k != eth.ERC1155Batch && k < eth.NumKinds
}

// acctFee reports whether a transfer kind is a transaction fee.
func acctFee(kind uint8) bool {
	k := eth.Kind(kind)
	return k == eth.FeeBurnt || k == eth.FeeTip || k == eth.FeeBlob
}

// acctAdd returns a+b; sums of one chain's amounts cannot overflow 256 bits.
func acctAdd(a, b model.Amount) model.Amount {
	s, _ := a.Add(b)
	return s
}

// acctSub returns a-b, or zero when b exceeds a (balances are clamped at
// zero when the store lacks part of an address's history).
func acctSub(a, b model.Amount) model.Amount {
	d, under := a.Sub(b)
	if under {
		return model.Amount{}
	}
	return d
}

// acctMulDiv returns floor(a*b/c), zero when c is zero.
func acctMulDiv(a, b, c model.Amount) model.Amount {
	r, _ := model.MulDiv(a, b, c)
	return r
}

// wants reports whether the trace follows token.
func (r *acctRun) wants(token uint64) bool { return !r.hasAsset || token == r.asset }

// parseAsset resolves Params.Asset.
func (r *acctRun) parseAsset(ctx context.Context) error {
	a := strings.TrimSpace(r.p.Asset)
	switch {
	case a == "":
		return nil
	case strings.EqualFold(a, "native") || strings.EqualFold(a, r.e.native):
		r.hasAsset = true
		return nil
	}
	id, err := r.addrID(ctx, a)
	if err != nil {
		return fmt.Errorf("trace: asset %q: %w", r.p.Asset, err)
	}
	r.asset, r.hasAsset = id, true
	return nil
}

// addrID resolves an address in any case to its store id.
func (r *acctRun) addrID(ctx context.Context, s string) (uint64, error) {
	if strings.HasPrefix(s, "0X") {
		s = "0x" + s[2:]
	}
	if n, err := addrs.Normalize(AddrChain(r.e.chain), strings.ToLower(s)); err == nil {
		s = n
	} else {
		return 0, err
	}
	a := common.HexToAddress(s)
	id, err := r.e.db.AddrID(ctx, a[:])
	if err != nil {
		// The store's error names the address.
		return 0, err
	}
	return id, nil
}

// txNum resolves a transaction hash.
func (r *acctRun) txNum(ctx context.Context, s string) (uint64, error) {
	h := strings.TrimPrefix(strings.TrimPrefix(strings.TrimSpace(s), "0x"), "0X")
	b, err := hex.DecodeString(h)
	if err != nil || len(b) != 32 {
		return 0, fmt.Errorf("trace: transaction %q: want 64 hex digits", s)
	}
	n, err := r.e.db.EthTxNum(ctx, [32]byte(b))
	if err != nil {
		return 0, fmt.Errorf("trace: transaction %s: %w", s, err)
	}
	return n, nil
}

// name returns an address id's EIP-55 text.
func (r *acctRun) name(ctx context.Context, id uint64) (string, error) {
	if id == 0 {
		return common.Address{}.Hex(), nil
	}
	if s, ok := r.names[id]; ok {
		return s, nil
	}
	k, err := r.e.db.AddrKey(ctx, id)
	if err != nil {
		return "", fmt.Errorf("trace: address #%d: %w", id, err)
	}
	if len(k) != common.AddressLength {
		return "", fmt.Errorf("trace: address #%d has a %d-byte key", id, len(k))
	}
	s := common.BytesToAddress(k).Hex()
	r.names[id] = s
	return s, nil
}

// assetName names token id's asset: the native ticker or the contract's
// lower-case address.
func (r *acctRun) assetName(ctx context.Context, token uint64) (string, error) {
	if token == 0 {
		return r.e.native, nil
	}
	if s, ok := r.assets[token]; ok {
		return s, nil
	}
	s, err := r.name(ctx, token)
	if err != nil {
		return "", err
	}
	s = strings.ToLower(s)
	r.assets[token] = s
	return s, nil
}

// class applies the stop rules to an address, caching the result.
func (r *acctRun) class(ctx context.Context, id uint64) (*acctClass, error) {
	if c, ok := r.classes[id]; ok {
		return c, nil
	}
	c := &acctClass{}
	if r.e.labels != nil && id != 0 {
		s, err := r.name(ctx, id)
		if err != nil {
			return nil, err
		}
		c.labels = r.e.labels.Lookup(r.e.chain, s)
		var l *labels.Label
		c.class, l = Classify(r.p, c.labels)
		if l != nil {
			cp := *l
			c.label = &cp
		}
	}
	r.classes[id] = c
	return c, nil
}

// blockTime returns the time of the block at height, cached.
func (r *acctRun) blockTime(ctx context.Context, height uint64) (time.Time, error) {
	if t, ok := r.times[height]; ok {
		return t, nil
	}
	b, err := r.e.db.EthBlockByHeight(ctx, height)
	if err != nil {
		return time.Time{}, fmt.Errorf("trace: block %d: %w", height, err)
	}
	t := time.Unix(int64(b.Time), 0).UTC()
	r.times[height] = t
	return t, nil
}

// total returns the totals row of token.
func (r *acctRun) total(token uint64) *Totals {
	t := r.totals[token]
	if t == nil {
		t = &Totals{}
		r.totals[token] = t
	}
	return t
}

// node returns the result node of an address, creating it at hop.
func (r *acctRun) node(id uint64, hop int) *acctNode {
	n := r.nodes[id]
	if n == nil {
		n = &acctNode{hop: hop}
		r.nodes[id] = n
	} else if hop < n.hop {
		n.hop = hop
	}
	return n
}

// endpoint adds tainted value to the endpoint of (id, token).
func (r *acctRun) endpoint(id, token uint64, c *acctClass, hop int, v model.Amount) {
	n := r.node(id, hop)
	n.endpoint = true
	k := acctKey{id, token}
	ep := r.ends[k]
	if ep == nil {
		ep = &Endpoint{Hop: hop}
		if c.label != nil {
			ep.Entity, ep.Label, ep.Category = Entity(c.label), c.label.Label, c.label.Category
		}
		r.ends[k] = ep
	}
	ep.Tainted = acctAdd(ep.Tainted, v)
	ep.Txs++
	ep.Hop = min(ep.Hop, hop)
}

// origin adds value found at an origin (backward) to the holdings.
func (r *acctRun) origin(id, token uint64, hop int, v model.Amount) {
	r.node(id, hop)
	r.held[id] = true
	k := acctKey{id, token}
	h := r.origins[k]
	if h == nil {
		h = &Holding{Hop: hop}
		r.origins[k] = h
	}
	h.Amount = acctAdd(h.Amount, v)
	h.Hop = min(h.Hop, hop)
}

// visit counts n units of work and reports whether the limit is reached.
func (r *acctRun) visit(n int) bool {
	r.events += n
	if r.events > r.e.maxEvents {
		r.truncated = true
	}
	return r.truncated
}

// acctFloat converts an amount for shares.
func acctFloat(a model.Amount) float64 {
	f, _ := new(big.Float).SetString(a.String())
	if f == nil {
		return 0
	}
	v, _ := f.Float64()
	return v
}

// acctHash writes a transaction hash as 0x-hex, empty for the zero hash of
// a block's withdrawals pseudo-transaction.
func acctHash(h [32]byte) string {
	if h == ([32]byte{}) {
		return ""
	}
	return "0x" + hex.EncodeToString(h[:])
}
