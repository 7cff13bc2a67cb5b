package btc

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/btcsuite/btcd/chaincfg"
	"github.com/btcsuite/btcd/wire"
	"github.com/chaintrace/chaintrace/internal/model"
)

// fuzzSeeds holds seed inputs read from btcd's test data, when present.
type fuzzSeeds struct {
	blocks, txs, scripts [][]byte
}

// loadFuzzSeeds collects small blocks, transactions and output scripts.
// Whole recent blocks are too large to mutate quickly, so blocks made of
// their first transactions stand in for them.
func loadFuzzSeeds() fuzzSeeds {
	var s fuzzSeeds
	dir, err := btcdModuleDir()
	if err != nil {
		return s
	}
	if data, err := os.ReadFile(filepath.Join(dir, "blockchain", "testdata", "blk_0_to_14131.dat")); err == nil {
		var blocks [][]byte
		magic := []byte{0xf9, 0xbe, 0xb4, 0xd9}
		for len(data) >= 8 && bytes.Equal(data[:4], magic) {
			size := int(uint32(data[4]) | uint32(data[5])<<8 | uint32(data[6])<<16 | uint32(data[7])<<24)
			if size > len(data)-8 {
				break
			}
			blocks = append(blocks, data[8:8+size])
			data = data[8+size:]
		}
		for _, i := range []int{0, 1, 170, 546, 9000, 14000} {
			if i < len(blocks) {
				s.blocks = append(s.blocks, blocks[i])
			}
		}
	}
	files, _ := filepath.Glob(filepath.Join(dir, "wire", "testdata", "block-*.blk"))
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		var b Block
		if DecodeBlock(raw, &b) != nil {
			continue
		}
		for _, k := range []int{1, 3, 12} {
			if k <= len(b.Txs) {
				blk := append([]byte(nil), raw[:HeaderSize]...)
				blk = appendVarint(blk, uint64(k))
				for _, tx := range b.Txs[:k] {
					blk = append(blk, tx.Raw...)
				}
				s.blocks = append(s.blocks, blk)
			}
		}
		for i := 0; i < len(b.Txs); i += 97 {
			s.txs = append(s.txs, b.Txs[i].Raw)
			for _, o := range b.Txs[i].Outs {
				s.scripts = append(s.scripts, o.Script)
			}
		}
	}
	refs, _ := os.ReadDir(filepath.Join(dir, "txscript", "data", "taproot-ref"))
	for i := 0; i < len(refs); i += 53 {
		data, err := os.ReadFile(filepath.Join(dir, "txscript", "data", "taproot-ref", refs[i].Name()))
		if err != nil {
			continue
		}
		var v taprootVector
		if json.Unmarshal(bytes.TrimRight(bytes.TrimSpace(data), ","), &v) != nil {
			continue
		}
		if raw, err := hex.DecodeString(v.Tx); err == nil {
			s.txs = append(s.txs, raw)
		}
		for _, p := range v.Prevouts {
			if out, err := hex.DecodeString(p); err == nil && len(out) > 9 {
				s.scripts = append(s.scripts, out[9:])
			}
		}
	}
	return s
}

// checkTxInvariants checks the sizes and hashes of a decoded transaction
// against each other and against a standalone re-decode of Raw.
func checkTxInvariants(t *testing.T, tx *Tx) {
	t.Helper()
	if tx.BaseSize() > tx.Size() || tx.Weight() != 3*tx.BaseSize()+tx.Size() ||
		tx.VSize() != (tx.Weight()+3)/4 || tx.HasWitness() != (tx.BaseSize() != tx.Size()) {
		t.Fatalf("inconsistent sizes: base %d size %d weight %d vsize %d witness %v",
			tx.BaseSize(), tx.Size(), tx.Weight(), tx.VSize(), tx.HasWitness())
	}
	if !tx.HasWitness() && tx.TxID() != tx.WTxID() {
		t.Fatal("txid differs from wtxid without witness")
	}
	var again Tx
	n, err := DecodeTx(tx.Raw, &again)
	if err != nil || n != len(tx.Raw) || again.TxID() != tx.TxID() || again.WTxID() != tx.WTxID() {
		t.Fatalf("re-decoding Raw: %d of %d bytes, %v", n, len(tx.Raw), err)
	}
	// The stripped serialization, rebuilt from the fields, hashes to the
	// txid and has the base size.
	var s []byte
	s = append(s, tx.Raw[:4]...)
	s = appendVarint(s, uint64(len(tx.Ins)))
	var items [][]byte
	witnessItems := 0
	for i := range tx.Ins {
		in := &tx.Ins[i]
		s = append(s, in.PrevTxID[:]...)
		s = append(s, byte(in.PrevIndex), byte(in.PrevIndex>>8), byte(in.PrevIndex>>16), byte(in.PrevIndex>>24))
		s = appendVarint(s, uint64(len(in.Script)))
		s = append(s, in.Script...)
		s = append(s, byte(in.Sequence), byte(in.Sequence>>8), byte(in.Sequence>>16), byte(in.Sequence>>24))
		items = in.WitnessItems(items[:0])
		witnessItems += len(items)
	}
	s = appendVarint(s, uint64(len(tx.Outs)))
	for _, o := range tx.Outs {
		v := uint64(o.Value)
		for i := 0; i < 8; i++ {
			s = append(s, byte(v>>(8*i)))
		}
		s = appendVarint(s, uint64(len(o.Script)))
		s = append(s, o.Script...)
	}
	s = append(s, tx.Raw[len(tx.Raw)-4:]...)
	if len(s) != tx.BaseSize() {
		// The package accepts non-canonical compact sizes, which the
		// canonical rebuild shortens; btcd rejects them.
		err := new(wire.MsgTx).Deserialize(bytes.NewReader(tx.Raw))
		if err == nil || !strings.Contains(err.Error(), "non-canonical") {
			t.Fatalf("stripped serialization of %d bytes, base size %d; btcd: %v", len(s), tx.BaseSize(), err)
		}
		return
	}
	if doubleSHA256(s) != tx.TxID() {
		t.Fatalf("stripped serialization of %d bytes, base size %d", len(s), tx.BaseSize())
	}
	if tx.HasWitness() && witnessItems == 0 {
		t.Fatal("witness serialization without witness items")
	}
}

