package btc

import (
	"bytes"
	"testing"

	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/wire"
)

// BenchmarkDecodeBlock compares DecodeBlock, reusing one Block, with
// btcd's wire.MsgBlock.Deserialize on the recent segwit test blocks.
func BenchmarkDecodeBlock(b *testing.B) {
	_, recent := loadBlocks(b)
	b.Run("ours", func(b *testing.B) {
		for _, tb := range recent {
			b.Run(tb.name, func(b *testing.B) {
				var blk Block
				if err := DecodeBlock(tb.raw, &blk); err != nil {
					b.Fatal(err)
				}
				b.SetBytes(int64(len(tb.raw)))
				b.ReportAllocs()
				b.ResetTimer()
				for b.Loop() {
					if err := DecodeBlock(tb.raw, &blk); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	})
	b.Run("btcd-wire", func(b *testing.B) {
		for _, tb := range recent {
			b.Run(tb.name, func(b *testing.B) {
				var r bytes.Reader
				b.SetBytes(int64(len(tb.raw)))
				b.ReportAllocs()
				for b.Loop() {
					var blk wire.MsgBlock
					r.Reset(tb.raw)
					if err := blk.Deserialize(&r); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	})
}

// BenchmarkTxIDs compares Block.TxIDs with btcd's MsgTx.TxHash over every
// transaction of the recent test blocks.
func BenchmarkTxIDs(b *testing.B) {
	_, recent := loadBlocks(b)
	b.Run("ours", func(b *testing.B) {
		for _, tb := range recent {
			b.Run(tb.name, func(b *testing.B) {
				var blk Block
				if err := DecodeBlock(tb.raw, &blk); err != nil {
					b.Fatal(err)
				}
				ids := make([]chainhash.Hash, 0, len(blk.Txs))
				b.SetBytes(int64(len(tb.raw)))
				b.ReportAllocs()
				for b.Loop() {
					ids = blk.TxIDs(ids)
				}
			})
		}
	})
	b.Run("btcd-wire", func(b *testing.B) {
		for _, tb := range recent {
			b.Run(tb.name, func(b *testing.B) {
				var blk wire.MsgBlock
				if err := blk.Deserialize(bytes.NewReader(tb.raw)); err != nil {
					b.Fatal(err)
				}
				ids := make([]chainhash.Hash, 0, len(blk.Transactions))
				b.SetBytes(int64(len(tb.raw)))
				b.ReportAllocs()
				for b.Loop() {
					ids = ids[:0]
					for _, tx := range blk.Transactions {
						ids = append(ids, tx.TxHash())
					}
				}
			})
		}
	})
}

// BenchmarkExtractAddrs classifies every output of the recent test blocks.
func BenchmarkExtractAddrs(b *testing.B) {
	_, recent := loadBlocks(b)
	for _, tb := range recent {
		b.Run(tb.name, func(b *testing.B) {
			var blk Block
			if err := DecodeBlock(tb.raw, &blk); err != nil {
				b.Fatal(err)
			}
			keys := make([]AddrKey, 0, 32)
			b.ReportAllocs()
			for b.Loop() {
				for i := range blk.Txs {
					for j := range blk.Txs[i].Outs {
						_, keys = ExtractAddrs(blk.Txs[i].Outs[j].Script, keys[:0])
					}
				}
			}
		})
	}
}
