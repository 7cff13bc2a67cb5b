package graphidx

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"unsafe"

	"github.com/chaintrace/chaintrace/internal/store"
)

// fileMagic starts an index file; its last two digits are the format
// version.
const fileMagic = "CTGIDX01"

// fileHeader describes the columns that follow it in an index file.
type fileHeader struct {
	Meta    store.ChainMeta `json:"meta"`
	Tip     uint64          `json:"tip"`
	Order   string          `json:"byte_order"`
	Columns []fileColumn    `json:"columns"`
}

type fileColumn struct {
	Name  string `json:"name"`
	Bytes uint64 `json:"bytes"`
}

// nativeOrder names the machine's byte order; the columns are its memory
// images, so a file loads only where it was written or on a machine of
// the same order.
func nativeOrder() string {
	x := uint16(1)
	if *(*byte)(unsafe.Pointer(&x)) == 1 {
		return "little"
	}
	return "big"
}

// colIO visits the index's columns: write is called with each column's
// bytes when saving (or sizing), read returns each column's bytes when
// loading.
type colIO struct {
	write func(name string, b []byte)
	read  func(name string) ([]byte, error)
	err   error
}

// col writes or reads one column.
func col[T any](c *colIO, name string, p *[]T) {
	var zero T
	size := int(unsafe.Sizeof(zero))
	if c.read == nil {
		var b []byte
		if len(*p) > 0 {
			b = unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(*p))), len(*p)*size)
		}
		c.write(name, b)
		return
	}
	if c.err != nil {
		return
	}
	b, err := c.read(name)
	if err != nil {
		c.err = err
		return
	}
	if len(b)%size != 0 || uintptr(unsafe.Pointer(unsafe.SliceData(b)))%unsafe.Alignof(zero) != 0 {
		c.err = fmt.Errorf("graphidx: column %s: %d bytes, not whole aligned elements of %d", name, len(b), size)
		return
	}
	if len(b) == 0 {
		*p = nil
		return
	}
	*p = unsafe.Slice((*T)(unsafe.Pointer(unsafe.SliceData(b))), len(b)/size)
}

// columns lists every array of the index, in file order.
func (x *Index) columns(c *colIO) {
	col(c, "blocks", &x.blocks)
	col(c, "txid", &x.txid)
	col(c, "tx_height", &x.txHeight)
	col(c, "tx_version", &x.txVer)
	col(c, "tx_locktime", &x.txLock)
	col(c, "tx_flags", &x.txFlags)
	col(c, "tx_out", &x.txOut)
	col(c, "tx_in", &x.txIn)
	col(c, "in_prev", &x.inPrev)
	col(c, "out_value", &x.outValue)
	col(c, "out_addr", &x.outAddr)
	col(c, "out_class", &x.outClass)
	col(c, "out_spend_tx", &x.outSpendTx)
	col(c, "out_spend_vin", &x.outSpendVin)
	col(c, "multi_out", &x.multiOut)
	col(c, "multi_off", &x.multiOff)
	col(c, "multi_addr", &x.multiAddr)
	col(c, "ext_in", &x.extIn)
	col(c, "ext_txid", &x.extTxID)
	col(c, "ext_vout", &x.extVout)
	col(c, "addr_key_off", &x.addrKeyOff)
	col(c, "addr_keys", &x.addrKeys)
	col(c, "addr_out_off", &x.addrOutOff)
	col(c, "addr_outs", &x.addrOuts)
	col(c, "tx_by_id", &x.txByID)
	col(c, "addr_by_key", &x.addrByKey)
}

func pad8(n uint64) uint64 { return (n + 7) &^ 7 }

