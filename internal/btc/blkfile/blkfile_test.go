package blkfile

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/wire"

	"github.com/chaintrace/chaintrace/internal/btc"
)

// Source must satisfy the block-source contract of package ingest, which
// this package cannot import; this mirrors its method set.
var _ interface {
	Tip(ctx context.Context) (height uint64, hash chainhash.Hash, err error)
	HashAt(ctx context.Context, height uint64) (chainhash.Hash, error)
	Blocks(ctx context.Context, from, to uint64, fn func(height uint64, hash chainhash.Hash, raw []byte) error) error
} = (*Source)(nil)

func mustOpen(tb testing.TB, path string, net wire.BitcoinNet, opts ...Option) *Source {
	tb.Helper()
	s, err := Open(context.Background(), path, net, opts...)
	if err != nil {
		tb.Fatalf("Open(%s): %v", path, err)
	}
	tb.Cleanup(func() { s.Close() })
	return s
}

// chainOf returns the best-chain hashes of s by height.
func chainOf(tb testing.TB, s *Source) []chainhash.Hash {
	tb.Helper()
	tip, tipHash, err := s.Tip(context.Background())
	if err != nil {
		tb.Fatal(err)
	}
	hashes := make([]chainhash.Hash, tip+1)
	for h := range hashes {
		if hashes[h], err = s.HashAt(context.Background(), uint64(h)); err != nil {
			tb.Fatal(err)
		}
	}
	if hashes[tip] != tipHash {
		tb.Fatalf("Tip hash %s, HashAt(tip) %s", tipHash, hashes[tip])
	}
	return hashes
}

