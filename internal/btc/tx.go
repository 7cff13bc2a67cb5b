package btc

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"

	"github.com/btcsuite/btcd/chaincfg/chainhash"
)

// WitnessScaleFactor is the weight of a non-witness byte (BIP 141).
const WitnessScaleFactor = 4

// BlockHash returns the block hash, the double SHA-256 of the serialized
// header.
func (h *Header) BlockHash() chainhash.Hash {
	return doubleSHA256(h.Raw[:])
}

// Hash returns the hash of the block's header.
func (b *Block) Hash() chainhash.Hash {
	return b.Header.BlockHash()
}

// Weight returns the block weight (BIP 141): three times the size without
// witness data plus the full size.
func (b *Block) Weight() int {
	base := b.Size
	for i := range b.Txs {
		base -= b.Txs[i].witnessBytes()
	}
	return base*(WitnessScaleFactor-1) + b.Size
}

// TxIDs appends the transaction ids of the block's transactions to
// dst[:0] and returns the extended slice.
func (b *Block) TxIDs(dst []chainhash.Hash) []chainhash.Hash {
	dst = dst[:0]
	for i := range b.Txs {
		dst = append(dst, b.Txs[i].TxID())
	}
	return dst
}

// CheckMerkle verifies that txids, the ids of the block's transactions in
// order, hash to the merkle root of the header and that the tree is not
// mutated by duplicated transactions (CVE-2012-2459). When txids is nil the
// ids are computed. The error wraps ErrMerkleMismatch and names the block
// hash and both roots.
func (b *Block) CheckMerkle(txids []chainhash.Hash) error {
	if txids == nil {
		txids = b.TxIDs(nil)
	}
	if len(txids) != len(b.Txs) {
		return fmt.Errorf("btc: block %s: %w: %d txids for %d transactions",
			b.Hash(), ErrMerkleMismatch, len(txids), len(b.Txs))
	}
	root, mutated := merkleRoot(txids)
	if root != b.Header.MerkleRoot {
		return fmt.Errorf("btc: block %s: %w: header has %s, transactions hash to %s",
			b.Hash(), ErrMerkleMismatch, b.Header.MerkleRoot, root)
	}
	if mutated {
		return fmt.Errorf("btc: block %s: %w: root %s matches but the tree repeats a subtree (duplicated transactions)",
			b.Hash(), ErrMerkleMismatch, root)
	}
	return nil
}

// MerkleRoot returns the merkle root of txids by Bitcoin's rules: pairs
// are hashed with double SHA-256 and a level with an odd number of nodes
// pairs its last node with itself. It returns the zero hash for no ids.
// txids is not modified and nothing is allocated.
func MerkleRoot(txids []chainhash.Hash) chainhash.Hash {
	root, _ := merkleRoot(txids)
	return root
}

// merkleRoot computes the root depth first, so it needs no scratch space
// beyond one hash per level on the stack. mutated reports whether two
// real sibling nodes were equal, the CVE-2012-2459 malleation.
func merkleRoot(ids []chainhash.Hash) (root chainhash.Hash, mutated bool) {
	if len(ids) == 0 {
		return chainhash.Hash{}, false
	}
	height := uint(0)
	for (len(ids)-1)>>height > 0 {
		height++
	}
	return merkleNode(ids, height, 0)
}

// merkleNode returns node i at the given height above the leaves.
func merkleNode(ids []chainhash.Hash, height uint, i int) (chainhash.Hash, bool) {
	if height == 0 {
		return ids[i], false
	}
	left, mutated := merkleNode(ids, height-1, 2*i)
	// The level below has ceil(len(ids) / 2^(height-1)) nodes.
	if width := (len(ids)-1)>>(height-1) + 1; 2*i+1 >= width {
		return hashPair(&left, &left), mutated
	}
	right, m := merkleNode(ids, height-1, 2*i+1)
	return hashPair(&left, &right), mutated || m || left == right
}

// hashPair returns the double SHA-256 of the concatenation of a and b.
func hashPair(a, b *chainhash.Hash) chainhash.Hash {
	var buf [2 * chainhash.HashSize]byte
	copy(buf[:chainhash.HashSize], a[:])
	copy(buf[chainhash.HashSize:], b[:])
	return doubleSHA256(buf[:])
}