// Save writes the index to path: the magic, the header's length and the
// header (JSON), then every column as its memory image, each starting at
// a multiple of 8 bytes, so that Load needs one read and no decoding.
func (x *Index) Save(path string) (err error) {
	h := fileHeader{Meta: x.meta, Tip: x.tip, Order: nativeOrder()}
	x.columns(&colIO{write: func(name string, b []byte) {
		h.Columns = append(h.Columns, fileColumn{Name: name, Bytes: uint64(len(b))})
	}})
	hj, err := json.Marshal(h)
	if err != nil {
		return fmt.Errorf("graphidx: save: %w", err)
	}
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("graphidx: save: %w", err)
	}
	defer func() {
		if cerr := f.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("graphidx: save: %w", cerr)
		}
	}()
	w := bufio.NewWriterSize(f, 1<<20)
	var zeros [8]byte
	head := append([]byte(fileMagic), binary.LittleEndian.AppendUint64(nil, uint64(len(hj)))...)
	head = append(head, hj...)
	head = append(head, zeros[:pad8(uint64(len(head)))-uint64(len(head))]...)
	if _, err := w.Write(head); err != nil {
		return fmt.Errorf("graphidx: save: %w", err)
	}
	var werr error
	x.columns(&colIO{write: func(name string, b []byte) {
		if werr != nil {
			return
		}
		if _, werr = w.Write(b); werr == nil {
			_, werr = w.Write(zeros[:pad8(uint64(len(b)))-uint64(len(b))])
		}
	}})
	if werr == nil {
		werr = w.Flush()
	}
	if werr != nil {
		return fmt.Errorf("graphidx: save: %w", werr)
	}
	return nil
}

// Load reads an index Save wrote, in one read into memory the columns
// then use in place, and checks that every offset and id in it is in
// range, so that a damaged file is an error and never a panic later.
func Load(path string) (*Index, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("graphidx: load: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("graphidx: load: %w", err)
	}
	size := st.Size()
	if size < 16 {
		return nil, fmt.Errorf("graphidx: load %s: too short for an index", path)
	}
	// The buffer is allocated as words so that every column, at a
	// multiple of 8 bytes into it, is aligned for its element type.
	words := make([]uint64, (size+7)/8)
	buf := unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(words))), size)
	if _, err := io.ReadFull(f, buf); err != nil {
		return nil, fmt.Errorf("graphidx: load %s: %w", path, err)
	}
	if string(buf[:8]) != fileMagic {
		return nil, fmt.Errorf("graphidx: load %s: not an index file of this version", path)
	}
	hl := binary.LittleEndian.Uint64(buf[8:16])
	if hl > uint64(size)-16 {
		return nil, fmt.Errorf("graphidx: load %s: header length %d out of range", path, hl)
	}
	var h fileHeader
	if err := json.Unmarshal(buf[16:16+hl], &h); err != nil {
		return nil, fmt.Errorf("graphidx: load %s: header: %w", path, err)
	}
	if h.Order != nativeOrder() {
		return nil, fmt.Errorf("graphidx: load %s: written on a %s-endian machine", path, h.Order)
	}
	x := &Index{meta: h.Meta, tip: h.Tip}
	off := pad8(16 + hl)
	k := 0
	c := &colIO{read: func(name string) ([]byte, error) {
		if k >= len(h.Columns) || h.Columns[k].Name != name {
			return nil, fmt.Errorf("graphidx: load %s: column %s missing", path, name)
		}
		n := h.Columns[k].Bytes
		k++
		if n > uint64(size) || off > uint64(size)-n {
			return nil, fmt.Errorf("graphidx: load %s: column %s runs past the end", path, name)
		}
		b := buf[off : off+n : off+n]
		off = pad8(off + n)
		return b, nil
	}}
	x.columns(c)
	if c.err != nil {
		return nil, c.err
	}
	if off != uint64(size) || k != len(h.Columns) {
		return nil, fmt.Errorf("graphidx: load %s: %d bytes, the header describes %d", path, size, off)
	}
	if err := x.validate(); err != nil {
		return nil, fmt.Errorf("graphidx: load %s: %w", path, err)
	}
	return x, nil
}

