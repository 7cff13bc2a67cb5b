package monitor

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/chaintrace/chaintrace/internal/addrs"
	"github.com/chaintrace/chaintrace/internal/eth"
	"github.com/chaintrace/chaintrace/internal/labels"
	"github.com/chaintrace/chaintrace/internal/model"
	"github.com/chaintrace/chaintrace/internal/store"
)

// The account monitor (EthMonitor) watches EVM chains. Its taint model
// differs from the Bitcoin monitor's haircut because accounts pool
// value: an address that received tainted value and other value holds
// one balance, and nothing on chain says which part a later payment
// spends. The monitor keeps, per address, asset and watch, a tainted
// amount and applies the conservative "tainted first" rule: an outgoing
// transfer of x from an address holding t tainted moves min(x, t) of
// taint to the recipient and leaves t - min(x, t) behind. Tainted first
// over-approximates (it never loses sight of stolen value that could
// have left), which is what a monitor wants: a missed movement of stolen
// funds costs more than an extra alert, and the amount an alert reports
// is an upper bound of the watched value moved. The watch's own
// addresses count as wholly tainted. Fees are not followed, so they do
// not consume taint.
//
// Extension stops below a dust threshold per asset (a peel chain's
// crumbs and address-poisoning transfers are not followed) and never
// enters an address labelled as a service (exchange, payment processor,
// mixer, DEX, bridge, ...): such an address pools everyone's deposits,
// so tainting it would raise an alert on every payout to every customer.
// The alert on the deposit into it is the point: that is where funds can
// be frozen. For the same reason extension never enters a token contract
// (an address with token metadata in the store): WETH, liquid-staking and
// pool tokens hold everyone's deposits, and tainted first would pass the
// taint to the next unrelated withdrawals; the alert on the deposit into
// the contract says where the value went.

// DefaultAssetDust is the default dust threshold of every asset on
// account chains, in whole units of the asset (0.001 ETH, 0.001 USDT).
const DefaultAssetDust = "0.001"

// undoDepth is how many heights of undo records the account monitor
// keeps: a reorganisation deeper than this cannot restore its taint.
// Ethereum finalises after two epochs (64 blocks), so this is ample.
const undoDepth = 4096

// serviceCategories are the label categories of services whose
// addresses the account monitor never extends a watch into.
var serviceCategories = []string{"exchange", "payment_processor", "otc_broker", "otc", "gambling", "market",
	"wallet_service", "service", "miner", "mining_service", "mixing_service", "coinjoin",
	"defi_dex", "dex", "defi_bridge", "bridge"}

// maxAmount is the largest amount, 2^256-1.
var maxAmount = model.AmountFromBytes(bytes.Repeat([]byte{0xff}, 32))

// EthReader is the part of an account-chain store the account monitor
// reads; store.DB is one.
type EthReader interface {
	MetaU64(ctx context.Context, name string) (uint64, bool, error)
	Token(ctx context.Context, id uint64) (store.TokenMeta, bool, error)
	MonitorGet(ctx context.Context, t store.MonitorTable, key []byte) ([]byte, bool, error)
	MonitorScan(ctx context.Context, t store.MonitorTable, prefix []byte, fn func(key, val []byte) (bool, error)) error
}

// EthBlock is an account-chain block as the account monitor sees it: its
// transaction records after the eth-txs stage (the withdrawals
// pseudo-transaction last) and the addresses of their ids.
type EthBlock struct {
	Height uint64
	Hash   [32]byte
	Time   time.Time
	Txs    []store.EthTxRec
	// Addr returns the 20 bytes of an address id the block's transfers
	// use (sender, recipient, token). Unwind does not need it.
	Addr func(id uint64) [20]byte
}

// acct is an address's holding of one asset (token zero: native).
type acct struct {
	addr, token [20]byte
}

// tval is a watch's tainted amount at an acct.
type tval struct {
	amount model.Amount
	hop    int
}

// prior is a taint entry as it was before the block being applied.
type prior struct {
	present bool
	val     tval
}

