package etl

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"os"
	"strconv"
	"strings"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
)

// row is one record of an export file with every value as text: CSV cells
// as they are, JSON strings unquoted, JSON numbers in their literal form,
// arrays of strings or numbers joined with commas (as the CSV exports join
// them) and other arrays or objects as raw JSON. Null and empty values are
// absent.
type row struct {
	file string
	line int
	vals map[string]string
	err  error // the first parse error, naming file, line and column
}

// forEachRow calls fn with each record of path, a CSV file with a header
// line or a newline-delimited JSON file, chosen by the extension.
func forEachRow(path, name string, fn func(*row) error) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	if strings.HasSuffix(path, ".csv") {
		return csvRows(f, name, fn)
	}
	return jsonRows(f, name, fn)
}

func csvRows(f io.Reader, name string, fn func(*row) error) error {
	cr := csv.NewReader(bufio.NewReaderSize(f, 1<<20))
	cr.ReuseRecord = true
	head, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("%s: header: %w", name, err)
	}
	cols := append([]string(nil), head...)
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return nil
		}
		line, _ := cr.FieldPos(0)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		r := &row{file: name, line: line, vals: make(map[string]string, len(cols))}
		for i, c := range cols {
			if i < len(rec) && rec[i] != "" {
				r.vals[c] = rec[i]
			}
		}
		if err := fn(r); err != nil {
			return err
		}
	}
}

func jsonRows(f io.Reader, name string, fn func(*row) error) error {
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 1<<20), 256<<20)
	line := 0
	for sc.Scan() {
		line++
		b := bytes.TrimSpace(sc.Bytes())
		if len(b) == 0 {
			continue
		}
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(b, &obj); err != nil {
			return fmt.Errorf("%s line %d: %w", name, line, err)
		}
		r := &row{file: name, line: line, vals: make(map[string]string, len(obj))}
		for k, v := range obj {
			s, ok, err := jsonText(v)
			if err != nil {
				return fmt.Errorf("%s line %d column %s: %w", name, line, k, err)
			}
			if ok {
				r.vals[k] = s
			}
		}
		if err := fn(r); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("%s line %d: %w", name, line+1, err)
	}
	return nil
}

// jsonText renders one JSON value as row text.
func jsonText(v json.RawMessage) (string, bool, error) {
	v = bytes.TrimSpace(v)
	if len(v) == 0 || string(v) == "null" {
		return "", false, nil
	}
	switch v[0] {
	case '"':
		var s string
		if err := json.Unmarshal(v, &s); err != nil {
			return "", false, err
		}
		return s, s != "", nil
	case '[':
		var items []json.RawMessage
		if err := json.Unmarshal(v, &items); err != nil {
			return "", false, err
		}
		parts := make([]string, 0, len(items))
		for _, it := range items {
			it = bytes.TrimSpace(it)
			if len(it) > 0 && (it[0] == '[' || it[0] == '{') {
				return string(v), true, nil
			}
			s, _, err := jsonText(it)
			if err != nil {
				return "", false, err
			}
			parts = append(parts, s)
		}
		return strings.Join(parts, ","), true, nil
	default:
		return string(v), true, nil
	}
}

// has reports whether column c has a value.
func (r *row) has(c string) bool { _, ok := r.vals[c]; return ok }

// fail records the first error, naming file, line and column.
func (r *row) fail(c string, err error) {
	if r.err == nil {
		r.err = fmt.Errorf("%s line %d column %s: %w", r.file, r.line, c, err)
	}
}

// str returns column c, recording an error if required and absent.
func (r *row) str(c string, required bool) string {
	s, ok := r.vals[c]
	if !ok && required {
		r.fail(c, errors.New("missing value"))
	}
	return s
}

// u64 parses column c as a decimal (or 0x-hex) unsigned integer.
func (r *row) u64(c string, required bool) uint64 {
	s := r.str(c, required)
	if s == "" {
		return 0
	}
	var v uint64
	var err error
	if strings.HasPrefix(s, "0x") {
		v, err = hexutil.DecodeUint64(s)
	} else {
		v, err = strconv.ParseUint(s, 10, 64)
	}
	if err != nil {
		r.fail(c, fmt.Errorf("bad number %q", s))
	}
	return v
}

// big parses column c as a non-negative integer; nil when absent.
func (r *row) big(c string, required bool) *big.Int {
	s := r.str(c, required)
	if s == "" {
		return nil
	}
	v, ok := new(big.Int).SetString(s, 0)
	if !ok || v.Sign() < 0 {
		r.fail(c, fmt.Errorf("bad number %q", s))
		return nil
	}
	return v
}

// addr parses column c as an address; nil when absent.
func (r *row) addr(c string, required bool) *common.Address {
	s := r.str(c, required)
	if s == "" {
		return nil
	}
	b, err := hexutil.Decode(s)
	if err != nil || len(b) != common.AddressLength {
		r.fail(c, fmt.Errorf("bad address %q", s))
		return nil
	}
	a := common.BytesToAddress(b)
	return &a
}

// hash parses column c as a 32-byte hash.
func (r *row) hash(c string, required bool) common.Hash {
	s := r.str(c, required)
	if s == "" {
		return common.Hash{}
	}
	b, err := hexutil.Decode(s)
	if err != nil || len(b) != common.HashLength {
		r.fail(c, fmt.Errorf("bad hash %q", s))
		return common.Hash{}
	}
	return common.BytesToHash(b)
}

// bytes parses column c as 0x-prefixed hex data.
func (r *row) bytes(c string) []byte {
	s := r.str(c, false)
	if s == "" || s == "0x" {
		return nil
	}
	b, err := hexutil.Decode(s)
	if err != nil {
		r.fail(c, fmt.Errorf("bad hex data: %w", err))
	}
	return b
}

// list splits column c at commas (arrays in JSON are joined the same way).
func (r *row) list(c string) []string {
	s := r.str(c, false)
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}

// where prefixes err with the row's file and line.
func (r *row) where(format string, args ...any) error {
	return fmt.Errorf("%s line %d: %s", r.file, r.line, fmt.Sprintf(format, args...))
}