// validate checks that the arrays fit together: every offset array is
// non-decreasing and ends at its target's length, and every id is in
// range. Reads of a valid index cannot go out of bounds.
func (x *Index) validate() error {
	nTx, nOut, nIn := len(x.txid), len(x.outValue), len(x.inPrev)
	nAddrSlots := len(x.addrKeyOff) - 1
	switch {
	case len(x.blocks) == 0 || x.tip != uint64(len(x.blocks)-1):
		return errors.New("no blocks, or a tip that is not the last block")
	case len(x.txHeight) != nTx || len(x.txVer) != nTx || len(x.txLock) != nTx || len(x.txFlags) != nTx || len(x.txByID) != nTx:
		return errors.New("transaction columns of different lengths")
	case len(x.outAddr) != nOut || len(x.outClass) != nOut || len(x.outSpendTx) != nOut || len(x.outSpendVin) != nOut:
		return errors.New("output columns of different lengths")
	case nAddrSlots < 1 || len(x.addrOutOff) != nAddrSlots+1 || len(x.addrByKey) != nAddrSlots-1:
		return errors.New("address columns of different lengths")
	case len(x.multiOff) != len(x.multiOut)+1 || len(x.extTxID) != len(x.extIn) || len(x.extVout) != len(x.extIn):
		return errors.New("multi-address or external input columns of different lengths")
	}
	if err := offsets("tx_out", x.txOut, nTx, uint64(nOut)); err != nil {
		return err
	}
	if err := offsets("tx_in", x.txIn, nTx, uint64(nIn)); err != nil {
		return err
	}
	if err := offsets("addr_key_off", x.addrKeyOff, nAddrSlots, uint64(len(x.addrKeys))); err != nil {
		return err
	}
	if err := offsets("addr_out_off", x.addrOutOff, nAddrSlots, uint64(len(x.addrOuts))); err != nil {
		return err
	}
	if err := offsets("multi_off", x.multiOff, len(x.multiOut), uint64(len(x.multiAddr))); err != nil {
		return err
	}
	last := x.blocks[x.tip]
	if last.TxNumMin+uint64(last.TxCount) != uint64(nTx) {
		return errors.New("the tip block does not end at the last transaction")
	}
	for i := range x.blocks {
		if x.blocks[i].TxNumMin > uint64(nTx) {
			return fmt.Errorf("block %d starts past the last transaction", i)
		}
	}
	for i, h := range x.txHeight {
		if uint64(h) > x.tip || uint64(i) < x.blocks[h].TxNumMin {
			return fmt.Errorf("tx #%d: height %d out of range", i, h)
		}
	}
	for _, o := range x.inPrev {
		if o != noOut && int(o) >= nOut {
			return fmt.Errorf("input spends output %d of %d", o, nOut)
		}
	}
	for o := range x.outAddr {
		if int(x.outAddr[o]) >= nAddrSlots || int(x.outSpendTx[o]) > nTx {
			return fmt.Errorf("output %d: address or spender out of range", o)
		}
		if s := x.outSpendTx[o]; s != 0 && x.outSpendVin[o] >= x.txIn[s]-x.txIn[s-1] {
			return fmt.Errorf("output %d: spender input out of range", o)
		}
	}
	for _, ids := range [][]uint32{x.multiAddr, x.addrByKey} {
		for _, a := range ids {
			if int(a) >= nAddrSlots {
				return fmt.Errorf("address id %d out of range", a)
			}
		}
	}
	for i := 1; i < len(x.multiOut); i++ {
		if x.multiOut[i-1] >= x.multiOut[i] {
			return errors.New("multi-address outputs out of order")
		}
	}
	for _, lists := range [][]uint32{x.addrOuts, x.multiOut} {
		for _, o := range lists {
			if int(o) >= nOut {
				return fmt.Errorf("output id %d out of range", o)
			}
		}
	}
	for _, t := range x.txByID {
		if int(t) >= nTx {
			return fmt.Errorf("tx id %d out of range", t)
		}
	}
	for i, e := range x.extIn {
		if int(e) >= nIn || i > 0 && x.extIn[i-1] >= e {
			return errors.New("external inputs out of range or order")
		}
	}
	return nil
}

// offsets checks an offset array of n+1 entries: non-decreasing, from 0
// to end.
func offsets[T uint32 | uint64](name string, off []T, n int, end uint64) error {
	if len(off) != n+1 || off[0] != 0 || uint64(off[n]) != end {
		return fmt.Errorf("column %s: bad length or ends", name)
	}
	for i := 1; i <= n; i++ {
		if off[i] < off[i-1] {
			return fmt.Errorf("column %s: decreasing at %d", name, i)
		}
	}
	return nil
}