// allBlocks reads the whole best chain of s, checking heights and hashes.
func allBlocks(tb testing.TB, s *Source) [][]byte {
	tb.Helper()
	tip, _, _ := s.Tip(context.Background())
	var out [][]byte
	err := s.Blocks(context.Background(), 0, tip, func(h uint64, hash chainhash.Hash, raw []byte) error {
		if h != uint64(len(out)) {
			return fmt.Errorf("got height %d, want %d", h, len(out))
		}
		if got := blockHash(raw); got != hash {
			return fmt.Errorf("height %d: raw hashes to %s, fn got %s", h, got, hash)
		}
		out = append(out, raw)
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	return out
}

func logTo(buf *bytes.Buffer) Option {
	return WithLogger(slog.New(slog.NewTextHandler(buf, nil)))
}

func TestRealFile(t *testing.T) {
	path, blocks, offs := realFile(t)
	var calls, last, total int64
	s := mustOpen(t, path, wire.MainNet, WithProgress(func(done, tot int64) {
		if done < last || done > tot {
			t.Errorf("progress went from %d to %d of %d", last, done, tot)
		}
		calls++
		last, total = done, tot
	}))
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if calls < 2 || last != total || total != fi.Size() {
		t.Errorf("progress: %d calls, last %d/%d, file size %d", calls, last, total, fi.Size())
	}
	ctx := context.Background()
	tip, tipHash, err := s.Tip(ctx)
	if err != nil || tip != realTip || tipHash != blockHash(blocks[realTip]) {
		t.Fatalf("Tip = %d %s %v, want %d", tip, tipHash, err, realTip)
	}
	for h, want := range map[uint64]string{0: genesisHash, 170: hash170} {
		got, err := s.HashAt(ctx, h)
		if err != nil || got.String() != want {
			t.Errorf("HashAt(%d) = %s %v, want %s", h, got, err, want)
		}
	}
	if _, err := s.HashAt(ctx, realTip+1); !errors.Is(err, btc.ErrNotFound) {
		t.Errorf("HashAt(tip+1) error %v, want btc.ErrNotFound", err)
	}
	want := Stats{Files: 1, Bytes: fi.Size(), Records: realTip + 1, Blocks: realTip + 1}
	if got := s.Stats(); got != want {
		t.Errorf("Stats = %+v, want %+v", got, want)
	}
	if offs[len(offs)-1] >= fi.Size() {
		t.Fatal("expected zero padding after the data in the test file")
	}
	got := allBlocks(t, s)
	for h := range blocks { // the file is in height order
		if !bytes.Equal(got[h], blocks[h]) {
			t.Fatalf("block %d differs from the file", h)
		}
	}
}

// TestShuffledObfuscatedForks spreads the real blocks over several
// obfuscated files in random order, with a stale fork, orphans and a
// duplicate, and expects the same best chain.
func TestShuffledObfuscatedForks(t *testing.T) {
	_, blocks, _ := realFile(t)
	ref := make([]chainhash.Hash, len(blocks))
	for h, b := range blocks {
		ref[h] = blockHash(b)
	}

	all := append([][]byte(nil), blocks...)
	// Stale branches: easy-target blocks on real parents carry far less
	// work than one real block.
	stale := 0
	for i, parent := range []int{0, 500, 9000, 14000, realTip - 1} {
		prev := ref[parent]
		for j := range 3 {
			b := mine(t, prev, easyBits, uint32(100*i+j))
			all = append(all, b)
			prev = blockHash(b)
			stale++
		}
	}
	// Orphans: a block with an unknown parent and a child of it.
	orphan := mine(t, chainhash.Hash{1, 2, 3}, easyBits, 7)
	all = append(all, orphan, mine(t, blockHash(orphan), easyBits, 8))
	// A second copy of a block.
	all = append(all, blocks[1234])

	rng := rand.New(rand.NewPCG(1, 2))
	rng.Shuffle(len(all), func(i, j int) { all[i], all[j] = all[j], all[i] })

	key := xorKey{0x5a, 0x01, 0xff, 0x80, 0x13, 0x37, 0x00, 0xc4}
	dir := filepath.Join(t.TempDir(), "datadir", "blocks")
	const nfiles = 5
	per := (len(all) + nfiles - 1) / nfiles
	for f := range nfiles {
		data := records(wire.MainNet, all[f*per:min((f+1)*per, len(all))]...)
		if f%2 == 0 {
			data = append(data, make([]byte, 1000+f)...) // preallocated space
		}
		writeFile(t, filepath.Join(dir, fmt.Sprintf("blk%05d.dat", f)), obfuscate(data, key))
	}
	writeFile(t, filepath.Join(dir, "xor.dat"), key[:])
	writeFile(t, filepath.Join(dir, "rev00000.dat"), []byte("not a block file"))

	for _, path := range []string{dir, filepath.Dir(dir)} {
		s := mustOpen(t, path, wire.MainNet)
		got := chainOf(t, s)
		if len(got) != len(ref) {
			t.Fatalf("%s: best chain has %d blocks, want %d", path, len(got), len(ref))
		}
		for h := range ref {
			if got[h] != ref[h] {
				t.Fatalf("%s: height %d is %s, want %s", path, h, got[h], ref[h])
			}
		}
		st := s.Stats()
		want := Stats{Files: nfiles, Bytes: st.Bytes, Records: len(all), Blocks: len(blocks),
			Stale: stale, Orphans: 2, Duplicates: 1}
		if st != want {
			t.Errorf("%s: Stats = %+v, want %+v", path, st, want)
		}
		if st.Records != st.Blocks+st.Stale+st.Orphans+st.Duplicates {
			t.Errorf("Stats do not add up: %+v", st)
		}
		read := allBlocks(t, s)
		for h := range blocks {
			if !bytes.Equal(read[h], blocks[h]) {
				t.Fatalf("%s: block %d differs", path, h)
			}
		}
	}

	// Without the key the first file looks like the wrong network.
	if err := os.Remove(filepath.Join(dir, "xor.dat")); err != nil {
		t.Fatal(err)
	}
	_, err := Open(context.Background(), dir, wire.MainNet)
	if err == nil || !strings.Contains(err.Error(), "xor.dat missing") {
		t.Errorf("Open without xor.dat: %v", err)
	}
}

// TestSingleObfuscatedFile opens one file by name, using the key next to it.
func TestSingleObfuscatedFile(t *testing.T) {
	path, blocks, _ := realFile(t)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	key := xorKey{1, 2, 3, 4, 5, 6, 7, 8}
	dir := t.TempDir()
	p := writeFile(t, filepath.Join(dir, "blk00042.dat"), obfuscate(data, key))
	writeFile(t, filepath.Join(dir, "xor.dat"), key[:])
	s := mustOpen(t, p, wire.MainNet)
	if got := chainOf(t, s); len(got) != realTip+1 || got[170].String() != hash170 {
		t.Fatalf("best chain of %d blocks, HashAt(170) %s", len(got), got[170])
	}
	read := allBlocks(t, s)
	for h := range blocks {
		if !bytes.Equal(read[h], blocks[h]) {
			t.Fatalf("block %d differs", h)
		}
	}
}

// TestForkChoice checks that the most work wins, not the most blocks, and
// that between equal-work tips the one found first wins.
func TestForkChoice(t *testing.T) {
	const net = wire.TestNet
	g := mine(t, chainhash.Hash{}, easyBits, 0)
	a1 := mine(t, blockHash(g), easyBits, 1)
	a2 := mine(t, blockHash(a1), easyBits, 2)
	b1 := mine(t, blockHash(g), easyBits, 3)
	b2 := mine(t, blockHash(b1), easyBits, 4)
	dir := t.TempDir()

	open := func(name string, blocks ...[]byte) *Source {
		return mustOpen(t, writeFile(t, filepath.Join(dir, name), records(net, blocks...)), net)
	}
	checkTip := func(s *Source, wantHeight uint64, want []byte) {
		t.Helper()
		h, hash, _ := s.Tip(context.Background())
		if h != wantHeight || hash != blockHash(want) {
			t.Errorf("Tip = %d %s, want %d %s", h, hash, wantHeight, blockHash(want))
		}
	}
	// Equal work: the tip stored first wins, wherever its branch starts.
	checkTip(open("tie1.dat", g, b1, a1, a2, b2), 2, a2)
	checkTip(open("tie2.dat", b2, g, a1, a2, b1), 2, b2)

	// Two hard blocks outweigh five easy ones.
	h1 := mine(t, blockHash(g), harderBits, 10)
	h2 := mine(t, blockHash(h1), harderBits, 11)
	easy := [][]byte{g}
	for i := range 5 {
		easy = append(easy, mine(t, blockHash(easy[len(easy)-1]), easyBits, uint32(20+i)))
	}
	s := open("work.dat", append(easy, h2, h1)...)
	checkTip(s, 2, h2)
	if st := s.Stats(); st.Stale != 5 || st.Blocks != 3 {
		t.Errorf("Stats = %+v, want 5 stale, 3 blocks", st)
	}
}

func TestTruncatedTail(t *testing.T) {
	_, blocks, offs := realFile(t)
	const nblocks = 60
	data := records(wire.MainNet, blocks[:nblocks]...)
	cuts := []int{0, 1, 3, 4, 7, 8, 9, 50, 87, 88, 89, len(data) - 1, len(data)}
	for i := 1; i < nblocks; i++ {
		o := int(offs[i])
		cuts = append(cuts, o-1, o, o+1, o+4, o+8, o+8+79, o+8+80)
	}
	rng := rand.New(rand.NewPCG(3, 4))
	for range 100 {
		cuts = append(cuts, rng.IntN(len(data)))
	}
	dir := t.TempDir()
	for _, cut := range cuts {
		for _, pad := range []int{0, 300} {
			// complete counts the records wholly before cut; partial tells
			// whether a record is cut.
			complete := 0
			for complete < nblocks && int(offs[complete+1]) <= cut {
				complete++
			}
			partial := cut > int(offs[complete])
			if partial && pad > 0 && cut >= int(offs[complete])+8+headerSize && int(offs[complete+1]) <= cut+pad {
				// The header is intact and the zero padding covers the
				// body: without validating bodies this looks like a block.
				complete++
				partial = false
			}
			p := writeFile(t, filepath.Join(dir, "blk00000.dat"), append(data[:cut:cut], make([]byte, pad)...))
			var logs bytes.Buffer
			s, err := Open(context.Background(), p, wire.MainNet, logTo(&logs))
			if complete == 0 {
				if err == nil || !strings.Contains(err.Error(), "no genesis block") {
					t.Errorf("cut %d pad %d: error %v, want no genesis block", cut, pad, err)
				}
				continue
			}
			if err != nil {
				t.Errorf("cut %d pad %d: %v", cut, pad, err)
				continue
			}
			st := s.Stats()
			wantTrunc := 0
			if partial {
				wantTrunc = 1
				at := fmt.Sprintf("offset=%d", offs[complete])
				if !strings.Contains(logs.String(), p) || !strings.Contains(logs.String(), at) {
					t.Errorf("cut %d pad %d: warning does not name %s and %s:\n%s", cut, pad, p, at, logs.String())
				}
			}
			if st.Blocks != complete || st.Truncated != wantTrunc {
				t.Errorf("cut %d pad %d: Stats = %+v, want %d blocks, %d truncated", cut, pad, st, complete, wantTrunc)
			}
			s.Close()
		}
	}
}

// wantErrAt checks that Open fails with an error naming file and offset and
// containing every one of words.
func wantErrAt(t *testing.T, path string, net wire.BitcoinNet, file string, off int64, words ...string) {
	t.Helper()
	_, err := Open(context.Background(), path, net)
	if err == nil {
		t.Fatalf("Open succeeded, want an error at %s offset %d", file, off)
	}
	msg := err.Error()
	for _, w := range append([]string{file, fmt.Sprintf("offset %d:", off)}, words...) {
		if !strings.Contains(msg, w) {
			t.Errorf("error %q does not contain %q", msg, w)
		}
	}
}

func TestBadRecords(t *testing.T) {
	_, blocks, offs := realFile(t)
	const nblocks = 40
	good := records(wire.MainNet, blocks[:nblocks]...)
	dir := t.TempDir()
	// Damage record k, in a file followed by another (not last) or alone.
	cases := 0
	edit := func(tb testing.TB, k int, last bool, fn func(rec []byte)) (string, string) {
		tb.Helper()
		data := bytes.Clone(good)
		fn(data[offs[k]:])
		cases++
		sub := filepath.Join(dir, fmt.Sprintf("case%d", cases))
		name := writeFile(tb, filepath.Join(sub, "blk00000.dat"), data)
		if !last {
			writeFile(tb, filepath.Join(sub, "blk00001.dat"), records(wire.MainNet, blocks[nblocks]))
		}
		return sub, name
	}
	for _, last := range []bool{false, true} {
		for _, k := range []int{0, 1, 17, nblocks - 1} {
			t.Run(fmt.Sprintf("last=%v/k=%d", last, k), func(t *testing.T) {
				d, f := edit(t, k, last, func(r []byte) { r[1] ^= 0x40 })
				wantErrAt(t, d, wire.MainNet, f, offs[k], "bad magic", "expected f9beb4d9", "found f9feb4d9", "is the network right?")

				d, f = edit(t, k, last, func(r []byte) { r[4], r[5], r[6], r[7] = 0, 0, 0, 3 })
				wantErrAt(t, d, wire.MainNet, f, offs[k], "exceeds the maximum")

				if k == nblocks-1 && last {
					return // these are tolerated as an incomplete tail
				}
				d, f = edit(t, k, last, func(r []byte) { r[4], r[5], r[6], r[7] = 12, 0, 0, 0 })
				wantErrAt(t, d, wire.MainNet, f, offs[k], "too small")

				d, f = edit(t, k, last, func(r []byte) { r[8+76]++ })
				wantErrAt(t, d, wire.MainNet, f, offs[k], "proof of work")

				d, f = edit(t, k, last, func(r []byte) { r[8+72], r[8+73], r[8+74], r[8+75] = 0, 0, 0x80, 0x1d })
				wantErrAt(t, d, wire.MainNet, f, offs[k], "invalid target")
			})
		}
	}
	t.Run("past end of a file that is not the last", func(t *testing.T) {
		sub := filepath.Join(dir, "pastend")
		f := writeFile(t, filepath.Join(sub, "blk00000.dat"), good[:offs[nblocks-1]+50])
		writeFile(t, filepath.Join(sub, "blk00001.dat"), records(wire.MainNet, blocks[nblocks:nblocks+2]...))
		wantErrAt(t, sub, wire.MainNet, f, offs[nblocks-1], "runs past the end of the file")
	})
	t.Run("bad final header in the last file", func(t *testing.T) {
		var logs bytes.Buffer
		_, f := edit(t, nblocks-1, true, func(r []byte) { r[8+76]++ })
		s := mustOpen(t, f, wire.MainNet, logTo(&logs))
		if st := s.Stats(); st.Blocks != nblocks-1 || st.Truncated != 1 {
			t.Errorf("Stats = %+v", st)
		}
		if !strings.Contains(logs.String(), fmt.Sprintf("offset=%d", offs[nblocks-1])) {
			t.Errorf("warning does not name the offset: %s", logs.String())
		}
	})
	t.Run("wrong network", func(t *testing.T) {
		_, f := edit(t, 0, true, func([]byte) {})
		wantErrAt(t, f, wire.TestNet3, f, 0, "expected 0b110907 (TestNet3)", "found f9beb4d9 (MainNet)", "network")
	})
}

func TestOrphanLogged(t *testing.T) {
	_, blocks, _ := realFile(t)
	orphan := mine(t, chainhash.Hash{9}, easyBits, 1)
	data := records(wire.MainNet, blocks[:3]...)
	off := len(data)
	data = append(data, records(wire.MainNet, orphan, blocks[3])...)
	p := writeFile(t, filepath.Join(t.TempDir(), "blk00000.dat"), data)
	var logs bytes.Buffer
	s := mustOpen(t, p, wire.MainNet, logTo(&logs))
	if st := s.Stats(); st.Orphans != 1 || st.Blocks != 4 || st.Records != 5 {
		t.Errorf("Stats = %+v", st)
	}
	for _, w := range []string{p, fmt.Sprintf("offset=%d", off), blockHash(orphan).String()} {
		if !strings.Contains(logs.String(), w) {
			t.Errorf("log does not contain %q:\n%s", w, logs.String())
		}
	}
}

func TestInputErrors(t *testing.T) {
	_, blocks, _ := realFile(t)
	dir := t.TempDir()
	check := func(name, path, want string) {
		t.Helper()
		_, err := Open(context.Background(), path, wire.MainNet)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: error %v, want it to contain %q", name, err, want)
		}
	}
	check("empty path", "", "empty path")
	missing := filepath.Join(dir, "nope")
	check("missing", missing, missing)
	empty := filepath.Join(dir, "empty")
	os.Mkdir(empty, 0o755)
	check("no block files", empty, "no blk*.dat block files in "+empty)

	notFile := filepath.Join(dir, "dirfile")
	writeFile(t, filepath.Join(notFile, "blk00000.dat"), records(wire.MainNet, blocks[:2]...))
	os.Mkdir(filepath.Join(notFile, "blk00001.dat"), 0o755)
	check("directory named like a block file", notFile, filepath.Join(notFile, "blk00001.dat"))

	dangling := filepath.Join(dir, "dangling")
	writeFile(t, filepath.Join(dangling, "blk00000.dat"), records(wire.MainNet, blocks[:2]...))
	os.Symlink(filepath.Join(dir, "gone"), filepath.Join(dangling, "blk00001.dat"))
	check("unreadable block file", dangling, filepath.Join(dangling, "blk00001.dat"))

	badKey := filepath.Join(dir, "badkey")
	writeFile(t, filepath.Join(badKey, "blk00000.dat"), records(wire.MainNet, blocks[:2]...))
	writeFile(t, filepath.Join(badKey, "xor.dat"), []byte{1, 2, 3})
	check("short xor.dat", badKey, "holds 3 bytes, want 8")

	noGenesis := filepath.Join(dir, "nogenesis")
	writeFile(t, filepath.Join(noGenesis, "blk00000.dat"), records(wire.MainNet, blocks[1:50]...))
	check("no genesis", noGenesis, "no genesis block")
	zeros := filepath.Join(dir, "zeros")
	writeFile(t, filepath.Join(zeros, "blk00000.dat"), make([]byte, 4096))
	check("only padding", zeros, "no genesis block")

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Open(ctx, noGenesis, wire.MainNet); !errors.Is(err, context.Canceled) {
		t.Errorf("Open with a canceled context: %v", err)
	}
}

// TestBlocksFileChanged checks that Blocks notices records that no longer
// hold what Open found.
func TestBlocksFileChanged(t *testing.T) {
	_, blocks, offs := realFile(t)
	data := records(wire.MainNet, blocks[:20]...)
	for name, tc := range map[string]struct {
		change func(p string)
		at     int
		want   string
	}{
		"header": {func(p string) { patch(t, p, offs[5]+8+76, 0xff) }, 5, "hashes to"},
		"size":   {func(p string) { patch(t, p, offs[7]+4, 0x01) }, 7, "record size is"},
		"magic":  {func(p string) { patch(t, p, offs[9], 0x00) }, 9, "bad magic"},
		"shrunk": {func(p string) { os.Truncate(p, offs[11]+100) }, 11, "reading"},
	} {
		t.Run(name, func(t *testing.T) {
			p := writeFile(t, filepath.Join(t.TempDir(), "blk00000.dat"), data)
			s := mustOpen(t, p, wire.MainNet)
			tc.change(p)
			var seen int
			err := s.Blocks(context.Background(), 0, 19, func(h uint64, _ chainhash.Hash, _ []byte) error {
				seen++
				return nil
			})
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), p) ||
				!strings.Contains(err.Error(), fmt.Sprintf("offset %d:", offs[tc.at])) {
				t.Errorf("Blocks error %v, want %q at %s offset %d", err, tc.want, p, offs[tc.at])
			}
			if seen != tc.at {
				t.Errorf("fn saw %d blocks, want %d", seen, tc.at)
			}
		})
	}
}

