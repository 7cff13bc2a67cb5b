package store

import (
	"bytes"
	"math/rand"
	"slices"
	"testing"
)

// TestSortBufOrder checks the buffer's order against a plain sort of the
// keys, on keys built to collide in their 8-, 16- and 24-byte prefixes and
// to be prefixes of one another, with repeated writes to one key.
func TestSortBufOrder(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	var sb sortBuf
	type w struct {
		key []byte
		seq int
	}
	var writes []w
	for i := 0; i < 5000; i++ {
		n := []int{1, 7, 8, 9, 16, 17, 22, 24, 25, 33, 40}[rng.Intn(11)]
		k := make([]byte, n)
		for j := range k {
			k[j] = byte(rng.Intn(3)) // few symbols: many shared prefixes
		}
		if i > 0 && rng.Intn(10) == 0 {
			k = bytes.Clone(writes[rng.Intn(len(writes))].key) // rewrite a key
		}
		sb.add(opSet, k, []byte{byte(i)})
		writes = append(writes, w{k, i})
	}
	sb.sort()
	slices.SortStableFunc(writes, func(a, b w) int { return bytes.Compare(a.key, b.key) })
	for i, e := range sb.ents {
		if got := sb.key(e.seq); !bytes.Equal(got, writes[i].key) || int(e.seq) != writes[i].seq {
			t.Fatalf("position %d: got key %x (write %d), want %x (write %d)", i, got, e.seq, writes[i].key, writes[i].seq)
		}
	}
}
