package trace

// InMemoryReader is a UTXOReader that answers from memory, such as
// graphidx.Index: the forward walk reads it directly, since reading ahead
// on other goroutines (utxoPrefetch) only pays off when reads wait on a
// disk, and would cost a goroutine hand-off per transaction here.
type InMemoryReader interface {
	UTXOReader
	// InMemory reports whether reads are served from memory.
	InMemory() bool
}

// utxoReadsAhead reports whether a forward walk over db should read
// ahead.
func utxoReadsAhead(db UTXOReader) bool {
	m, ok := db.(InMemoryReader)
	return !ok || !m.InMemory()
}