func patch(tb testing.TB, path string, off int64, b byte) {
	tb.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteAt([]byte{b}, off); err != nil {
		tb.Fatal(err)
	}
}

func TestBlocksContract(t *testing.T) {
	path, blocks, _ := realFile(t)
	s := mustOpen(t, path, wire.MainNet)
	ctx := context.Background()
	noop := func(uint64, chainhash.Hash, []byte) error { return nil }

	if err := s.Blocks(ctx, 0, realTip+1, noop); !errors.Is(err, btc.ErrNotFound) {
		t.Errorf("Blocks past the tip: %v, want btc.ErrNotFound", err)
	}
	called := false
	if err := s.Blocks(ctx, 5, 4, func(uint64, chainhash.Hash, []byte) error { called = true; return nil }); err != nil || called {
		t.Errorf("empty range: err %v, called %v", err, called)
	}
	for _, r := range [][2]uint64{{170, 170}, {100, 1000}, {realTip - 3, realTip}} {
		next := r[0]
		err := s.Blocks(ctx, r[0], r[1], func(h uint64, hash chainhash.Hash, raw []byte) error {
			if h != next || !bytes.Equal(raw, blocks[h]) || hash != blockHash(blocks[h]) {
				return fmt.Errorf("bad block at %d (want %d)", h, next)
			}
			raw[0] ^= 1 // fn owns raw; the source must not care
			next++
			return nil
		})
		if err != nil || next != r[1]+1 {
			t.Errorf("Blocks(%d, %d): %v, stopped before %d", r[0], r[1], err, next)
		}
	}

	stopErr := errors.New("stop here")
	n := 0
	err := s.Blocks(ctx, 0, realTip, func(h uint64, _ chainhash.Hash, _ []byte) error {
		n++
		if h == 50 {
			return stopErr
		}
		return nil
	})
	if err != stopErr || n != 51 {
		t.Errorf("fn error: got %v after %d calls, want the error unchanged after 51", err, n)
	}

	cctx, cancel := context.WithCancel(ctx)
	n = 0
	err = s.Blocks(cctx, 0, realTip, func(h uint64, _ chainhash.Hash, _ []byte) error {
		n++
		if h == 30 {
			cancel()
		}
		return nil
	})
	if !errors.Is(err, context.Canceled) || n != 31 {
		t.Errorf("canceled: %v after %d calls", err, n)
	}

	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Blocks(ctx, 0, 1, noop); err == nil {
		t.Error("Blocks after Close succeeded")
	}
	if h, _, err := s.Tip(ctx); err != nil || h != realTip {
		t.Errorf("Tip after Close: %d %v", h, err)
	}
}

