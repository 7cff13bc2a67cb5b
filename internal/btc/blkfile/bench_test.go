package blkfile

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"testing"

	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/wire"
)

// BenchmarkOpen measures scanning btcd's 14,132-block mainnet test file;
// the byte rate counts the records, not the zero padding after them.
func BenchmarkOpen(b *testing.B) {
	path, _, offs := realFile(b)
	b.SetBytes(offs[len(offs)-1])
	b.ReportAllocs()
	for b.Loop() {
		s, err := Open(context.Background(), path, wire.MainNet)
		if err != nil {
			b.Fatal(err)
		}
		s.Close()
	}
}

// BenchmarkBlocks measures reading all 14,132 blocks of the test file.
func BenchmarkBlocks(b *testing.B) {
	path, blocks, _ := realFile(b)
	var total int64
	for _, raw := range blocks {
		total += int64(len(raw))
	}
	s, err := Open(context.Background(), path, wire.MainNet)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	tip, _, _ := s.Tip(context.Background())
	b.SetBytes(total)
	b.ReportAllocs()
	for b.Loop() {
		err := s.Blocks(context.Background(), 0, tip, func(uint64, chainhash.Hash, []byte) error { return nil })
		if err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkBlocksShuffled reads the test blocks from five obfuscated files
// holding them in random order, the worst case for read batching.
func BenchmarkBlocksShuffled(b *testing.B) {
	_, blocks, _ := realFile(b)
	all := append([][]byte(nil), blocks...)
	rng := rand.New(rand.NewPCG(5, 6))
	rng.Shuffle(len(all), func(i, j int) { all[i], all[j] = all[j], all[i] })
	key := xorKey{9, 8, 7, 6, 5, 4, 3, 2}
	dir := b.TempDir()
	const nfiles = 5
	per := (len(all) + nfiles - 1) / nfiles
	var total int64
	for f := range nfiles {
		part := all[f*per : min((f+1)*per, len(all))]
		for _, raw := range part {
			total += int64(len(raw))
		}
		writeFile(b, filepath.Join(dir, fmt.Sprintf("blk%05d.dat", f)), obfuscate(records(wire.MainNet, part...), key))
	}
	writeFile(b, filepath.Join(dir, "xor.dat"), key[:])
	s, err := Open(context.Background(), dir, wire.MainNet)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	tip, _, _ := s.Tip(context.Background())
	b.SetBytes(total)
	b.ReportAllocs()
	for b.Loop() {
		err := s.Blocks(context.Background(), 0, tip, func(uint64, chainhash.Hash, []byte) error { return nil })
		if err != nil {
			b.Fatal(err)
		}
	}
}
