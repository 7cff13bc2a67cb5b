package labels

import (
	"bytes"
	"encoding/binary"
	"errors"
	"time"
)

// Label values in the d table are binary:
//
//	version(1) status(1) content bookkeeping
//
// status is statusActive or statusRetired. content holds every field of
// the label except the import bookkeeping, in a fixed order; strings are a
// uvarint length and the bytes, integers are varints, times are a presence
// byte and, when present, varint Unix seconds and uvarint nanoseconds (the
// location is not kept: times decode as UTC). bookkeeping is FirstImported,
// LastImported and, for a retired label, Retired. Because content is
// self-delimiting, a stored value whose content starts with the encoding of
// another label's content holds exactly that content: Apply detects
// unchanged labels by comparing bytes, without decoding.
const (
	codecVersion  = 1
	statusActive  = 0
	statusRetired = 1
	// contentOffset is where content starts in a stored value.
	contentOffset = 2
)

// errCorrupt is returned (wrapped) when a stored value cannot be decoded.
var errCorrupt = errors.New("labels: corrupt value")

// appendContent appends the content part of l.
func appendContent(dst []byte, l *Label) []byte {
	dst = appendString(dst, l.Chain)
	dst = appendString(dst, l.Address)
	dst = appendString(dst, l.TxHash)
	dst = appendString(dst, l.Label)
	dst = appendString(dst, l.Category)
	dst = appendString(dst, l.Abuse)
	dst = appendString(dst, l.Actor)
	dst = appendString(dst, l.Confidence)
	dst = binary.AppendVarint(dst, int64(l.ConfidenceLevel))
	dst = appendString(dst, l.Source)
	dst = appendString(dst, l.Dataset)
	dst = appendTime(dst, l.LastMod)
	var flags byte
	if l.IsClusterDefiner {
		flags |= 1
	}
	dst = append(dst, flags)
	dst = appendString(dst, l.Context)
	dst = appendString(dst, l.Entity)
	dst = appendString(dst, l.EntityUID)
	dst = binary.AppendUvarint(dst, uint64(len(l.Programs)))
	for _, p := range l.Programs {
		dst = appendString(dst, p)
	}
	return dst
}

// appendLabel appends the whole stored value of l.
func appendLabel(dst []byte, l *Label) []byte {
	status := byte(statusActive)
	if l.Retired != nil {
		status = statusRetired
	}
	dst = append(dst, codecVersion, status)
	dst = appendContent(dst, l)
	dst = appendTime(dst, l.FirstImported)
	dst = appendTime(dst, l.LastImported)
	if l.Retired != nil {
		dst = appendTime(dst, *l.Retired)
	}
	return dst
}

// sameContent reports whether the stored value v holds the content
// encoded in content.
func sameContent(v, content []byte) bool {
	return len(v) >= contentOffset && bytes.HasPrefix(v[contentOffset:], content)
}

// isRetired reports whether the stored value v is a retired label.
func isRetired(v []byte) bool {
	return len(v) >= contentOffset && v[1] == statusRetired
}

func appendString(dst []byte, s string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}

func appendTime(dst []byte, t time.Time) []byte {
	if t.IsZero() {
		return append(dst, 0)
	}
	dst = append(dst, 1)
	dst = binary.AppendVarint(dst, t.Unix())
	return binary.AppendUvarint(dst, uint64(t.Nanosecond()))
}

// interner shares equal strings between decoded labels. A nil interner
// allocates every string.
type interner map[string]string

func (in interner) get(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	if in == nil {
		return string(b)
	}
	if s, ok := in[string(b)]; ok {
		return s
	}
	s := string(b)
	in[s] = s
	return s
}

// decoder reads a stored value; the first error sticks.
type decoder struct {
	b   []byte
	bad bool
}

func (d *decoder) uvarint() uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.bad = true
		d.b = nil
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) varint() int64 {
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.bad = true
		d.b = nil
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) byte() byte {
	if len(d.b) == 0 {
		d.bad = true
		return 0
	}
	c := d.b[0]
	d.b = d.b[1:]
	return c
}

func (d *decoder) bytes() []byte {
	n := d.uvarint()
	if n > uint64(len(d.b)) {
		d.bad = true
		d.b = nil
		return nil
	}
	s := d.b[:n]
	d.b = d.b[n:]
	return s
}

// str decodes a string, shared through in.
func (d *decoder) str(in interner) string { return in.get(d.bytes()) }

// fresh decodes a string that is unlikely to repeat (an address or a
// transaction hash) without the interner.
func (d *decoder) fresh() string { return string(d.bytes()) }

func (d *decoder) time() time.Time {
	switch d.byte() {
	case 0:
		return time.Time{}
	case 1:
		sec := d.varint()
		nsec := d.uvarint()
		if nsec >= 1e9 {
			d.bad = true
			return time.Time{}
		}
		return time.Unix(sec, int64(nsec)).UTC()
	default:
		d.bad = true
		return time.Time{}
	}
}

// decodeLabel decodes a stored value into l, sharing repeated strings
// through in (which may be nil).
func decodeLabel(v []byte, l *Label, in interner) error {
	if len(v) < contentOffset || v[0] != codecVersion || v[1] > statusRetired {
		return errCorrupt
	}
	d := decoder{b: v[contentOffset:]}
	*l = Label{
		Chain:      d.str(in),
		Address:    d.fresh(),
		TxHash:     d.fresh(),
		Label:      d.str(in),
		Category:   d.str(in),
		Abuse:      d.str(in),
		Actor:      d.str(in),
		Confidence: d.str(in),
	}
	l.ConfidenceLevel = int(d.varint())
	l.Source = d.str(in)
	l.Dataset = d.str(in)
	l.LastMod = d.time()
	l.IsClusterDefiner = d.byte()&1 != 0
	l.Context = d.str(in)
	l.Entity = d.str(in)
	l.EntityUID = d.str(in)
	if n := d.uvarint(); n > 0 {
		if n > uint64(len(d.b)) {
			return errCorrupt
		}
		l.Programs = make([]string, n)
		for i := range l.Programs {
			l.Programs[i] = d.str(in)
		}
	}
	l.FirstImported = d.time()
	l.LastImported = d.time()
	if v[1] == statusRetired {
		t := d.time()
		l.Retired = &t
	}
	if d.bad || len(d.b) != 0 {
		return errCorrupt
	}
	return nil
}