func TestXORApply(t *testing.T) {
	key := xorKey{0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88}
	src := make([]byte, 100)
	for i := range src {
		src[i] = byte(i * 7)
	}
	whole := obfuscate(src, key)
	for pos := range 20 {
		for n := range 30 {
			b := bytes.Clone(src[pos : pos+n])
			key.apply(b, int64(pos))
			if !bytes.Equal(b, whole[pos:pos+n]) {
				t.Fatalf("apply at %d len %d wrong", pos, n)
			}
		}
	}
}

// FuzzOpen feeds arbitrary single files to Open and Blocks, which must fail
// cleanly rather than panic.
func FuzzOpen(f *testing.F) {
	g := mine(f, chainhash.Hash{}, easyBits, 0)
	b := mine(f, blockHash(g), easyBits, 1)
	f.Add(records(wire.TestNet, g, b))
	f.Add(append(records(wire.TestNet, g, b), 0, 0, 0, 0, 1))
	f.Add(records(wire.TestNet, g)[:50])
	f.Add([]byte{0xfa, 0xbf, 0xb5, 0xda, 0xff, 0xff, 0xff, 0xff})
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		p := filepath.Join(dir, "blk00000.dat")
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		s, err := Open(context.Background(), p, wire.TestNet)
		if err != nil {
			return
		}
		defer s.Close()
		tip, _, _ := s.Tip(context.Background())
		if err := s.Blocks(context.Background(), 0, tip, func(uint64, chainhash.Hash, []byte) error { return nil }); err != nil {
			t.Fatalf("Blocks after a successful Open: %v", err)
		}
	})
}
