package monitor

import (
	"bytes"
	"cmp"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/maphash"
	"log/slog"
	"math/bits"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/btcsuite/btcd/chaincfg"
	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/chaintrace/chaintrace/internal/btc"
	"github.com/chaintrace/chaintrace/internal/labels"
	"github.com/chaintrace/chaintrace/internal/model"
	"github.com/chaintrace/chaintrace/internal/store"
)

// StageName is the monitor's ingest stage and progress key.
const StageName = "monitor"

// metaNextSeq is the store counter of alert sequence numbers.
const metaNextSeq = "monitor_next_alert"

// DefaultDust is the smallest tainted value, in satoshis, that extends a
// watch to an output: below it a peel chain's crumbs stop being followed.
const DefaultDust = 1000

// Labeler answers the labels of a normalised address; *labels.Index is
// one. Implementations must be safe to call from the ingest goroutine and
// return slices the caller does not modify.
type Labeler interface {
	Lookup(chain, address string) []labels.Label
}

// Reader is the part of a chain store the monitor reads: address ids,
// spends, counters and its own tables. store.Graph is one.
type Reader interface {
	AddrID(ctx context.Context, addrKey []byte) (uint64, error)
	AddrKey(ctx context.Context, id uint64) ([]byte, error)
	Spender(ctx context.Context, txnum uint64, vout uint32) (store.SpendRec, bool, error)
	MetaU64(ctx context.Context, name string) (uint64, bool, error)
	MonitorGet(ctx context.Context, t store.MonitorTable, key []byte) ([]byte, bool, error)
	MonitorScan(ctx context.Context, t store.MonitorTable, prefix []byte, fn func(key, val []byte) (bool, error)) error
}

// Writer is the part of a store batch the monitor writes through; the
// ingest stage's batch is one, so the monitor's writes commit with the
// block.
type Writer interface {
	PutMonitor(t store.MonitorTable, key, val []byte)
	DeleteMonitor(t store.MonitorTable, key []byte)
	SetMetaU64(name string, v uint64)
}

// Block is a block as the monitor sees it: its records after the txs
// stage, and the address keys of its outputs.
type Block struct {
	Height uint64
	Hash   chainhash.Hash
	Time   time.Time
	Txs    []store.TxRec
	// OutAddrs returns the address keys of output vout of transaction i;
	// nil (on Unwind) means none are needed.
	OutAddrs func(i, vout int) []btc.AddrKey
}

// Options configure a Monitor.
type Options struct {
	// Chain is the monitored chain id (btc.ChainID of the store's network).
	Chain string
	// Data is the data directory whose watches.json the monitor follows;
	// empty means Watches is the fixed watch list.
	Data    string
	Watches []Watch
	// Labels answers counterparties' labels; nil means none are known,
	// so category and entity rules never match.
	Labels Labeler
	// Dust is the smallest tainted value that extends a watch (default
	// DefaultDust).
	Dust int64
	// AssetDust is the account monitor's (EthMonitor) dust threshold per
	// asset: keys name the asset as rules do (symbol, contract address,
	// or the native coin's symbol), values are decimal amounts in whole
	// units; other assets use DefaultAssetDust.
	AssetDust map[string]string
	// FetchToken, when set, answers the metadata of a token contract the
	// account monitor meets without metadata in the store (ingest stores
	// it only after a run, so a follower meets new tokens first); it is
	// asked once per token. Without it such a token is named by its
	// contract address and counted in base units.
	FetchToken func(ctx context.Context, contract [20]byte) (store.TokenMeta, error)
	Logger     *slog.Logger
}

type outpoint struct {
	txnum uint64
	vout  uint32
}

// taint is the share of a watched output that belongs to a watch.
type taint struct {
	watch  string
	amount int64
	hop    int
}

// Monitor evaluates blocks against watches for ingest's monitor stage. It
// keeps in memory the watched addresses (by key and by id) and the
// unspent watched outputs; Load rebuilds all of it from the store, which
// is what ingest calls after a failed batch or an unwind. A Monitor is
// used from one goroutine at a time.
type Monitor struct {
	opts    Options
	net     *chaincfg.Params
	log     *slog.Logger
	stamp   Stamp
	watches map[string]*Watch
	// keys holds the watched address keys and the watches of each.
	keys    keyIndex
	byID    map[uint64][]string
	outs    map[outpoint][]taint
	nextSeq uint64
}