// FuzzDecodeBlock decodes arbitrary blocks: no panic, consistent sizes,
// and agreement with btcd's wire package whenever both decode.
func FuzzDecodeBlock(f *testing.F) {
	for _, b := range loadFuzzSeeds().blocks {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var b Block
		err := DecodeBlock(data, &b)
		var w wire.MsgBlock
		r := bytes.NewReader(data)
		werr := w.Deserialize(r)
		if err != nil {
			if _, ok := err.(*DecodeError); !ok {
				t.Fatalf("error of type %T: %v", err, err)
			}
			// btcd decoding the whole input where the package fails is
			// a bug, except for transactions without inputs, which
			// btcd accepts after a segwit marker.
			if werr == nil && r.Len() == 0 && !strings.Contains(err.Error(), "no inputs") {
				t.Fatalf("btcd decodes, the package fails: %v", err)
			}
			return
		}
		if b.Size != len(data) {
			t.Fatalf("size %d of %d bytes", b.Size, len(data))
		}
		total := HeaderSize + varintLen(uint64(len(b.Txs)))
		for i := range b.Txs {
			total += b.Txs[i].Size()
			checkTxInvariants(t, &b.Txs[i])
		}
		if total > len(data) {
			t.Fatalf("transactions cover %d of %d bytes", total, len(data))
		}
		if werr == nil && r.Len() == 0 {
			if d := diffBlock(&b, &w, false); d != "" {
				t.Fatal(d)
			}
		}
	})
}

// FuzzDecodeTx decodes arbitrary transactions like FuzzDecodeBlock.
func FuzzDecodeTx(f *testing.F) {
	for _, tx := range loadFuzzSeeds().txs {
		f.Add(tx)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var tx Tx
		n, err := DecodeTx(data, &tx)
		var w wire.MsgTx
		r := bytes.NewReader(data)
		werr := w.Deserialize(r)
		if err != nil {
			if werr == nil && !strings.Contains(err.Error(), "no inputs") {
				t.Fatalf("btcd decodes, the package fails: %v", err)
			}
			return
		}
		if n != len(tx.Raw) || n > len(data) || !bytes.Equal(tx.Raw, data[:n]) {
			t.Fatalf("consumed %d, raw %d, input %d", n, len(tx.Raw), len(data))
		}
		checkTxInvariants(t, &tx)
		if werr == nil {
			if len(data)-r.Len() != n {
				t.Fatalf("consumed %d bytes, btcd %d", n, len(data)-r.Len())
			}
			if d := diffTx(&tx, &w); d != "" {
				t.Fatal(d)
			}
		}
	})
}

// FuzzExtractAddrs classifies arbitrary scripts: no panic, every key
// round-trips through Bytes and its text form on two networks, the class
// agrees with its keys, and the result agrees with btcd's txscript up to
// the deliberate differences.
func FuzzExtractAddrs(f *testing.F) {
	for _, s := range loadFuzzSeeds().scripts {
		f.Add(s)
	}
	for _, s := range []string{"", "6a", "51", "0014" + h20, "5120" + h32, "6002751e",
		"51" + "21" + compressedKey + "51ae", "41" + genesisPubKey + "ac", "6a4c0100"} {
		b, _ := hex.DecodeString(s)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, script []byte) {
		class, keys := ExtractAddrs(script, nil)
		switch class {
		case model.ScriptNullData:
			if len(keys) != 0 {
				t.Fatalf("nulldata with keys %v", keys)
			}
		case model.ScriptNonStandard:
			if len(keys) != 1 || keys[0] != NonStandardKey(script) {
				t.Fatalf("nonstandard with keys %v", keys)
			}
		case model.ScriptMultisig:
			if len(keys) == 0 || len(keys) > maxMultisigKeys {
				t.Fatalf("multisig with %d keys", len(keys))
			}
		default:
			if len(keys) != 1 {
				t.Fatalf("%s with keys %v", class, keys)
			}
		}
		for _, k := range keys {
			for _, net := range []*chaincfg.Params{&chaincfg.MainNetParams, &chaincfg.TestNet3Params} {
				s := k.Encode(net)
				back, err := ParseAddress(s, net)
				if err != nil || back != k {
					t.Fatalf("%v: %s parses to %v, %v", k, s, back, err)
				}
			}
		}
		if d := diffAddrs(script, &chaincfg.MainNetParams, addrDivergence{}); d != "" {
			t.Fatal(d)
		}
	})
}
