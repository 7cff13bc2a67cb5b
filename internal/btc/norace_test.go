//go:build !race

package btc

// raceEnabled reports whether the race detector is on; it slows decoding
// and changes allocation counts.
const raceEnabled = false