// doubleSHA256 returns SHA-256(SHA-256(b)).
func doubleSHA256(b []byte) chainhash.Hash {
	first := sha256.Sum256(b)
	return sha256.Sum256(first[:])
}

// TxID returns the transaction id: the double SHA-256 of the serialization
// without witness data. For a segwit transaction the pieces of Raw around
// the marker, flag and witnesses are hashed in place, without copying.
func (tx *Tx) TxID() chainhash.Hash {
	if tx.witEnd == 0 {
		return doubleSHA256(tx.Raw)
	}
	raw := tx.Raw
	h := sha256.New()
	h.Write(raw[:4])
	h.Write(raw[6:tx.witStart])
	h.Write(raw[tx.witEnd:])
	var first [sha256.Size]byte
	h.Sum(first[:0])
	return sha256.Sum256(first[:])
}

// WTxID returns the witness transaction id (BIP 141): the double SHA-256
// of the full serialization. It equals TxID for a transaction without
// witness.
func (tx *Tx) WTxID() chainhash.Hash {
	return doubleSHA256(tx.Raw)
}

// HasWitness reports whether the transaction was serialized with segwit
// marker, flag and witness data. The decoder rejects that serialization
// when no input has a witness, so it implies at least one witness item.
func (tx *Tx) HasWitness() bool {
	return tx.witEnd != 0
}

// IsCoinbase reports whether the transaction is a coinbase: a single input
// spending the null outpoint (zero txid, index 0xffffffff).
func (tx *Tx) IsCoinbase() bool {
	return len(tx.Ins) == 1 && tx.Ins[0].PrevIndex == 0xffffffff &&
		tx.Ins[0].PrevTxID == chainhash.Hash{}
}

// witnessBytes returns the bytes that the witness serialization adds: the
// marker, the flag and the witness stacks.
func (tx *Tx) witnessBytes() int {
	if tx.witEnd == 0 {
		return 0
	}
	return tx.witEnd - tx.witStart + 2
}

// Size returns the full serialized size in bytes, witness included.
func (tx *Tx) Size() int {
	return len(tx.Raw)
}

// BaseSize returns the serialized size without witness data, the size that
// the txid commits to.
func (tx *Tx) BaseSize() int {
	return len(tx.Raw) - tx.witnessBytes()
}

// Weight returns the transaction weight (BIP 141): three times the base
// size plus the full size.
func (tx *Tx) Weight() int {
	return tx.BaseSize()*(WitnessScaleFactor-1) + tx.Size()
}

// VSize returns the virtual size, the weight divided by four rounded up.
func (tx *Tx) VSize() int {
	return (tx.Weight() + WitnessScaleFactor - 1) / WitnessScaleFactor
}

// WitnessItems appends the items of the input's witness stack to dst and
// returns the extended slice. The items alias the decoded buffer. It stops
// at the first malformed item, which the decoder never produces.
func (in *TxIn) WitnessItems(dst [][]byte) [][]byte {
	w := in.Witness
	n, w, ok := splitVarint(w)
	for ; ok && n > 0; n-- {
		var l uint64
		if l, w, ok = splitVarint(w); !ok || l > uint64(len(w)) {
			break
		}
		dst = append(dst, w[:l:l])
		w = w[l:]
	}
	return dst
}

// splitVarint reads a compact size integer from the start of b and
// returns it with the rest of b.
func splitVarint(b []byte) (uint64, []byte, bool) {
	if len(b) == 0 {
		return 0, nil, false
	}
	switch b[0] {
	case 0xfd:
		if len(b) < 3 {
			return 0, nil, false
		}
		return uint64(binary.LittleEndian.Uint16(b[1:])), b[3:], true
	case 0xfe:
		if len(b) < 5 {
			return 0, nil, false
		}
		return uint64(binary.LittleEndian.Uint32(b[1:])), b[5:], true
	case 0xff:
		if len(b) < 9 {
			return 0, nil, false
		}
		return binary.LittleEndian.Uint64(b[1:]), b[9:], true
	}
	return uint64(b[0]), b[1:], true
}
