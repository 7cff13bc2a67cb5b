package btc

import (
	"bytes"
	"errors"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/btcsuite/btcd/chaincfg"
	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/wire"
	"github.com/chaintrace/chaintrace/internal/model"
)

// TestDecodeBlocksAgainstWire decodes every test block with the package
// and with btcd's wire package and compares everything, addresses of
// every output included.
func TestDecodeBlocksAgainstWire(t *testing.T) {
	early, recent := loadBlocks(t)
	for _, set := range []struct {
		name   string
		blocks []testBlock
	}{{"blk_0_to_14131", early}, {"wire-testdata", recent}} {
		t.Run(set.name, func(t *testing.T) {
			var b Block
			div := addrDivergence{}
			txs, outs := 0, 0
			for _, tb := range set.blocks {
				if err := DecodeBlock(tb.raw, &b); err != nil {
					t.Fatalf("%s: %v", tb.name, err)
				}
				var w wire.MsgBlock
				if err := w.Deserialize(bytes.NewReader(tb.raw)); err != nil {
					t.Fatalf("%s: btcd: %v", tb.name, err)
				}
				if d := diffBlock(&b, &w, true); d != "" {
					t.Fatalf("%s: %s", tb.name, d)
				}
				for i := range b.Txs {
					txs++
					for j := range b.Txs[i].Outs {
						outs++
						if d := diffAddrs(b.Txs[i].Outs[j].Script, &chaincfg.MainNetParams, div); d != "" {
							t.Fatalf("%s tx %d output %d: %s", tb.name, i, j, d)
						}
					}
				}
			}
			t.Logf("%d blocks, %d txs, %d outputs match btcd; deliberate differences: %v",
				len(set.blocks), txs, outs, div)
		})
	}
}

// TestBlock170 checks the first bitcoin payment, from Satoshi to Hal
// Finney.
func TestBlock170(t *testing.T) {
	early, _ := loadBlocks(t)
	want, _ := chainhash.NewHashFromStr("f4184fc596403b9d638783cf57adfe4c75c605f6356fbc91338530e9831e9e16")
	var b Block
	for _, tb := range early {
		if err := DecodeBlock(tb.raw, &b); err != nil {
			t.Fatal(err)
		}
		for i := range b.Txs {
			tx := &b.Txs[i]
			if tx.TxID() != *want {
				continue
			}
			if tb.name != "height-170" {
				t.Errorf("tx found in %s, want height-170", tb.name)
			}
			if tx.IsCoinbase() || len(tx.Outs) != 2 {
				t.Fatalf("coinbase %v, %d outputs", tx.IsCoinbase(), len(tx.Outs))
			}
			for j, o := range []struct {
				value int64
				addr  string
			}{{1000000000, "1Q2TWHE3GMdB6BZKafqwxXtWAWgFt5Jvm3"}, {4000000000, "12cbQLTFMXRnSzktFkuoG3eHoMeFtpTu3S"}} {
				class, keys := ExtractAddrs(tx.Outs[j].Script, nil)
				if tx.Outs[j].Value != o.value || class != model.ScriptP2PK || len(keys) != 1 ||
					keys[0].Encode(&chaincfg.MainNetParams) != o.addr {
					t.Errorf("output %d: %d sat, %s %v; want %d to %s", j, tx.Outs[j].Value, class, keys, o.value, o.addr)
				}
			}
			return
		}
	}
	t.Fatal("block 170 transaction not found")
}

// TestDecodeTxStandalone decodes the transactions of a segwit block one
// by one, with trailing bytes after each.
func TestDecodeTxStandalone(t *testing.T) {
	_, recent := loadBlocks(t)
	var b Block
	if err := DecodeBlock(recent[0].raw, &b); err != nil {
		t.Fatal(err)
	}
	offs := txOffsets(t, recent[0].raw)
	for i := range b.Txs {
		var tx Tx
		n, err := DecodeTx(recent[0].raw[offs[i]:], &tx)
		if err != nil {
			t.Fatalf("tx %d: %v", i, err)
		}
		if n != len(b.Txs[i].Raw) || tx.TxID() != b.Txs[i].TxID() || tx.WTxID() != b.Txs[i].WTxID() {
			t.Fatalf("tx %d: consumed %d of %d bytes, txid %s vs %s", i, n, len(b.Txs[i].Raw), tx.TxID(), b.Txs[i].TxID())
		}
	}
	// DecodeTx must not write into the arrays of the block it came from.
	orig := b.Txs[1].Ins
	saved := append([]TxIn(nil), orig...)
	if _, err := DecodeTx(b.Txs[2].Raw, &b.Txs[1]); err != nil {
		t.Fatal(err)
	}
	for i := range orig {
		if orig[i].PrevTxID != saved[i].PrevTxID || !bytes.Equal(orig[i].Script, saved[i].Script) {
			t.Fatal("DecodeTx overwrote the block's input array")
		}
	}
	if b.Txs[1].TxID() != b.Txs[2].TxID() {
		t.Fatal("re-decoded tx differs")
	}
}

