package screen_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/btcsuite/btcd/blockchain"
	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/chaincfg"
	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/wire"
	"github.com/chaintrace/chaintrace/internal/btc"
	"github.com/chaintrace/chaintrace/internal/btc/blkfile"
	"github.com/chaintrace/chaintrace/internal/ingest"
	"github.com/chaintrace/chaintrace/internal/sim/btcgen"
	"github.com/chaintrace/chaintrace/internal/store"
)

// regtestBits is regtest's proof-of-work limit: about one header in two
// meets it, so grinding a nonce is instant.
const regtestBits = 0x207fffff

const coin = 100_000_000

// chainBuilder mines a hand-written regtest chain on top of the real
// regtest genesis block.
type chainBuilder struct {
	t      testing.TB
	net    *chaincfg.Params
	blocks []*wire.MsgBlock
	prev   chainhash.Hash
	when   time.Time
}

func newChainBuilder(t testing.TB) *chainBuilder {
	net := &chaincfg.RegressionNetParams
	return &chainBuilder{
		t: t, net: net,
		blocks: []*wire.MsgBlock{net.GenesisBlock},
		prev:   *net.GenesisHash,
		when:   net.GenesisBlock.Header.Timestamp,
	}
}

// wallet is a P2WPKH address derived from a name.
type wallet struct {
	name   string
	script []byte
	addr   string
}

func (c *chainBuilder) wallet(name string) wallet {
	h := sha256.Sum256([]byte("screen-test:" + name))
	k, err := btc.NewAddrKey(btc.AddrWPKH, 0, h[:20])
	if err != nil {
		c.t.Fatal(err)
	}
	return wallet{name: name, script: append([]byte{0x00, 0x14}, h[:20]...), addr: k.Encode(c.net)}
}

// coinRef names an output to spend.
type coinRef struct {
	tx   *wire.MsgTx
	vout uint32
}

// pay builds a transaction spending ins into outs (wallet, value pairs).
func pay(ins []coinRef, outs ...any) *wire.MsgTx {
	tx := wire.NewMsgTx(2)
	for _, in := range ins {
		tx.AddTxIn(wire.NewTxIn(&wire.OutPoint{Hash: in.tx.TxHash(), Index: in.vout}, nil, nil))
	}
	for i := 0; i < len(outs); i += 2 {
		tx.AddTxOut(wire.NewTxOut(outs[i+1].(int64), outs[i].(wallet).script))
	}
	return tx
}

// mine appends a block holding a coinbase paying to miner and then txs,
// and returns the coinbase.
func (c *chainBuilder) mine(miner wallet, reward int64, txs ...*wire.MsgTx) *wire.MsgTx {
	height := len(c.blocks)
	cb := wire.NewMsgTx(1)
	// BIP34: the height first in the coinbase script, padded past the
	// two-byte minimum.
	cb.AddTxIn(wire.NewTxIn(&wire.OutPoint{Index: wire.MaxPrevOutIndex}, []byte{0x01, byte(height), 0x00, 0x00}, nil))
	cb.AddTxOut(wire.NewTxOut(reward, miner.script))
	c.when = c.when.Add(10 * time.Minute)
	blk := wire.NewMsgBlock(&wire.BlockHeader{
		Version:   4,
		PrevBlock: c.prev,
		Timestamp: c.when,
		Bits:      regtestBits,
	})
	utxs := []*btcutil.Tx{btcutil.NewTx(cb)}
	if err := blk.AddTransaction(cb); err != nil {
		c.t.Fatal(err)
	}
	for _, tx := range txs {
		utxs = append(utxs, btcutil.NewTx(tx))
		if err := blk.AddTransaction(tx); err != nil {
			c.t.Fatal(err)
		}
	}
	blk.Header.MerkleRoot = blockchain.CalcMerkleRoot(utxs, false)
	target := blockchain.CompactToBig(regtestBits)
	for {
		h := blk.Header.BlockHash()
		if blockchain.HashToBig(&h).Cmp(target) <= 0 {
			c.prev = h
			break
		}
		blk.Header.Nonce++
	}
	c.blocks = append(c.blocks, blk)
	return cb
}

// ingest writes the chain as a Core blk file, ingests it into a fresh
// store and returns the store, open for reading.
func (c *chainBuilder) ingest() *store.DB {
	c.t.Helper()
	ctx := context.Background()
	blkDir := c.t.TempDir()
	var buf bytes.Buffer
	if err := btcgen.WriteRecords(&buf, c.net.Net, c.blocks...); err != nil {
		c.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(blkDir, "blk00000.dat"), buf.Bytes(), 0o644); err != nil {
		c.t.Fatal(err)
	}
	db, err := store.Open(ctx, c.t.TempDir(), store.ChainMeta{Chain: "btc", Network: "regtest"}, store.Options{})
	if err != nil {
		c.t.Fatal(err)
	}
	c.t.Cleanup(func() { db.Close() })
	src, err := blkfile.Open(ctx, blkDir, c.net.Net)
	if err != nil {
		c.t.Fatal(err)
	}
	defer src.Close()
	st, err := ingest.NewBTC(db, src, ingest.Options{}).Run(ctx)
	if err != nil {
		c.t.Fatal(err)
	}
	if int(st.Height) != len(c.blocks)-1 {
		c.t.Fatalf("ingested up to height %d, want %d", st.Height, len(c.blocks)-1)
	}
	return db
}
