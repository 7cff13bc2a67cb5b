package txenc

import (
	"bytes"
	"testing"

	"github.com/btcsuite/btcd/blockchain"
	"github.com/btcsuite/btcd/txscript"
	"github.com/btcsuite/btcd/wire"
)

func TestAppendHeight(t *testing.T) {
	for _, h := range []int{0, 1, 16, 17, 127, 128, 255, 256, 32767, 32768, 65535, 65536, 8388607, 8388608, 1 << 30} {
		want, err := txscript.NewScriptBuilder().AddInt64(int64(h)).Script()
		if err != nil {
			t.Fatal(err)
		}
		if got := AppendHeight(nil, int64(h)); !bytes.Equal(got, want) {
			t.Errorf("height %d: %x, want %x", h, got, want)
		}
	}
}

func TestAppendVarInt(t *testing.T) {
	for _, v := range []uint64{0, 252, 253, 0xffff, 0x10000, 0xffffffff, 1 << 32} {
		var want bytes.Buffer
		if err := wire.WriteVarInt(&want, 0, v); err != nil {
			t.Fatal(err)
		}
		if got := AppendVarInt(nil, v); !bytes.Equal(got, want.Bytes()) {
			t.Errorf("%d: %x, want %x", v, got, want.Bytes())
		}
	}
}

func TestCompactToTarget(t *testing.T) {
	for _, bits := range []uint32{0x207fffff, 0x1d00ffff, 0x1e0377ae, 0x1b0404cb, 0x03123456, 0x02123456} {
		var want [32]byte
		blockchain.CompactToBig(bits).FillBytes(want[:])
		if got, _ := CompactToTarget(bits); got != want {
			t.Errorf("%08x: %x, want %x", bits, got, want)
		}
	}
	if _, tries := CompactToTarget(0x207fffff); tries != 2 {
		t.Errorf("regtest needs %v tries, want 2", tries)
	}
	if _, tries := CompactToTarget(0x1d00ffff); tries != 1<<32 {
		t.Errorf("mainnet needs %v tries, want 2^32", tries)
	}
}