// EthMonitor evaluates account-chain blocks against watches for ingest's
// eth-monitor stage. It keeps in memory the watched addresses and the
// tainted amounts; Load rebuilds both from the store, which is what
// ingest calls after a failed batch or an unwind. An EthMonitor is used
// from one goroutine at a time.
type EthMonitor struct {
	opts    Options
	log     *slog.Logger
	stamp   Stamp
	watches map[string]*Watch
	byAddr  map[[20]byte][]string
	taint   map[acct]map[string]tval
	tokens  map[uint64]store.TokenMeta
	nextSeq uint64
	// undo holds the priors of the taint entries the current block
	// changed, keyed by their store key.
	undo map[string]prior
}

// NewEth returns an account monitor of opts.Chain, an EVM chain id (eth
// or eth-NETWORK).
func NewEth(opts Options) (*EthMonitor, error) {
	if _, err := EVMNetwork(opts.Chain); err != nil {
		return nil, err
	}
	for a, d := range opts.AssetDust {
		if _, err := parseDecimal(d); err != nil {
			return nil, fmt.Errorf("monitor: dust of %s: %w", a, err)
		}
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &EthMonitor{opts: opts, log: log}, nil
}

// Load reads the watches and the monitor's state from db: the alert
// counter and the tainted amounts.
func (m *EthMonitor) Load(ctx context.Context, db EthReader) error {
	n, ok, err := db.MetaU64(ctx, metaNextSeq)
	if err != nil {
		return fmt.Errorf("monitor: %w", err)
	}
	m.nextSeq = 1
	if ok {
		m.nextSeq = n
	}
	if err := m.loadWatches(); err != nil {
		return err
	}
	m.tokens = map[uint64]store.TokenMeta{}
	m.taint = map[acct]map[string]tval{}
	return db.MonitorScan(ctx, store.MonTaint, nil, func(k, v []byte) (bool, error) {
		a, watch, t, err := decodeTaint(k, v)
		if err != nil {
			return false, err
		}
		m.set(a, watch, t)
		return true, nil
	})
}

// loadWatches reads the watch list (the file when Data is set).
func (m *EthMonitor) loadWatches() error {
	list := m.opts.Watches
	if m.opts.Data != "" {
		var l WatchList
		st, err := ReadJSON(WatchesPath(m.opts.Data), &l)
		if err != nil {
			return err
		}
		m.stamp, list = st, l.Watches
	}
	m.watches = map[string]*Watch{}
	m.byAddr = map[[20]byte][]string{}
	for i := range list {
		w := list[i]
		if w.Chain != m.opts.Chain {
			continue
		}
		m.watches[w.ID] = &w
		for _, a := range w.Addresses {
			b, err := hex.DecodeString(strings.TrimPrefix(strings.ToLower(a), "0x"))
			if err != nil || len(b) != 20 {
				m.log.Warn("monitor: watch address not valid on this chain; skipped", "watch", w.ID, "address", a)
				continue
			}
			k := [20]byte(b)
			m.byAddr[k] = appendOnce(m.byAddr[k], w.ID)
		}
	}
	return nil
}

// refresh reloads the watch list when its file changed since the last
// load, so watches added while ingest follows the tip apply from the
// next block on.
func (m *EthMonitor) refresh() error {
	if m.opts.Data == "" {
		return nil
	}
	st, err := StampOf(WatchesPath(m.opts.Data))
	if err != nil || st == m.stamp {
		return err
	}
	m.log.Info("monitor: watch list changed; reloading")
	return m.loadWatches()
}

// Watching returns the number of watches and of tainted holdings (an
// address's amount of one asset for one watch).
func (m *EthMonitor) Watching() (watches, holdings int) {
	for _, ws := range m.taint {
		holdings += len(ws)
	}
	return len(m.watches), holdings
}

// Tainted returns the amount of asset token (zero: native) at addr
// tainted by watch, and its hop.
func (m *EthMonitor) Tainted(addr, token [20]byte, watch string) (model.Amount, int, bool) {
	t, ok := m.taint[acct{addr, token}][watch]
	return t.amount, t.hop, ok
}

// set puts t (or, when its amount is zero, removes the entry) in memory.
func (m *EthMonitor) set(a acct, watch string, t tval) {
	ws := m.taint[a]
	if t.amount.IsZero() {
		delete(ws, watch)
		if len(ws) == 0 {
			delete(m.taint, a)
		}
		return
	}
	if ws == nil {
		ws = map[string]tval{}
		m.taint[a] = ws
	}
	ws[watch] = t
}

// change sets a taint entry during Forward, remembering its prior.
func (m *EthMonitor) change(a acct, watch string, t tval) {
	k := string(taintKey(a, watch))
	if _, ok := m.undo[k]; !ok {
		old, present := m.taint[a][watch]
		m.undo[k] = prior{present: present, val: old}
	}
	m.set(a, watch, t)
}

// followed reports whether the monitor follows transfers of kind k:
// value and fungible tokens, not fees (paid by every transaction, they
// would make every watched sender alert twice per transaction) and not
// NFTs (their amount is not a quantity of value).
func followed(k eth.Kind) bool {
	switch k {
	case eth.Native, eth.Internal, eth.Create, eth.SelfDestruct, eth.ERC20, eth.Withdrawal:
		return true
	}
	return false
}

// ethEvent is a watch's movement in one transfer.
type ethEvent struct {
	watch string
	dir   string
	moved model.Amount
	hop   int
	cp    Counterparty
}

// asset is what a transfer moved, as alerts and rules name it.
type asset struct {
	native   bool
	symbol   string // the native coin's or the token's symbol, else ""
	contract string // normalised contract address, tokens only
	decimals uint8
}

func (a asset) name() string {
	if a.symbol != "" {
		return a.symbol
	}
	return a.contract
}

// Forward evaluates block b: it raises alerts for the rules matched by
// the movements of watched value in b's transfers and moves taint along
// them, writing alerts, taint and the block's undo record through w.
func (m *EthMonitor) Forward(ctx context.Context, w Writer, db EthReader, b *EthBlock) error {
	if err := m.refresh(); err != nil {
		return err
	}
	if len(m.watches) == 0 && len(m.taint) == 0 {
		return nil
	}
	seq0 := m.nextSeq
	m.undo = map[string]prior{}
	lab := map[[20]byte][]labels.Label{}
	for i := range b.Txs {
		rec := &b.Txs[i]
		for k := range rec.Transfers {
			if err := m.transfer(ctx, w, db, b, rec, &rec.Transfers[k], lab); err != nil {
				return err
			}
		}
	}
	if err := m.flush(w, b.Height); err != nil {
		return err
	}
	if m.nextSeq != seq0 {
		w.SetMetaU64(metaNextSeq, m.nextSeq)
	}
	return nil
}

// flush writes the taint entries the block changed and its undo record,
// and drops the undo record that fell out of undoDepth.
func (m *EthMonitor) flush(w Writer, height uint64) error {
	if height >= undoDepth {
		w.DeleteMonitor(store.MonUndo, binary.BigEndian.AppendUint64(nil, height-undoDepth))
	}
	if len(m.undo) == 0 {
		return nil
	}
	keys := make([]string, 0, len(m.undo))
	for k := range m.undo {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	u := binary.AppendUvarint(nil, uint64(len(keys)))
	for _, k := range keys {
		a, watch, _, err := decodeTaint([]byte(k), nil)
		if err != nil {
			return err
		}
		if t, ok := m.taint[a][watch]; ok {
			w.PutMonitor(store.MonTaint, []byte(k), encodeTaint(t))
		} else {
			w.DeleteMonitor(store.MonTaint, []byte(k))
		}
		p := m.undo[k]
		u = binary.AppendUvarint(u, uint64(len(k)))
		u = append(u, k...)
		if !p.present {
			u = append(u, 0)
			continue
		}
		v := encodeTaint(p.val)
		u = append(u, 1)
		u = binary.AppendUvarint(u, uint64(len(v)))
		u = append(u, v...)
	}
	w.PutMonitor(store.MonUndo, binary.BigEndian.AppendUint64(nil, height), u)
	m.undo = nil
	return nil
}

// transfer evaluates one transfer: an out event for every watch whose
// address sent it or whose taint it carried, an in event for every watch
// whose address received it otherwise; taint moves tainted first.
func (m *EthMonitor) transfer(ctx context.Context, w Writer, db EthReader, b *EthBlock, rec *store.EthTxRec, tr *store.EthTransferRec, lab map[[20]byte][]labels.Label) error {
	if !followed(eth.Kind(tr.Kind)) || tr.Amount.IsZero() || tr.From == tr.To {
		return nil // a self-transfer moves nothing
	}
	var from, to, token [20]byte
	if tr.From != 0 {
		from = b.Addr(tr.From)
	}
	if tr.To != 0 {
		to = b.Addr(tr.To)
	}
	if tr.Token != 0 {
		token = b.Addr(tr.Token)
	}
	var fromW, toW []string
	if tr.From != 0 {
		fromW = m.byAddr[from]
	}
	if tr.To != 0 {
		toW = m.byAddr[to]
	}
	src := acct{from, token}
	srcTaint := m.taint[src]
	if tr.From == 0 {
		srcTaint = nil
	}
	if len(fromW) == 0 && len(srcTaint) == 0 && len(toW) == 0 {
		return nil
	}
	ids := slices.Clone(fromW)
	for id := range srcTaint {
		ids = appendOnce(ids, id)
	}
	slices.Sort(ids)
	var events []*ethEvent
	var as *asset
	for _, id := range ids {
		if m.watches[id] == nil {
			continue // removed watch: its taint goes quiet
		}
		e := &ethEvent{watch: id, dir: DirOut, moved: tr.Amount}
		if !slices.Contains(fromW, id) {
			t := srcTaint[id]
			e.moved, e.hop = model.Min(tr.Amount, t.amount), t.hop
			left, _ := t.amount.Sub(e.moved)
			m.change(src, id, tval{amount: left, hop: t.hop})
		}
		e.cp = Counterparty{Address: m.format(to, tr.To != 0), Amount: tr.Amount.String(), TaintedAmount: e.moved.String(), Watched: slices.Contains(toW, id)}
		e.cp.Labels = m.labels(to, tr.To != 0, lab)
		events = append(events, e)
		if e.cp.Watched || tr.To == 0 || isService(e.cp.Labels) {
			continue
		}
		if as == nil {
			a, err := m.asset(ctx, db, tr.Token, token)
			if err != nil {
				return err
			}
			as = &a
		}
		if dust, err := m.dust(*as); err != nil {
			return err
		} else if e.moved.Cmp(dust) < 0 {
			continue
		}
		if pooled, err := m.isTokenContract(ctx, db, tr); err != nil {
			return err
		} else if pooled {
			continue
		}
		dst := acct{to, token}
		t := m.taint[dst][id]
		sum, over := t.amount.Add(e.moved)
		if over {
			// Any contract can log transfers of any amount: saturate
			// rather than stop ingest on a forged one.
			sum = maxAmount
		}
		m.change(dst, id, tval{amount: sum, hop: max(t.hop, e.hop+1)})
	}
	for _, id := range toW {
		if m.watches[id] == nil || slices.Contains(ids, id) {
			continue // a move between the watch's own addresses, or tainted value returning: reported as out
		}
		cp := Counterparty{Address: m.format(from, tr.From != 0), Amount: tr.Amount.String()}
		cp.Labels = m.labels(from, tr.From != 0, lab)
		events = append(events, &ethEvent{watch: id, dir: DirIn, moved: tr.Amount, cp: cp})
	}
	if len(events) == 0 {
		return nil
	}
	if as == nil {
		a, err := m.asset(ctx, db, tr.Token, token)
		if err != nil {
			return err
		}
		as = &a
	}
	for _, e := range events {
		if err := m.raise(w, b, rec, e, *as); err != nil {
			return err
		}
	}
	return nil
}

// raise writes an alert for each rule of e's watch that matches.
func (m *EthMonitor) raise(w Writer, b *EthBlock, rec *store.EthTxRec, e *ethEvent, as asset) error {
	wt := m.watches[e.watch]
	tx := ""
	if rec.Hash != ([32]byte{}) {
		tx = "0x" + hex.EncodeToString(rec.Hash[:])
	}
	for _, r := range wt.Rules {
		ok, err := m.matches(r, e, as)
		if err != nil {
			m.log.Warn("monitor: rule not evaluated", "watch", wt.ID, "rule", r.String(), "err", err)
		}
		if !ok {
			continue
		}
		a := Alert{
			Seq: m.nextSeq, Kind: KindAlert, Watch: wt.ID, WatchName: wt.Name, Rule: r.String(),
			Chain: m.opts.Chain, Tx: tx, Height: b.Height, Block: "0x" + hex.EncodeToString(b.Hash[:]), Time: b.Time.UTC(),
			Direction: e.dir, Asset: as.name(), Token: as.contract, Value: e.moved.String(), Hop: e.hop,
			Counterparties: []Counterparty{e.cp},
		}
		a.setID()
		if err := putAlert(w, &a, &m.nextSeq, m.log); err != nil {
			return err
		}
		w.PutMonitor(store.MonAlertHeight, heightKey(b.Height, a.Seq), nil)
	}
	return nil
}

// matches reports whether rule r matches event e of asset as. Above
// rules compare the watched value moved in the rule's asset; category
// and entity rules look at the recipient of watched value that is not
// the watch's own address.
func (m *EthMonitor) matches(r Rule, e *ethEvent, as asset) (bool, error) {
	switch r.Kind {
	case RuleAny:
		return true, nil
	case RuleAbove:
		if !m.sameAsset(r.Asset, as) {
			return false, nil
		}
		limit, err := scaleDecimal(r.limit(), as.decimals)
		if err != nil {
			return false, err
		}
		return e.moved.Cmp(limit) > 0, nil
	case RuleCategory, RuleEntity:
		if e.dir != DirOut || e.cp.Watched {
			return false, nil
		}
		for _, l := range e.cp.Labels {
			if r.Kind == RuleCategory && strings.EqualFold(l.Category, r.Value) {
				return true, nil
			}
			if r.Kind == RuleEntity && (strings.EqualFold(l.Actor, r.Value) || strings.EqualFold(l.Entity, r.Value) || strings.EqualFold(l.Label, r.Value)) {
				return true, nil
			}
		}
	}
	return false, nil
}

// sameAsset reports whether a rule's asset (empty: native) names as.
func (m *EthMonitor) sameAsset(ruleAsset string, as asset) bool {
	if ruleAsset == "" || strings.EqualFold(ruleAsset, NativeAsset(m.opts.Chain)) {
		return as.native
	}
	return !as.native && (strings.EqualFold(ruleAsset, as.symbol) || strings.EqualFold(ruleAsset, as.contract))
}

// asset describes token id (0: the native coin) with its metadata from
// the store. A token without known decimals is counted in base units.
func (m *EthMonitor) asset(ctx context.Context, db EthReader, id uint64, addr [20]byte) (asset, error) {
	if id == 0 {
		return asset{native: true, symbol: NativeAsset(m.opts.Chain), decimals: 18}, nil
	}
	a := asset{contract: m.format(addr, true)}
	meta, ok := m.tokens[id]
	if !ok {
		var err error
		if meta, ok, err = db.Token(ctx, id); err != nil {
			return asset{}, fmt.Errorf("monitor: token metadata: %w", err)
		}
		if !ok && m.opts.FetchToken != nil {
			// Asked once: a contract that does not answer keeps its
			// empty metadata for the monitor's life.
			if meta, err = m.opts.FetchToken(ctx, addr); err != nil {
				m.log.Warn("monitor: token metadata unavailable; named by its contract", "token", a.contract, "err", err)
				meta = store.TokenMeta{}
			}
			ok = true
		}
		if ok {
			m.tokens[id] = meta // stored metadata only appears, so a miss is asked again
		}
	}
	a.symbol = meta.Symbol
	if meta.HasDecimals {
		a.decimals = meta.Decimals
	}
	return a, nil
}

// dust is the smallest tainted amount of as that extends a watch.
func (m *EthMonitor) dust(as asset) (model.Amount, error) {
	d := DefaultAssetDust
	for k, v := range m.opts.AssetDust {
		if m.sameAsset(k, as) {
			d = v
			break
		}
	}
	limit, err := scaleDecimal(d, as.decimals)
	if err != nil {
		return model.Amount{}, err
	}
	if limit.IsZero() {
		limit = model.AmountFromUint64(1)
	}
	return limit, nil
}

// format is an address in its normalised (EIP-55) form, "" for none.
func (m *EthMonitor) format(a [20]byte, ok bool) string {
	if !ok {
		return ""
	}
	s, err := normalize(m.opts.Chain, nil, "0x"+hex.EncodeToString(a[:]))
	if err != nil {
		return "0x" + hex.EncodeToString(a[:])
	}
	return s
}

// labels returns the alert labels of address a, cached per block.
func (m *EthMonitor) labels(a [20]byte, ok bool, cache map[[20]byte][]labels.Label) []Label {
	if !ok || m.opts.Labels == nil {
		return nil
	}
	ls, seen := cache[a]
	if !seen {
		ls = m.opts.Labels.Lookup(m.labelChain(), m.format(a, true))
		cache[a] = ls
	}
	var out []Label
	for _, l := range ls {
		out = append(out, Label{Label: l.Label, Category: l.Category, Actor: l.Actor, Entity: l.Entity, Dataset: l.Dataset})
	}
	return out
}

// labelChain is the chain id labels are looked up under: the monitored
// chain when package addrs knows it, else (a private or simulated
// network, "eth-dev") "eth", whose address format it shares, as the
// tracer does (trace.AddrChain): labels are imported under addrs' ids.
func (m *EthMonitor) labelChain() string {
	if addrs.IsEVM(m.opts.Chain) {
		return m.opts.Chain
	}
	return "eth"
}

// isTokenContract reports whether a transfer's recipient is a token
// contract: its own token, or an address with token metadata.
func (m *EthMonitor) isTokenContract(ctx context.Context, db EthReader, tr *store.EthTransferRec) (bool, error) {
	if tr.To == tr.Token {
		return true, nil
	}
	if _, ok := m.tokens[tr.To]; ok {
		return true, nil
	}
	_, ok, err := db.Token(ctx, tr.To)
	if err != nil {
		return false, fmt.Errorf("monitor: token metadata: %w", err)
	}
	return ok, nil
}

// isService reports whether labels mark a service the monitor does not
// extend a watch into.
func isService(ls []Label) bool {
	for _, l := range ls {
		if slices.Contains(serviceCategories, strings.ToLower(l.Category)) {
			return true
		}
	}
	return false
}

// Unwind retracts the alerts block b raised and restores the tainted
// amounts it changed from its undo record, writing both through w and
// updating the monitor's memory, so several blocks can be unwound in one
// batch, tip first.
func (m *EthMonitor) Unwind(ctx context.Context, w Writer, db EthReader, b *EthBlock) error {
	seq0 := m.nextSeq
	if err := retractHeight(ctx, w, db, b.Height, &m.nextSeq, m.log); err != nil {
		return err
	}
	hk := binary.BigEndian.AppendUint64(nil, b.Height)
	u, ok, err := db.MonitorGet(ctx, store.MonUndo, hk)
	if err != nil {
		return err
	}
	if ok {
		if err := m.restore(w, u); err != nil {
			return fmt.Errorf("monitor: undo record of height %d: %w", b.Height, err)
		}
		w.DeleteMonitor(store.MonUndo, hk)
	}
	if m.nextSeq != seq0 {
		w.SetMetaU64(metaNextSeq, m.nextSeq)
	}
	return nil
}
