package labels

// Storage layout. Every key starts with a one-byte table prefix followed by
// string components. Each component is escaped so that any byte may appear in
// it and byte order of keys is the order of their component tuples: a 0x00
// byte inside a component is written as 0x00 0xFF, and every component ends
// with 0x00 0x01. A label's target is one component holding 'a' followed by
// the address, or 't' followed by the transaction hash.
//
//	m <name>                                         store metadata (format version)
//	a <actor>                                        Actor as JSON
//	d <dataset> <chain> <target> <label>             Label (binary, see codec.go)
//	l <chain> <target> <dataset> <chain> <target> <label>   empty (address index)
//	b <actor> <dataset> <chain> <target> <label>     empty (actor index)
//	i <dataset>                                      import record as JSON
//
// The d table is the primary copy of every label and is grouped by
// dataset, so Apply reads a dataset's current labels with one sequential
// scan and merges them with the sorted incoming labels. The l and b tables
// are secondary indexes whose keys end with the d key minus its prefix
// byte; the redundant chain and target in l keys cost a few bytes per label
// and let a reader turn an index key into its d key by slicing. Retired
// labels stay in every table with Retired set.
const (
	prefixMeta    = 'm'
	prefixActor   = 'a'
	prefixLabel   = 'd'
	prefixAddr    = 'l'
	prefixByActor = 'b'
	prefixImport  = 'i'
)

// formatVersion is stored under the meta key "format"; Open refuses a store
// written in another format.
const formatVersion = "labels-1"

// appendComponent appends s to dst escaped and terminated.
func appendComponent(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == 0 {
			dst = append(dst, 0, 0xFF)
			continue
		}
		dst = append(dst, c)
	}
	return append(dst, 0, 1)
}

// appendTarget appends the target component of l: its address or its
// transaction hash, tagged so that the two never collide.
func appendTarget(dst []byte, l *Label) []byte {
	if l.Address != "" {
		return appendTaggedComponent(dst, 'a', l.Address)
	}
	return appendTaggedComponent(dst, 't', l.TxHash)
}

// appendTaggedComponent appends the component tag+s.
func appendTaggedComponent(dst []byte, tag byte, s string) []byte {
	dst = append(dst, tag)
	return appendComponent(dst, s)
}

// labelKeySuffix appends <dataset> <chain> <target> <label>, the part of a
// d key after its prefix byte and the common tail of the l and b keys.
func labelKeySuffix(dst []byte, l *Label) []byte {
	dst = appendComponent(dst, l.Dataset)
	dst = appendComponent(dst, l.Chain)
	dst = appendTarget(dst, l)
	return appendComponent(dst, l.Label)
}

// labelKey appends the d key of l.
func labelKey(dst []byte, l *Label) []byte {
	dst = append(dst, prefixLabel)
	return labelKeySuffix(dst, l)
}

// addrKey appends the l key of l.
func addrKey(dst []byte, l *Label) []byte {
	dst = append(dst, prefixAddr)
	dst = appendComponent(dst, l.Chain)
	dst = appendTarget(dst, l)
	return labelKeySuffix(dst, l)
}

// addrPrefix appends the prefix of the l keys of every label on an address.
func addrPrefix(dst []byte, chain, address string) []byte {
	dst = append(dst, prefixAddr)
	dst = appendComponent(dst, chain)
	return appendTaggedComponent(dst, 'a', address)
}

// actorIndexKey appends the b key of l under actor.
func actorIndexKey(dst []byte, actor string, l *Label) []byte {
	dst = append(dst, prefixByActor)
	dst = appendComponent(dst, actor)
	return labelKeySuffix(dst, l)
}

// tablePrefix appends a table prefix and one component: the prefix of every
// key of that table whose first component is s.
func tablePrefix(dst []byte, table byte, s string) []byte {
	dst = append(dst, table)
	return appendComponent(dst, s)
}

// prefixEnd returns the smallest key greater than every key starting with
// p, or nil when there is none.
func prefixEnd(p []byte) []byte {
	end := append([]byte(nil), p...)
	for i := len(end) - 1; i >= 0; i-- {
		if end[i] != 0xFF {
			end[i]++
			return end[:i+1]
		}
	}
	return nil
}
