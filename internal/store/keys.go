package store

import (
	"encoding/binary"
)

// Key layout. Every key starts with a one-byte table prefix. Integers in
// keys are big-endian so that byte order is numeric order: transactions
// (by ordinal), blocks (by height) and each address's events (by ordinal)
// iterate in chain order, and a bulk load that appends in chain order writes
// nearly sorted keys.
//
//	M <name>                             meta (chain identity, counters)
//	P <stage>                            stage progress: height(8) hash(32)
//	H <height:8>                         block record
//	B <hash:32>                          height(8)
//	T <txid:32>                          txnum(8)
//	t <txnum:8>                          tx record (inputs and outputs inline)
//	s <txnum:8> <vout:4>                 spending txnum(8) vin(4)
//	A <addrkey>                          addrid(8)
//	a <addrid:8>                         addrkey
//	x <addrid:8> <txnum:8> <dir:1> <idx:4>  value (uvarint)
//	U <txnum:8>                          link log: kind(1) then the sorted distinct
//	                                     input address ids as uvarints, each
//	                                     after the first as its difference to
//	                                     the previous (none for CoinJoin kinds)
const (
	prefixMeta     = 'M'
	prefixProgress = 'P'
	prefixHeight   = 'H'
	prefixHash     = 'B'
	prefixTxID     = 'T'
	prefixTx       = 't'
	prefixSpend    = 's'
	prefixAddrKey  = 'A'
	prefixAddrID   = 'a'
	prefixEvent    = 'x'
	prefixLink     = 'U'
)

// Event directions in x keys: receipts sort before spends within a
// transaction so that a self-payment reads "in, then out".
const (
	dirReceived = 0
	dirSpent    = 1
)

func keyU64(dst []byte, prefix byte, n uint64) []byte {
	dst = append(dst, prefix)
	return binary.BigEndian.AppendUint64(dst, n)
}

func keyBytes(dst []byte, prefix byte, b []byte) []byte {
	dst = append(dst, prefix)
	return append(dst, b...)
}

func keySpend(dst []byte, txnum uint64, vout uint32) []byte {
	dst = keyU64(dst, prefixSpend, txnum)
	return binary.BigEndian.AppendUint32(dst, vout)
}

func keyEvent(dst []byte, addrID, txnum uint64, dir byte, idx uint32) []byte {
	dst = keyU64(dst, prefixEvent, addrID)
	dst = binary.BigEndian.AppendUint64(dst, txnum)
	dst = append(dst, dir)
	return binary.BigEndian.AppendUint32(dst, idx)
}

const eventKeyLen = 1 + 8 + 8 + 1 + 4

func keyMeta(name string) []byte      { return append([]byte{prefixMeta}, name...) }
func keyProgress(stage string) []byte { return append([]byte{prefixProgress}, stage...) }