// TestTruncation cuts a real segwit block at sampled points: every cut
// must fail with a DecodeError, never panic.
func TestTruncation(t *testing.T) {
	_, recent := loadBlocks(t)
	raw := recent[0].raw
	var cuts []int
	for i := 0; i < 200; i++ {
		cuts = append(cuts, i, len(raw)-1-i)
	}
	step := 997
	if testing.Short() || raceEnabled {
		step = 9973
	}
	for i := 200; i < len(raw)-200; i += step {
		cuts = append(cuts, i)
	}
	var b Block
	for _, cut := range cuts {
		err := DecodeBlock(raw[:cut], &b)
		var de *DecodeError
		if !errors.As(err, &de) {
			t.Fatalf("cut at %d: got %v, want a *DecodeError", cut, err)
		}
		if !errors.Is(err, ErrTruncated) && !errors.Is(err, ErrMalformed) {
			t.Fatalf("cut at %d: %v wraps neither ErrTruncated nor ErrMalformed", cut, err)
		}
		if de.Offset < 0 || de.Offset > int64(cut) {
			t.Fatalf("cut at %d: offset %d outside the input", cut, de.Offset)
		}
	}
	// Every prefix of a few transactions, witness and not.
	if err := DecodeBlock(raw, &b); err != nil {
		t.Fatal(err)
	}
	for _, i := range []int{0, 1, len(b.Txs) / 2, len(b.Txs) - 1} {
		txRaw := b.Txs[i].Raw
		for cut := 0; cut < len(txRaw); cut++ {
			var tx Tx
			if n, err := DecodeTx(txRaw[:cut], &tx); err == nil {
				t.Fatalf("tx %d cut at %d of %d: decoded %d bytes", i, cut, len(txRaw), n)
			}
		}
	}
	// One byte too many.
	err := DecodeBlock(append(append([]byte(nil), raw...), 0), &b)
	if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), "1 bytes after the last") {
		t.Fatalf("trailing byte: %v", err)
	}
}

// TestDecodeErrorFormat checks the message and offset of a truncation.
func TestDecodeErrorFormat(t *testing.T) {
	early, _ := loadBlocks(t)
	raw := early[170].raw
	offs := txOffsets(t, raw)
	// Cut inside the script of input 0 of tx 1: version(4), count(1),
	// prevout(36), script length varint(1), then the script.
	scriptOff := offs[1] + 4 + 1 + 36 + 1
	err := DecodeBlock(raw[:scriptOff+5], new(Block))
	var de *DecodeError
	if !errors.As(err, &de) || de.Offset != int64(scriptOff) || de.What != "tx 1 input 0 script" {
		t.Fatalf("got %#v", err)
	}
	want := "btc: decode tx 1 input 0 script: truncated at offset " + strconv.Itoa(scriptOff)
	if !strings.HasPrefix(err.Error(), want) {
		t.Fatalf("message %q, want prefix %q", err, want)
	}
	if _, err := DecodeTx(raw[offs[1]:scriptOff+5], new(Tx)); err == nil ||
		!strings.HasPrefix(err.Error(), "btc: decode tx input 0 script: truncated at offset 42") {
		t.Fatalf("standalone: %v", err)
	}
}

// splice replaces the varint at off in raw with v.
func splice(raw []byte, off int, v uint64) []byte {
	_, rest, _ := splitVarint(raw[off:])
	out := append([]byte(nil), raw[:off]...)
	out = appendVarint(out, v)
	return append(out, rest...)
}

