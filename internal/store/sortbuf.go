package store

import (
	"bytes"
	"encoding/binary"
	"slices"

	"github.com/cockroachdb/pebble/v2"
)

const (
	opSet = 1
	opDel = 2
)

// sortEnt is the sort key of one buffered write: the key's first 24 bytes
// as big-endian integers (zero-padded) decide every comparison of keys up
// to 24 bytes long (address-index keys are 22), and all but astronomically
// rare ones of longer keys (txids, address keys), which then fall back to
// the bytes. seq indexes locs and keeps writes to one key in order.
type sortEnt struct {
	k0, k1, k2 uint64
	seq        uint32
	long       bool // key longer than 24 bytes
}

// loc is where a buffered write's key and value sit in the arena.
type loc struct {
	koff, klen, vlen uint32
	op               uint8
}

// sortBuf holds a batch's writes until commit.
type sortBuf struct {
	arena []byte
	ents  []sortEnt
	locs  []loc
}

func (s *sortBuf) reset() {
	s.arena = s.arena[:0]
	s.ents = s.ents[:0]
	s.locs = s.locs[:0]
}

// size approximates the encoded batch size.
func (s *sortBuf) size() int { return len(s.arena) + 8*len(s.ents) + 12 }

func prefixU64(b []byte) uint64 {
	if len(b) >= 8 {
		return binary.BigEndian.Uint64(b)
	}
	var p [8]byte
	copy(p[:], b)
	return binary.BigEndian.Uint64(p[:])
}

func (s *sortBuf) add(op uint8, key, val []byte) {
	e := sortEnt{k0: prefixU64(key), seq: uint32(len(s.ents)), long: len(key) > 24}
	if len(key) > 8 {
		e.k1 = prefixU64(key[8:])
	}
	if len(key) > 16 {
		e.k2 = prefixU64(key[16:])
	}
	s.locs = append(s.locs, loc{koff: uint32(len(s.arena)), klen: uint32(len(key)), vlen: uint32(len(val)), op: op})
	s.arena = append(s.arena, key...)
	s.arena = append(s.arena, val...)
	s.ents = append(s.ents, e)
}

func (s *sortBuf) key(seq uint32) []byte {
	l := &s.locs[seq]
	return s.arena[l.koff : l.koff+l.klen]
}

func cmpU64(a, b uint64) int {
	if a < b {
		return -1
	}
	if a > b {
		return 1
	}
	return 0
}

// sort orders the writes by key, keeping the order of writes to one key.
func (s *sortBuf) sort() {
	slices.SortFunc(s.ents, func(a, b sortEnt) int {
		if c := cmpU64(a.k0, b.k0); c != 0 {
			return c
		}
		if c := cmpU64(a.k1, b.k1); c != 0 {
			return c
		}
		if c := cmpU64(a.k2, b.k2); c != 0 {
			return c
		}
		if a.long || b.long || s.locs[a.seq].klen != s.locs[b.seq].klen {
			// Equal 24-byte padded prefixes: compare whole keys (a
			// shorter key that is a prefix of a longer one sorts first).
			if c := bytes.Compare(s.key(a.seq), s.key(b.seq)); c != 0 {
				return c
			}
		}
		return cmpU64(uint64(a.seq), uint64(b.seq))
	})
}

// apply writes the buffered operations, in their current order, to pb.
func (s *sortBuf) apply(pb *pebble.Batch) error {
	for i := range s.ents {
		l := &s.locs[s.ents[i].seq]
		k := s.arena[l.koff : l.koff+l.klen]
		var err error
		if l.op == opSet {
			err = pb.Set(k, s.arena[l.koff+l.klen:l.koff+l.klen+l.vlen], nil)
		} else {
			err = pb.Delete(k, nil)
		}
		if err != nil {
			return err
		}
	}
	return nil
}
