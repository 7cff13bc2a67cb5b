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

// sortEnt is one buffered write. k0 and k1 are the key's first sixteen
// bytes as big-endian integers (zero-padded), which decide almost every
// comparison without touching the arena.
type sortEnt struct {
	k0, k1 uint64
	seq    uint32
	koff   uint32
	klen   uint32
	vlen   uint32
	op     uint8
}

// sortBuf holds a batch's writes until commit.
type sortBuf struct {
	arena []byte
	ents  []sortEnt
}

func (s *sortBuf) reset() {
	s.arena = s.arena[:0]
	s.ents = s.ents[:0]
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
	e := sortEnt{
		k0:   prefixU64(key),
		seq:  uint32(len(s.ents)),
		koff: uint32(len(s.arena)),
		klen: uint32(len(key)),
		vlen: uint32(len(val)),
		op:   op,
	}
	if len(key) > 8 {
		e.k1 = prefixU64(key[8:])
	}
	s.arena = append(s.arena, key...)
	s.arena = append(s.arena, val...)
	s.ents = append(s.ents, e)
}

func (s *sortBuf) keyOf(e *sortEnt) []byte { return s.arena[e.koff : e.koff+e.klen] }

// sort orders the writes by key, keeping the order of writes to one key.
func (s *sortBuf) sort() {
	slices.SortFunc(s.ents, func(a, b sortEnt) int {
		switch {
		case a.k0 != b.k0:
			if a.k0 < b.k0 {
				return -1
			}
			return 1
		case a.k1 != b.k1:
			if a.k1 < b.k1 {
				return -1
			}
			return 1
		}
		if a.klen > 16 || b.klen > 16 {
			ka, kb := s.keyOf(&a), s.keyOf(&b)
			if c := bytes.Compare(ka, kb); c != 0 {
				return c
			}
		} else if a.klen != b.klen {
			// Equal padded prefixes: the shorter key sorts first.
			if a.klen < b.klen {
				return -1
			}
			return 1
		}
		if a.seq < b.seq {
			return -1
		}
		if a.seq > b.seq {
			return 1
		}
		return 0
	})
}

// apply writes the buffered operations, in their current order, to pb.
func (s *sortBuf) apply(pb *pebble.Batch) error {
	for i := range s.ents {
		e := &s.ents[i]
		k := s.keyOf(e)
		var err error
		if e.op == opSet {
			v := s.arena[e.koff+e.klen : e.koff+e.klen+e.vlen]
			err = pb.Set(k, v, nil)
		} else {
			err = pb.Delete(k, nil)
		}
		if err != nil {
			return err
		}
	}
	return nil
}