// TestCorruptCounts forges huge counts and lengths: decoding must fail
// with ErrMalformed without allocating for the forged size.
func TestCorruptCounts(t *testing.T) {
	_, recent := loadBlocks(t)
	raw := subBlock(t, recent[0].raw, 40)
	var b Block
	if err := DecodeBlock(raw, &b); err != nil {
		t.Fatal(err)
	}
	offs := txOffsets(t, raw)
	segwitTx := -1
	for i := range b.Txs {
		if b.Txs[i].HasWitness() && i > 0 {
			segwitTx = i
			break
		}
	}
	if segwitTx < 0 {
		t.Fatal("no segwit tx in the sample")
	}
	tx := &b.Txs[segwitTx]
	inCount := offs[segwitTx] + 6
	// The output count follows the inputs.
	outCount := offs[segwitTx] + 6 + varintLen(uint64(len(tx.Ins)))
	for _, in := range tx.Ins {
		outCount += 36 + varintLen(uint64(len(in.Script))) + len(in.Script) + 4
	}
	witCount := offs[segwitTx] + tx.witStart
	scriptLen := offs[segwitTx] + 6 + varintLen(uint64(len(tx.Ins))) + 36
	cases := []struct {
		name string
		off  int
	}{
		{"tx count", HeaderSize},
		{"input count", inCount},
		{"output count", outCount},
		{"script length", scriptLen},
		{"witness item count", witCount},
		{"witness item length", witCount + 1},
	}
	for _, c := range cases {
		for _, v := range []uint64{0xffffffffffffffff, 0xffffffff, 1 << 40, uint64(len(raw))} {
			bad := splice(raw, c.off, v)
			var mem runtime.MemStats
			runtime.ReadMemStats(&mem)
			before := mem.TotalAlloc
			err := DecodeBlock(bad, &b)
			runtime.ReadMemStats(&mem)
			if err == nil {
				t.Fatalf("%s = %d: decoded", c.name, v)
			}
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrTruncated) {
				t.Fatalf("%s = %d: %v", c.name, v, err)
			}
			if grew := mem.TotalAlloc - before; grew > 64<<10 {
				t.Errorf("%s = %d: allocated %d bytes", c.name, v, grew)
			}
			// Only the error itself is allocated: a handful of small
			// objects (more under the race detector, whose sync.Pool
			// drops items).
			allocs := testing.AllocsPerRun(5, func() { _ = DecodeBlock(bad, &b) })
			if allocs > 32 {
				t.Errorf("%s = %d: %.0f allocations per failed decode", c.name, v, allocs)
			}
		}
	}
}

func varintLen(v uint64) int {
	return len(appendVarint(nil, v))
}

// TestSegwitFlagErrors checks the marker/flag handling.
func TestSegwitFlagErrors(t *testing.T) {
	_, recent := loadBlocks(t)
	var b Block
	if err := DecodeBlock(recent[0].raw, &b); err != nil {
		t.Fatal(err)
	}
	var seg *Tx
	for i := 1; i < len(b.Txs); i++ {
		if b.Txs[i].HasWitness() {
			seg = &b.Txs[i]
			break
		}
	}
	raw := append([]byte(nil), seg.Raw...)
	raw[5] = 0x02
	if _, err := DecodeTx(raw, new(Tx)); !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), "segwit flag") {
		t.Fatalf("flag 2: %v", err)
	}
	// Marker and flag with every witness stack empty.
	var empty []byte
	empty = append(empty, seg.Raw[:seg.witStart]...)
	for range seg.Ins {
		empty = append(empty, 0)
	}
	empty = append(empty, seg.Raw[seg.witEnd:]...)
	if _, err := DecodeTx(empty, new(Tx)); !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), "no input has a witness") {
		t.Fatalf("superfluous witness: %v", err)
	}
	// No inputs without the marker.
	noIns := append(append([]byte(nil), seg.Raw[:4]...), 0, 0, 0, 0, 0, 0)
	if _, err := DecodeTx(noIns, new(Tx)); !errors.Is(err, ErrMalformed) {
		t.Fatalf("no inputs: %v", err)
	}
}

// TestMerkle checks MerkleRoot against a naive level-by-level
// computation and the mutation check of CheckMerkle.
func TestMerkle(t *testing.T) {
	naive := func(ids []chainhash.Hash) chainhash.Hash {
		if len(ids) == 0 {
			return chainhash.Hash{}
		}
		level := append([]chainhash.Hash(nil), ids...)
		for len(level) > 1 {
			if len(level)%2 == 1 {
				level = append(level, level[len(level)-1])
			}
			next := level[:0]
			for i := 0; i < len(level); i += 2 {
				next = append(next, chainhash.DoubleHashH(append(level[i][:], level[i+1][:]...)))
			}
			level = next
		}
		return level[0]
	}
	var ids []chainhash.Hash
	for n := 0; n <= 70; n++ {
		if got, want := MerkleRoot(ids), naive(ids); got != want {
			t.Fatalf("%d ids: %s, want %s", n, got, want)
		}
		ids = append(ids, chainhash.DoubleHashH([]byte{byte(n), byte(n >> 8)}))
	}
	if allocs := testing.AllocsPerRun(10, func() { MerkleRoot(ids) }); allocs != 0 {
		t.Errorf("MerkleRoot allocates %.0f times", allocs)
	}

	// A block whose last transaction is repeated has the same root but a
	// mutated tree (CVE-2012-2459).
	early, _ := loadBlocks(t)
	var b Block
	for _, tb := range early {
		if err := DecodeBlock(tb.raw, &b); err != nil {
			t.Fatal(err)
		}
		if len(b.Txs) == 3 {
			break
		}
	}
	if len(b.Txs) != 3 {
		t.Skip("no three-transaction block")
	}
	var dup []byte
	dup = append(dup, b.Header.Raw[:]...)
	dup = append(dup, 4)
	for i := range b.Txs {
		dup = append(dup, b.Txs[i].Raw...)
	}
	dup = append(dup, b.Txs[2].Raw...)
	var m Block
	if err := DecodeBlock(dup, &m); err != nil {
		t.Fatal(err)
	}
	err := m.CheckMerkle(nil)
	if !errors.Is(err, ErrMerkleMismatch) || !strings.Contains(err.Error(), "duplicated") {
		t.Fatalf("mutated block: %v", err)
	}
	// A wrong root names the block and both roots.
	m.Header.MerkleRoot[0] ^= 1
	err = m.CheckMerkle(nil)
	if !errors.Is(err, ErrMerkleMismatch) || !strings.Contains(err.Error(), m.Hash().String()) ||
		!strings.Contains(err.Error(), m.Header.MerkleRoot.String()) {
		t.Fatalf("bad root: %v", err)
	}
	if err := m.CheckMerkle(make([]chainhash.Hash, 2)); !errors.Is(err, ErrMerkleMismatch) {
		t.Fatalf("wrong txid count: %v", err)
	}
}

