package blkfile

import (
	"encoding/binary"
	"fmt"
	"log/slog"
	"math"
	"math/big"
	"math/bits"

	"github.com/btcsuite/btcd/blockchain"
	"github.com/btcsuite/btcd/chaincfg/chainhash"
)

// u256 is an unsigned 256-bit number, least significant limb first. It
// holds targets and chain work without a big.Int per block.
type u256 [4]uint64

func u256FromBig(b *big.Int) (u256, bool) {
	var x u256
	if b.Sign() < 0 || b.BitLen() > 256 {
		return x, false
	}
	var buf [32]byte
	b.FillBytes(buf[:])
	for i := range x {
		x[i] = binary.BigEndian.Uint64(buf[32-8*(i+1):])
	}
	return x, true
}

// u256FromHash interprets a block hash as a number, the way proof of work
// compares it with the target.
func u256FromHash(h *chainhash.Hash) u256 {
	var x u256
	for i := range x {
		x[i] = binary.LittleEndian.Uint64(h[8*i:])
	}
	return x
}

func (x u256) cmp(y u256) int {
	for i := len(x) - 1; i >= 0; i-- {
		if x[i] != y[i] {
			if x[i] < y[i] {
				return -1
			}
			return 1
		}
	}
	return 0
}

// add returns x+y, saturating instead of wrapping.
func (x u256) add(y u256) u256 {
	var z u256
	var carry uint64
	for i := range z {
		z[i], carry = bits.Add64(x[i], y[i], carry)
	}
	if carry != 0 {
		return u256{math.MaxUint64, math.MaxUint64, math.MaxUint64, math.MaxUint64}
	}
	return z
}

// bitsInfo is what a compact target means: the target and the work of a
// block meeting it. ok is false when the encoding is not a valid target.
type bitsInfo struct {
	target u256
	work   u256
	ok     bool
}

// node is one block found by the scan.
type node struct {
	hash   chainhash.Hash
	off    int64
	file   int32
	size   uint32
	bits   uint32
	parent int32
}

// tree collects the scanned blocks and picks the best chain.
type tree struct {
	nodes []node
	// prevs holds each node's previous-block hash until the tree is linked.
	prevs     []chainhash.Hash
	index     map[chainhash.Hash]int32
	bits      map[uint32]bitsInfo
	dups      int
	connected int
}

func (t *tree) init() {
	t.index = make(map[chainhash.Hash]int32)
	t.bits = make(map[uint32]bitsInfo)
}

func (t *tree) bitsInfo(compact uint32) bitsInfo {
	if bi, ok := t.bits[compact]; ok {
		return bi
	}
	var bi bitsInfo
	target := blockchain.CompactToBig(compact)
	if target.Sign() > 0 {
		var ok1, ok2 bool
		bi.target, ok1 = u256FromBig(target)
		bi.work, ok2 = u256FromBig(blockchain.CalcWork(compact))
		bi.ok = ok1 && ok2
	}
	t.bits[compact] = bi
	return bi
}

// add records the block whose 80-byte header is hdr, found in a record at
// off of file. It returns a description of what is wrong with the header, or
// "" when the block was added (or is a duplicate of one already added).
func (t *tree) add(hdr []byte, file int32, off int64, size uint32) string {
	hash, prev, compact := parseHeader(hdr)
	bi := t.bitsInfo(compact)
	if !bi.ok {
		return fmt.Sprintf("block header %s has an invalid target encoding %#08x", hash, compact)
	}
	if u256FromHash(&hash).cmp(bi.target) > 0 {
		return fmt.Sprintf("block header %s fails its proof of work (target bits %#08x)", hash, compact)
	}
	if _, dup := t.index[hash]; dup {
		t.dups++
		return ""
	}
	if len(t.nodes) >= math.MaxInt32 {
		return "too many blocks"
	}
	t.index[hash] = int32(len(t.nodes))
	t.nodes = append(t.nodes, node{hash: hash, off: off, file: file, size: size, bits: compact, parent: -1})
	t.prevs = append(t.prevs, prev)
	return ""
}

// maxOrphanLogs bounds how many blocks left out of the tree are logged one
// by one.
const maxOrphanLogs = 10

// bestChain links the blocks, computes cumulative work from every genesis
// block (one with a zero previous-block hash) and returns the chain ending at
// the tip with the most work; between equal-work tips the one scanned first
// wins. It sets t.connected to the number of blocks reachable from genesis.
func (t *tree) bestChain(files []blkFile, log *slog.Logger) ([]blockLoc, error) {
	n := len(t.nodes)
	// Link parents and lay out the children of each node contiguously.
	childStart := make([]int32, n+1)
	var roots []int32
	for i := range t.nodes {
		prev := &t.prevs[i]
		if *prev == (chainhash.Hash{}) {
			roots = append(roots, int32(i))
		} else if p, ok := t.index[*prev]; ok {
			t.nodes[i].parent = p
			childStart[p+1]++
		}
	}
	if len(roots) == 0 {
		return nil, fmt.Errorf("blkfile: no genesis block (no block with a zero previous-block hash) among %d blocks", n)
	}
	for i := 1; i <= n; i++ {
		childStart[i] += childStart[i-1]
	}
	children := make([]int32, childStart[n])
	fill := make([]int32, n)
	copy(fill, childStart[:n])
	for i := range t.nodes {
		if p := t.nodes[i].parent; p >= 0 {
			children[fill[p]] = int32(i)
			fill[p]++
		}
	}
	fill = nil

	work := make([]u256, n)
	reached := make([]bool, n)
	best := int32(-1)
	stack := roots
	for len(stack) > 0 {
		i := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		nd := &t.nodes[i]
		w := t.bits[nd.bits].work
		if nd.parent >= 0 {
			w = w.add(work[nd.parent])
		}
		work[i] = w
		reached[i] = true
		t.connected++
		if best < 0 {
			best = i
		} else if c := w.cmp(work[best]); c > 0 || (c == 0 && i < best) {
			best = i
		}
		stack = append(stack, children[childStart[i]:childStart[i+1]]...)
	}

	if orphans := n - t.connected; orphans > 0 {
		logged := 0
		for i := range t.nodes {
			if logged == maxOrphanLogs {
				break
			}
			if reached[i] {
				continue
			}
			logged++
			nd := &t.nodes[i]
			log.Warn("blkfile: leaving out block not connected to genesis",
				"file", files[nd.file].path, "offset", nd.off,
				"hash", nd.hash.String(), "prev", t.prevs[i].String())
		}
		log.Warn("blkfile: blocks not connected to genesis were left out", "count", orphans)
	}
	t.prevs, t.index = nil, nil

	length := 0
	for i := best; i >= 0; i = t.nodes[i].parent {
		length++
	}
	chain := make([]blockLoc, length)
	for i, h := best, length-1; i >= 0; i, h = t.nodes[i].parent, h-1 {
		nd := &t.nodes[i]
		chain[h] = blockLoc{hash: nd.hash, off: nd.off, file: nd.file, size: nd.size}
	}
	return chain, nil
}
