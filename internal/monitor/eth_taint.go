package monitor

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/chaintrace/chaintrace/internal/model"
	"github.com/chaintrace/chaintrace/internal/store"
)

// The account monitor's store encoding: taint entries (table MonTaint)
// and per-height undo records (MonUndo); see DEVELOPERS.md.

// restore applies an undo record.
func (m *EthMonitor) restore(w Writer, u []byte) error {
	bad := errors.New("corrupt")
	next := func() (uint64, bool) {
		x, n := binary.Uvarint(u)
		if n <= 0 {
			return 0, false
		}
		u = u[n:]
		return x, true
	}
	n, ok := next()
	if !ok || n > uint64(len(u)) {
		return bad
	}
	for range n {
		l, ok := next()
		if !ok || l+1 > uint64(len(u)) {
			return bad
		}
		k := append([]byte(nil), u[:l]...)
		flag := u[l]
		u = u[l+1:]
		a, watch, _, err := decodeTaint(k, nil)
		if err != nil {
			return err
		}
		if flag == 0 {
			m.set(a, watch, tval{})
			w.DeleteMonitor(store.MonTaint, k)
			continue
		}
		vl, ok := next()
		if !ok || vl > uint64(len(u)) {
			return bad
		}
		v := u[:vl]
		u = u[vl:]
		_, _, t, err := decodeTaint(k, v)
		if err != nil {
			return err
		}
		m.set(a, watch, t)
		w.PutMonitor(store.MonTaint, k, v)
	}
	return nil
}

// taintKey is a taint entry's key: address(20) token(20) watch id.
func taintKey(a acct, watch string) []byte {
	k := make([]byte, 0, 40+len(watch))
	k = append(k, a.addr[:]...)
	k = append(k, a.token[:]...)
	return append(k, watch...)
}

// encodeTaint encodes a taint entry's value: uvarint hop, then the
// amount as a length byte and its big-endian bytes without leading
// zeros.
func encodeTaint(t tval) []byte {
	v := binary.AppendUvarint(nil, uint64(t.hop))
	b := t.amount.Bytes32()
	i := 0
	for i < len(b) && b[i] == 0 {
		i++
	}
	v = append(v, byte(len(b)-i))
	return append(v, b[i:]...)
}

// decodeTaint decodes a taint key and, when v is not nil, its value.
func decodeTaint(k, v []byte) (acct, string, tval, error) {
	if len(k) <= 40 {
		return acct{}, "", tval{}, fmt.Errorf("monitor: corrupt taint key %x", k)
	}
	a := acct{addr: [20]byte(k[:20]), token: [20]byte(k[20:40])}
	watch := string(k[40:])
	if v == nil {
		return a, watch, tval{}, nil
	}
	hop, n := binary.Uvarint(v)
	if n <= 0 || hop > 1<<20 || len(v) < n+1 || int(v[n]) > 32 || len(v) != n+1+int(v[n]) {
		return acct{}, "", tval{}, fmt.Errorf("monitor: corrupt taint of %x", k)
	}
	return a, watch, tval{amount: model.AmountFromBytes(v[n+1:]), hop: int(hop)}, nil
}