// TestZeroAllocs checks that steady-state decoding, txid computation and
// address extraction do not allocate.
func TestZeroAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts differ under the race detector")
	}
	_, recent := loadBlocks(t)
	for _, tb := range recent {
		var b Block
		if err := DecodeBlock(tb.raw, &b); err != nil {
			t.Fatal(err)
		}
		if a := testing.AllocsPerRun(5, func() { _ = DecodeBlock(tb.raw, &b) }); a != 0 {
			t.Errorf("%s: DecodeBlock allocates %.0f times", tb.name, a)
		}
		ids := b.TxIDs(nil)
		if a := testing.AllocsPerRun(5, func() { ids = b.TxIDs(ids) }); a != 0 {
			t.Errorf("%s: TxIDs allocates %.0f times", tb.name, a)
		}
		if a := testing.AllocsPerRun(5, func() { _ = b.CheckMerkle(ids) }); a != 0 {
			t.Errorf("%s: CheckMerkle allocates %.0f times", tb.name, a)
		}
		keys := make([]AddrKey, 0, 64)
		a := testing.AllocsPerRun(2, func() {
			for i := range b.Txs {
				for j := range b.Txs[i].Outs {
					_, keys = ExtractAddrs(b.Txs[i].Outs[j].Script, keys[:0])
				}
			}
		})
		if a != 0 {
			t.Errorf("%s: ExtractAddrs allocates %.0f times per block", tb.name, a)
		}
	}
}

// TestHeader checks DecodeHeader on the genesis block.
func TestHeader(t *testing.T) {
	var h Header
	genesis := chaincfg.MainNetParams.GenesisBlock
	var buf bytes.Buffer
	if err := genesis.Header.Serialize(&buf); err != nil {
		t.Fatal(err)
	}
	if err := DecodeHeader(buf.Bytes(), &h); err != nil {
		t.Fatal(err)
	}
	if d := diffHeader(&h, &genesis.Header); d != "" {
		t.Fatal(d)
	}
	if h.BlockHash() != *chaincfg.MainNetParams.GenesisHash {
		t.Fatalf("hash %s", h.BlockHash())
	}
	if err := DecodeHeader(buf.Bytes()[:79], &h); !errors.Is(err, ErrTruncated) {
		t.Fatalf("short header: %v", err)
	}
}

// TestReuseDropsOldReferences decodes a large block and then a small one
// into the same Block: the unused tails of the reused arrays must not
// reference the large block's buffer.
func TestReuseDropsOldReferences(t *testing.T) {
	early, recent := loadBlocks(t)
	var b Block
	if err := DecodeBlock(recent[0].raw, &b); err != nil {
		t.Fatal(err)
	}
	if err := DecodeBlock(early[170].raw, &b); err != nil {
		t.Fatal(err)
	}
	for i, tx := range b.Txs[len(b.Txs):cap(b.Txs)] {
		if tx.Raw != nil || tx.Ins != nil || tx.Outs != nil {
			t.Fatalf("tx slot %d still set", len(b.Txs)+i)
		}
	}
	for i, in := range b.ins[b.usedIns:cap(b.ins)] {
		if in.Script != nil || in.Witness != nil {
			t.Fatalf("input slot %d still set", b.usedIns+i)
		}
	}
	for i, out := range b.outs[b.usedOuts:cap(b.outs)] {
		if out.Script != nil {
			t.Fatalf("output slot %d still set", b.usedOuts+i)
		}
	}
	var w wire.MsgBlock
	if err := w.Deserialize(bytes.NewReader(early[170].raw)); err != nil {
		t.Fatal(err)
	}
	if d := diffBlock(&b, &w, true); d != "" {
		t.Fatal(d)
	}
}