// New returns a monitor of opts.Chain; an unknown chain is an error.
func New(opts Options) (*Monitor, error) {
	net, _, err := ChainNetwork(opts.Chain)
	if err != nil {
		return nil, err
	}
	if opts.Dust <= 0 {
		opts.Dust = DefaultDust
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Monitor{opts: opts, net: net, log: log}, nil
}

// Load reads the watches and the monitor's state from db: the alert
// counter, the ids of watched addresses and the unspent watched outputs.
func (m *Monitor) Load(ctx context.Context, db Reader) error {
	n, ok, err := db.MetaU64(ctx, metaNextSeq)
	if err != nil {
		return fmt.Errorf("monitor: %w", err)
	}
	m.nextSeq = 1
	if ok {
		m.nextSeq = n
	}
	if err := m.loadWatches(ctx, db); err != nil {
		return err
	}
	m.outs = map[outpoint][]taint{}
	return db.MonitorScan(ctx, store.MonWatched, nil, func(k, v []byte) (bool, error) {
		op, ts, err := decodeWatched(k, v)
		if err != nil {
			return false, err
		}
		if _, spent, err := db.Spender(ctx, op.txnum, op.vout); err != nil || spent {
			return err == nil, err
		}
		m.outs[op] = ts
		return true, nil
	})
}

// loadWatches reads the watch list (the file when Data is set) and
// resolves the watched addresses' ids.
func (m *Monitor) loadWatches(ctx context.Context, db Reader) error {
	list := m.opts.Watches
	if m.opts.Data != "" {
		var l WatchList
		st, err := ReadJSON(WatchesPath(m.opts.Data), &l)
		if err != nil {
			return err
		}
		m.stamp, list = st, l.Watches
	}
	// A store without address 1 has not assigned an address id yet (an
	// ingest from genesis): there is no id to look up, and a million
	// watched addresses would cost as many fruitless reads.
	lookup := true
	if _, err := db.AddrKey(ctx, 1); errors.Is(err, store.ErrNotFound) {
		lookup = false
	} else if err != nil {
		return fmt.Errorf("monitor: %w", err)
	}
	keys, hashes := m.addrKeys(list)
	m.watches = map[string]*Watch{}
	m.byID = map[uint64][]string{}
	// The keys are copied into the index's buffer here, in the order
	// they were parsed; sorted, the copies would be reads all over memory.
	ents := make([]keyEntry, 0, len(keys))
	kbuf := make([]byte, 0, 22*len(keys))
	var lists [][]string
	n := 0
	for i := range list {
		w := list[i]
		if w.Chain != m.opts.Chain {
			continue
		}
		m.watches[w.ID] = &w
		lists = append(lists, []string{w.ID})
		for _, a := range w.Addresses {
			kb := keys[n]
			if kb == nil {
				_, err := btc.ParseAddress(a, m.net)
				m.log.Warn("monitor: watch address not valid on this chain; skipped", "watch", w.ID, "address", a, "err", err)
			} else {
				ents = append(ents, keyEntry{hash: hashes[n], ref: keyRef{off: uint32(len(kbuf)), n: uint8(len(kb)), list: uint32(len(lists) - 1)}})
				kbuf = append(kbuf, kb...)
			}
			n++
		}
	}
	m.keys.build(ents, kbuf, lists)
	if lookup {
		// In key order the reads walk the store's address table from one
		// end to the other instead of jumping about in it, which makes
		// a million of them several times faster.
		order := make([]int, len(m.keys.refs))
		for i := range order {
			order[i] = i
		}
		slices.SortFunc(order, func(a, b int) int { return bytes.Compare(m.keys.key(a), m.keys.key(b)) })
		for _, i := range order {
			id, err := db.AddrID(ctx, m.keys.key(i))
			if errors.Is(err, store.ErrNotFound) {
				continue
			}
			if err != nil {
				return fmt.Errorf("monitor: %w", err)
			}
			// An address has one id and an id one address; the clipped
			// list makes forwardTx's appends copy it.
			m.byID[id] = slices.Clip(m.keys.lists[m.keys.refs[i].list])
		}
	}
	return nil
}

// keyIndex maps watched address keys to the watches holding them. A map
// of a million string keys costs a cache miss or two per look-up and a
// second or so to build; instead the keys' hashes are sorted once, beside
// each key's place in one byte buffer and its list of watches, and a
// Bloom filter in front turns away, from cache, the outputs that pay no
// watched address, which are nearly all of them. Apart from the lists it
// holds no pointers for the collector to trace.
type keyIndex struct {
	seed   maphash.Seed
	bits   []uint64 // the filter: two bits per key in one word
	hashes []uint64 // sorted
	refs   []keyRef // beside hashes
	buf    []byte   // the keys
	lists  [][]string
}

// keyRef is a key in keyIndex.buf and its list of watch ids.
type keyRef struct {
	off  uint32
	n    uint8
	list uint32
}

// keyEntry is a watch's key while the index is built: its hash, and its
// place in the buffer and the watch's list.
type keyEntry struct {
	hash uint64
	ref  keyRef
}

// newKeyIndex returns an empty index with a filter sized for n keys.
func newKeyIndex(n int) keyIndex {
	// About 16 bits per key: two bits in one word pass about 2% of the
	// keys not in it, with one memory access.
	words := 16
	for words*64 < 16*n {
		words *= 2
	}
	return keyIndex{seed: maphash.MakeSeed(), bits: make([]uint64, words)}
}

// probe returns the filter word and the two bits of hash h.
func (x *keyIndex) probe(h uint64) (int, uint64) {
	return int(h & uint64(len(x.bits)-1)), 1<<(h>>52&63) | 1<<(h>>58)
}

// key returns the bytes of the i-th key.
func (x *keyIndex) key(i int) []byte { return x.refKey(x.refs[i]) }

func (x *keyIndex) refKey(r keyRef) []byte { return x.buf[r.off : r.off+uint32(r.n)] }

// build sorts the entries (keys in buf, each in the watch list
// lists[e.ref.list]) into the index; a key in several watches gets a list
// of all of them.
func (x *keyIndex) build(ents []keyEntry, buf []byte, lists [][]string) {
	x.buf = buf
	slices.SortFunc(ents, func(a, b keyEntry) int {
		if a.hash != b.hash {
			return cmp.Compare(a.hash, b.hash)
		}
		return bytes.Compare(x.refKey(a.ref), x.refKey(b.ref))
	})
	x.hashes = make([]uint64, 0, len(ents))
	x.refs = make([]keyRef, 0, len(ents))
	x.lists = lists
	for i, e := range ents {
		if i > 0 && e.hash == ents[i-1].hash && bytes.Equal(x.refKey(e.ref), x.refKey(ents[i-1].ref)) {
			// The same key in another watch (or twice in one).
			r := &x.refs[len(x.refs)-1]
			ids := x.lists[r.list]
			for _, id := range lists[e.ref.list] {
				if !slices.Contains(ids, id) {
					ids = append(slices.Clip(ids), id)
				}
			}
			if len(ids) != len(x.lists[r.list]) {
				x.lists = append(x.lists, ids)
				r.list = uint32(len(x.lists) - 1)
			}
			continue
		}
		x.hashes = append(x.hashes, e.hash)
		x.refs = append(x.refs, e.ref)
	}
}

// lookup returns the ids of the watches holding address key kb, nil for
// none.
func (x *keyIndex) lookup(kb []byte) []string {
	if len(x.refs) == 0 {
		return nil
	}
	h := maphash.Bytes(x.seed, kb)
	w, bits := x.probe(h)
	if x.bits[w]&bits != bits {
		return nil
	}
	i, _ := slices.BinarySearch(x.hashes, h)
	for ; i < len(x.hashes) && x.hashes[i] == h; i++ {
		if bytes.Equal(x.key(i), kb) {
			return x.lists[x.refs[i].list]
		}
	}
	return nil
}

// addrKeys returns the address keys of the addresses of list's watches on
// the monitor's chain, in order, nil for one that does not parse, with
// their hashes, and starts m.keys with its filter set. Parsing (a
// checksum per address) is most of the cost of loading a large watch
// list, so it runs on all CPUs, which also hash the keys and set the
// filter's bits, and the keys are cut from a few shared buffers instead
// of being allocated one by one.
func (m *Monitor) addrKeys(list []Watch) ([][]byte, []uint64) {
	var all []string
	for i := range list {
		if list[i].Chain == m.opts.Chain {
			all = append(all, list[i].Addresses...)
		}
	}
	m.keys = newKeyIndex(len(all))
	x := &m.keys
	keys := make([][]byte, len(all))
	hashes := make([]uint64, len(all))
	workers := 1
	if len(all) >= 10_000 {
		workers = runtime.GOMAXPROCS(0)
	}
	hrpSum := bech32HRPSum(m.net.Bech32HRPSegwit)
	var wg sync.WaitGroup
	for w := range workers {
		lo, hi := w*len(all)/workers, (w+1)*len(all)/workers
		wg.Go(func() {
			buf := make([]byte, 0, (hi-lo)*24)
			for j := lo; j < hi; j++ {
				k, ok := parseSegwitFast(all[j], m.net.Bech32HRPSegwit, hrpSum)
				if !ok {
					var err error
					if k, err = btc.ParseAddress(all[j], m.net); err != nil {
						continue
					}
				}
				start := len(buf)
				buf = k.AppendBytes(buf)
				keys[j] = buf[start:len(buf):len(buf)]
				hashes[j] = maphash.Bytes(x.seed, keys[j])
				word, bits := x.probe(hashes[j])
				atomic.OrUint64(&x.bits[word], bits)
			}
		})
	}
	wg.Wait()
	return keys, hashes
}

// bech32Gen[b] is the XOR of the BIP 173 checksum generator's
// coefficients selected by the five bits of b, so that a checksum step
// is one table look-up instead of five branches.
var bech32Gen = func() (t [32]uint32) {
	gen := [5]uint32{0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3}
	for b := range t {
		for i, g := range gen {
			if b>>i&1 == 1 {
				t[b] ^= g
			}
		}
	}
	return t
}()

func bech32Step(chk uint32, v byte) uint32 {
	return (chk&0x1ffffff)<<5 ^ uint32(v) ^ bech32Gen[chk>>25]
}

// bech32HRPSum is the checksum state after a human-readable part, the
// same for every address of a network.
func bech32HRPSum(hrp string) uint32 {
	chk := uint32(1)
	for i := 0; i < len(hrp); i++ {
		chk = bech32Step(chk, hrp[i]>>5)
	}
	chk = bech32Step(chk, 0)
	for i := 0; i < len(hrp); i++ {
		chk = bech32Step(chk, hrp[i]&31)
	}
	return chk
}

// bech32Values maps a bech32 character to its 5-bit value, 0xff for a
// character outside the (lower-case) alphabet.
var bech32Values = func() (t [256]byte) {
	for i := range t {
		t[i] = 0xff
	}
	for i, c := range "qpzry9x8gf2tvdw0s3jn54khce6mua7l" {
		t[c] = byte(i)
	}
	return t
}()

// parseSegwitFast parses the common segwit addresses of a network whose
// human-readable part is hrp (checksum state hrpSum): lower case, v0 of
// 20 or 32 bytes with a bech32 checksum, v1 of 32 bytes with bech32m. It
// gives the key btc.ParseAddress gives, and ok false for anything else,
// which the caller hands to btc.ParseAddress. Loading a million watched
// addresses spends most of its time verifying checksums, which the
// table above does several times faster than the generic decoder.
func parseSegwitFast(s, hrp string, hrpSum uint32) (btc.AddrKey, bool) {
	n := len(hrp)
	// hrp, "1", the version, the program (at least 20 bytes: 32
	// characters) and six checksum characters, at most 90 in all.
	if len(s) > 90 || len(s) < n+1+1+32+6 || s[:n] != hrp || s[n] != '1' {
		return btc.AddrKey{}, false
	}
	data := s[n+1:]
	chk := hrpSum
	for i := 0; i < len(data); i++ {
		v := bech32Values[data[i]]
		if v == 0xff {
			return btc.AddrKey{}, false
		}
		chk = bech32Step(chk, v)
	}
	version := bech32Values[data[0]]
	switch {
	case version == 0 && chk != 1, version == 1 && chk != 0x2bc830a3, version > 1:
		return btc.AddrKey{}, false
	}
	var prog [32]byte
	var acc uint32
	var bits uint
	np := 0
	for i := 1; i < len(data)-6; i++ {
		acc = acc<<5 | uint32(bech32Values[data[i]])
		bits += 5
		if bits >= 8 {
			bits -= 8
			if np == len(prog) {
				return btc.AddrKey{}, false
			}
			prog[np] = byte(acc >> bits)
			np++
		}
	}
	if bits >= 5 || acc&(1<<bits-1) != 0 {
		return btc.AddrKey{}, false
	}
	var kind btc.AddrKind
	switch {
	case version == 0 && np == 20:
		kind = btc.AddrWPKH
	case version == 0 && np == 32:
		kind = btc.AddrWSH
	case version == 1 && np == 32:
		kind = btc.AddrTR
	default:
		return btc.AddrKey{}, false
	}
	k, err := btc.NewAddrKey(kind, 0, prog[:np])
	return k, err == nil
}

func appendOnce(s []string, v string) []string {
	if slices.Contains(s, v) {
		return s
	}
	return append(s, v)
}

// refresh reloads the watch list when its file changed since the last
// load, so that watches added while ingest follows the tip apply from the
// next block on.
func (m *Monitor) refresh(ctx context.Context, db Reader) error {
	if m.opts.Data == "" {
		return nil
	}
	st, err := StampOf(WatchesPath(m.opts.Data))
	if err != nil || st == m.stamp {
		return err
	}
	m.log.Info("monitor: watch list changed; reloading")
	return m.loadWatches(ctx, db)
}

// Watching returns the number of watches and of unspent watched outputs.
func (m *Monitor) Watching() (watches, outputs int) { return len(m.watches), len(m.outs) }

// eventKey identifies an event of a transaction: its watch and direction.
type eventKey struct{ watch, dir string }

// event is a watch's movement in one transaction.
type event struct {
	watch   string
	dir     string
	amount  int64
	hop     int
	tainted []int64 // per output, out events
	// ins are the inputs that carried the watch's value and how much of
	// each, in input order: FIFO needs to know where in the
	// transaction's input value the watched value sits.
	ins []inTaint
}

// inTaint is the watched value an input carried.
type inTaint struct {
	index  int
	amount int64
}

// Forward evaluates block b: it raises alerts for the rules matched by
// the movements of watched value in b's transactions and extends the
// watches to the outputs watched value went to, writing both through w.
func (m *Monitor) Forward(ctx context.Context, w Writer, db Reader, b *Block) error {
	if err := m.refresh(ctx, db); err != nil {
		return err
	}
	if len(m.watches) == 0 && len(m.outs) == 0 {
		return nil
	}
	seq0 := m.nextSeq
	for i := range b.Txs {
		if err := m.forwardTx(ctx, w, db, b, i); err != nil {
			return err
		}
	}
	if m.nextSeq != seq0 {
		w.SetMetaU64(metaNextSeq, m.nextSeq)
	}
	return nil
}

func (m *Monitor) forwardTx(ctx context.Context, w Writer, db Reader, b *Block, i int) error {
	rec := &b.Txs[i]
	var totalIn int64
	// in is keyed by watch and direction as a struct, not a joined
	// string, so that looking an event up allocates nothing.
	var in map[eventKey]*event
	get := func(id, dir string) *event {
		if in == nil {
			in = map[eventKey]*event{}
		}
		e := in[eventKey{id, dir}]
		if e == nil {
			e = &event{watch: id, dir: dir}
			in[eventKey{id, dir}] = e
		}
		return e
	}
	for k, inp := range rec.Ins {
		totalIn += inp.Value
		if inp.External {
			continue
		}
		op := outpoint{inp.PrevTxNum, inp.PrevVout}
		if ts, ok := m.outs[op]; ok {
			for _, t := range ts {
				e := get(t.watch, DirOut)
				e.amount += t.amount
				e.hop = max(e.hop, t.hop)
				e.addIn(k, t.amount, inp.Value)
			}
			delete(m.outs, op)
		}
		for _, id := range m.byID[inp.AddrID] {
			e := get(id, DirOut)
			e.amount += inp.Value
			e.addIn(k, inp.Value, inp.Value)
		}
	}
	// outWatched[vout] lists the watches whose addresses output vout pays.
	var outWatched map[int][]string
	// kbuf holds an output's address key: the look-up in keys is the
	// only thing every output of every transaction pays, and building
	// the key in place keeps it from allocating.
	var kbuf [64]byte
	for vout := range rec.Outs {
		o := &rec.Outs[vout]
		var keys []btc.AddrKey
		if b.OutAddrs != nil {
			keys = b.OutAddrs(i, vout)
		}
		for j, k := range keys {
			for _, id := range m.keys.lookup(k.AppendBytes(kbuf[:0])) {
				if j < len(o.AddrIDs) {
					m.byID[o.AddrIDs[j]] = appendOnce(m.byID[o.AddrIDs[j]], id)
				}
				if outWatched == nil {
					outWatched = map[int][]string{}
				}
				if !slices.Contains(outWatched[vout], id) {
					outWatched[vout] = append(outWatched[vout], id)
					get(id, DirIn).amount += o.Value
				}
			}
		}
	}
	if len(in) == 0 {
		return nil
	}
	events := make([]*event, 0, len(in))
	for _, e := range in {
		if e.dir == DirIn && in[eventKey{e.watch, DirOut}] != nil {
			continue // change back to a watched address of a spend
		}
		if m.watches[e.watch] == nil {
			continue // removed watch: its extended outputs go quiet
		}
		events = append(events, e)
	}
	slices.SortFunc(events, func(a, b *event) int {
		if c := strings.Compare(a.watch, b.watch); c != 0 {
			return c
		}
		return strings.Compare(a.dir, b.dir)
	})
	ext := map[int][]taint{}
	for _, e := range events {
		if e.dir != DirOut {
			continue
		}
		e.amount = min(e.amount, totalIn)
		e.tainted = m.shares(rec, e, totalIn)
		for vout := range rec.Outs {
			o := &rec.Outs[vout]
			if e.tainted[vout] < m.opts.Dust || o.Class == model.ScriptNullData || slices.Contains(outWatched[vout], e.watch) {
				continue
			}
			ext[vout] = append(ext[vout], taint{watch: e.watch, amount: e.tainted[vout], hop: e.hop + 1})
		}
	}
	for vout, ts := range ext {
		op := outpoint{rec.TxNum, uint32(vout)}
		m.outs[op] = ts
		w.PutMonitor(store.MonWatched, watchedKey(op), encodeWatched(b.Height, ts))
	}
	for _, e := range events {
		if err := m.raise(ctx, w, db, b, i, e, outWatched); err != nil {
			return err
		}
	}
	return nil
}

// addIn records that input index carried amount of e's watch, at most
// the input's value in all.
func (e *event) addIn(index int, amount, value int64) {
	if n := len(e.ins); n > 0 && e.ins[n-1].index == index {
		e.ins[n-1].amount = min(e.ins[n-1].amount+amount, value)
		return
	}
	e.ins = append(e.ins, inTaint{index: index, amount: min(amount, value)})
}

// shares returns the watched value of out event e that each output of rec
// carries, by the model of e's watch (package trace's definitions):
//
//   - haircut: every output carries the watched share of the inputs;
//   - poison: every output carries its whole value;
//   - fifo: the inputs' value laid end to end in input order, the watched
//     part of each input at its start, and the outputs taking
//     consecutive ranges of it in output order (the fee the end).
//
// Outputs that cannot be spent (OP_RETURN) carry none under poison.
func (m *Monitor) shares(rec *store.TxRec, e *event, totalIn int64) []int64 {
	out := make([]int64, len(rec.Outs))
	if e.amount <= 0 {
		return out
	}
	kind := ""
	if w := m.watches[e.watch]; w != nil {
		kind = w.Model
	}
	switch kind {
	case ModelPoison:
		for vout := range rec.Outs {
			if rec.Outs[vout].Class != model.ScriptNullData {
				out[vout] = rec.Outs[vout].Value
			}
		}
	case ModelFIFO:
		fifoShares(rec, e.ins, out)
	default:
		for vout := range rec.Outs {
			out[vout] = haircut(rec.Outs[vout].Value, e.amount, totalIn)
		}
	}
	return out
}

// fifoShares sets out[vout] to the overlap of output vout's range of the
// transaction's value with the watched ranges of ins (each at the start
// of its input), walking both in order once.
func fifoShares(rec *store.TxRec, ins []inTaint, out []int64) {
	// Watched ranges [lo, hi) in the inputs' laid-out value.
	type span struct{ lo, hi int64 }
	spans := make([]span, 0, len(ins))
	var pos int64
	j := 0
	for k := range rec.Ins {
		if j < len(ins) && ins[j].index == k {
			spans = append(spans, span{pos, pos + ins[j].amount})
			j++
		}
		pos += rec.Ins[k].Value
	}
	var start int64
	s := 0
	for vout := range rec.Outs {
		end := start + rec.Outs[vout].Value
		for s < len(spans) && spans[s].hi <= start {
			s++
		}
		for t := s; t < len(spans) && spans[t].lo < end; t++ {
			out[vout] += min(end, spans[t].hi) - max(start, spans[t].lo)
		}
		start = end
	}
}

// haircut is value's share of tainted in total, rounded down, without
// overflow.
func haircut(value, tainted, total int64) int64 {
	if total <= 0 || tainted <= 0 || value <= 0 {
		return 0
	}
	hi, lo := bits.Mul64(uint64(value), uint64(tainted))
	q, _ := bits.Div64(hi, lo, uint64(total))
	return int64(q)
}

// raise builds the counterparties of event e and writes an alert for
// each rule of its watch that matches.
func (m *Monitor) raise(ctx context.Context, w Writer, db Reader, b *Block, i int, e *event, outWatched map[int][]string) error {
	rec := &b.Txs[i]
	wt := m.watches[e.watch]
	var cps []Counterparty
	var txValue int64
	for vout := range rec.Outs {
		txValue += rec.Outs[vout].Value
	}
	if e.dir == DirOut {
		for vout := range rec.Outs {
			cp := Counterparty{Value: rec.Outs[vout].Value, Tainted: e.tainted[vout], Watched: slices.Contains(outWatched[vout], e.watch)}
			if b.OutAddrs != nil {
				if keys := b.OutAddrs(i, vout); len(keys) > 0 {
					cp.Address = keys[0].Encode(m.net)
				}
			}
			cps = append(cps, m.labelled(cp))
		}
	} else {
		for _, inp := range rec.Ins {
			cp := Counterparty{Value: inp.Value}
			if inp.AddrID != 0 {
				if k, err := db.AddrKey(ctx, inp.AddrID); err == nil {
					if ak, err := btc.AddrKeyFromBytes(k); err == nil {
						cp.Address = ak.Encode(m.net)
					}
				}
			}
			cps = append(cps, m.labelled(cp))
		}
	}
	for _, r := range wt.Rules {
		if !matches(r, e, cps) {
			continue
		}
		a := Alert{
			Seq: m.nextSeq, Kind: KindAlert, Watch: wt.ID, WatchName: wt.Name, Rule: r.String(),
			Chain: m.opts.Chain, Tx: rec.TxID.String(), Height: b.Height, Block: b.Hash.String(), Time: b.Time.UTC(),
			Direction: e.dir, Amount: e.amount, TxValue: txValue, Hop: e.hop, Counterparties: cps,
			Asset: NativeAsset(m.opts.Chain), Value: strconv.FormatInt(e.amount, 10),
		}
		a.setID()
		if err := m.put(w, &a); err != nil {
			return err
		}
		w.PutMonitor(store.MonAlertHeight, heightKey(b.Height, a.Seq), nil)
	}
	return nil
}

// put writes alert a (its Seq the next number) and its outbox entry.
func (m *Monitor) put(w Writer, a *Alert) error {
	return putAlert(w, a, &m.nextSeq, m.log)
}

// putAlert writes alert a (its Seq *next) and its outbox entry, and
// advances *next.
func putAlert(w Writer, a *Alert, next *uint64, log *slog.Logger) error {
	v, err := json.Marshal(a)
	if err != nil {
		return fmt.Errorf("monitor: %w", err)
	}
	w.PutMonitor(store.MonAlert, SeqKey(a.Seq), v)
	w.PutMonitor(store.MonOutbox, SeqKey(a.Seq), nil)
	*next++
	log.Info("monitor: alert", "id", a.ID, "kind", a.Kind, "watch", a.Watch, "rule", a.Rule, "tx", a.Tx, "height", a.Height)
	return nil
}

// labelled adds the labels of cp's address.
func (m *Monitor) labelled(cp Counterparty) Counterparty {
	if m.opts.Labels == nil || cp.Address == "" {
		return cp
	}
	for _, l := range m.opts.Labels.Lookup(m.opts.Chain, cp.Address) {
		cp.Labels = append(cp.Labels, Label{Label: l.Label, Category: l.Category, Actor: l.Actor, Entity: l.Entity, Dataset: l.Dataset})
	}
	return cp
}

// matches reports whether rule r matches event e with counterparties cps.
// Category and entity rules look at the outputs that received watched
// value and are not the watch's own addresses.
func matches(r Rule, e *event, cps []Counterparty) bool {
	switch r.Kind {
	case RuleAny:
		return true
	case RuleAbove:
		return e.amount > r.Amount
	case RuleCategory, RuleEntity:
		if e.dir != DirOut {
			return false
		}
		for _, cp := range cps {
			if cp.Tainted <= 0 || cp.Watched {
				continue
			}
			for _, l := range cp.Labels {
				if r.Kind == RuleCategory && strings.EqualFold(l.Category, r.Value) {
					return true
				}
				if r.Kind == RuleEntity && (strings.EqualFold(l.Actor, r.Value) || strings.EqualFold(l.Entity, r.Value) || strings.EqualFold(l.Label, r.Value)) {
					return true
				}
			}
		}
	}
	return false
}

// Unwind retracts the alerts block b raised, writing a retraction alert
// for each, and removes the watched outputs b created. The caller reloads
// the monitor (Load) once the unwind is committed, which brings back the
// watched outputs b had spent.
func (m *Monitor) Unwind(ctx context.Context, w Writer, db Reader, b *Block) error {
	seq0 := m.nextSeq
	if err := retractHeight(ctx, w, db, b.Height, &m.nextSeq, m.log); err != nil {
		return err
	}
	for i := range b.Txs {
		t := &b.Txs[i]
		for vout := range t.Outs {
			op := outpoint{t.TxNum, uint32(vout)}
			delete(m.outs, op)
			if _, ok, err := db.MonitorGet(ctx, store.MonWatched, watchedKey(op)); err != nil {
				return err
			} else if ok {
				w.DeleteMonitor(store.MonWatched, watchedKey(op))
			}
		}
	}
	if m.nextSeq != seq0 {
		w.SetMetaU64(metaNextSeq, m.nextSeq)
	}
	return nil
}

// tableReader reads the monitor's tables.
type tableReader interface {
	MonitorGet(ctx context.Context, t store.MonitorTable, key []byte) ([]byte, bool, error)
	MonitorScan(ctx context.Context, t store.MonitorTable, prefix []byte, fn func(key, val []byte) (bool, error)) error
}

// retractHeight writes a retraction (sequence numbers from *next) for
// each alert the block at height raised, and removes the block's entries
// of the alert height index, so a second unwind of the height retracts
// nothing again.
func retractHeight(ctx context.Context, w Writer, db tableReader, height uint64, next *uint64, log *slog.Logger) error {
	var hk [][]byte
	err := db.MonitorScan(ctx, store.MonAlertHeight, binary.BigEndian.AppendUint64(nil, height), func(k, _ []byte) (bool, error) {
		hk = append(hk, append([]byte(nil), k...))
		return true, nil
	})
	if err != nil {
		return err
	}
	for _, k := range hk {
		if len(k) != 16 {
			return fmt.Errorf("monitor: corrupt alert height key %x", k)
		}
		seq := binary.BigEndian.Uint64(k[8:])
		v, ok, err := db.MonitorGet(ctx, store.MonAlert, SeqKey(seq))
		if err != nil {
			return err
		}
		w.DeleteMonitor(store.MonAlertHeight, k)
		if !ok {
			continue
		}
		orig, err := DecodeAlert(v)
		if err != nil {
			return err
		}
		r := orig
		r.Seq, r.Kind, r.Retracts, r.Reason = *next, KindRetraction, orig.ID, RetractedReason
		r.setID()
		if err := putAlert(w, &r, next, log); err != nil {
			return err
		}
	}
	return nil
}

// watchedKey is a watched output's key: txnum(8) vout(4).
func watchedKey(op outpoint) []byte {
	k := binary.BigEndian.AppendUint64(make([]byte, 0, 12), op.txnum)
	return binary.BigEndian.AppendUint32(k, op.vout)
}

// encodeWatched encodes a watched output's value: the height that
// created it, then per watch its id (length-prefixed), tainted amount
// and hop, all uvarints.
func encodeWatched(height uint64, ts []taint) []byte {
	v := binary.AppendUvarint(nil, height)
	v = binary.AppendUvarint(v, uint64(len(ts)))
	for _, t := range ts {
		v = binary.AppendUvarint(v, uint64(len(t.watch)))
		v = append(v, t.watch...)
		v = binary.AppendUvarint(v, uint64(t.amount))
		v = binary.AppendUvarint(v, uint64(t.hop))
	}
	return v
}

func decodeWatched(k, v []byte) (outpoint, []taint, error) {
	bad := fmt.Errorf("monitor: corrupt watched output %x", k)
	if len(k) != 12 {
		return outpoint{}, nil, bad
	}
	op := outpoint{binary.BigEndian.Uint64(k), binary.BigEndian.Uint32(k[8:])}
	next := func() (uint64, bool) {
		x, n := binary.Uvarint(v)
		if n <= 0 {
			return 0, false
		}
		v = v[n:]
		return x, true
	}
	if _, ok := next(); !ok {
		return op, nil, bad
	}
	n, ok := next()
	if !ok || n > 1<<16 {
		return op, nil, bad
	}
	ts := make([]taint, 0, n)
	for range n {
		l, ok := next()
		if !ok || l > uint64(len(v)) {
			return op, nil, bad
		}
		id := string(v[:l])
		v = v[l:]
		amt, ok1 := next()
		hop, ok2 := next()
		if !ok1 || !ok2 || amt > 1<<62 || hop > 1<<20 {
			return op, nil, bad
		}
		ts = append(ts, taint{watch: id, amount: int64(amt), hop: int(hop)})
	}
	return op, ts, nil
}
