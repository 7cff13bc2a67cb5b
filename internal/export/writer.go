package export

import (
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/parquet-go/parquet-go"
)

// batchRows is how many rows a table collects before handing them to the
// Parquet writer in one call, which amortises the writer's per-call work.
const batchRows = 512

// table writes the rows of one table as part-NNNNN.parquet files,
// starting a new file once the current one passes the file size bound.
// The files go into a staging directory beside the table's, which replaces
// the table's directory when the table is complete: an export that fails
// or is interrupted leaves the previous export of the table as it was,
// and a smaller export leaves no stale part files behind. Memory stays
// bounded by one row group (the writer buffers the pages of the row group
// it is filling) plus one batch of rows.
type table[T any] struct {
	name    string
	dir     string // the table's directory
	staging string // where its files are written until it is complete
	opts    *Options
	stats   *TableStats

	f   *os.File
	cw  *countingWriter
	w   *parquet.GenericWriter[T]
	buf []T
}

// countingWriter counts the bytes written through it, which become the
// table's byte count.
type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// newTable prepares an empty staging directory for the table whose
// directory is dir.
func newTable[T any](name, dir string, opts *Options, stats *TableStats) (*table[T], error) {
	staging := dir + ".partial"
	if err := os.RemoveAll(staging); err != nil {
		return nil, fmt.Errorf("export: %s: %w", name, err)
	}
	if err := os.MkdirAll(staging, 0o755); err != nil {
		return nil, fmt.Errorf("export: %s: %w", name, err)
	}
	stats.Name = name
	stats.Dir = dir
	// A batch never exceeds a row group, so that the size bound is
	// checked at least once per row group.
	n := min(batchRows, opts.RowGroupRows)
	return &table[T]{name: name, dir: dir, staging: staging, opts: opts, stats: stats, buf: make([]T, 0, n)}, nil
}

// open starts the next part file.
func (t *table[T]) open() error {
	f, err := os.Create(filepath.Join(t.staging, fmt.Sprintf("part-%05d.parquet", t.stats.Files)))
	if err != nil {
		return fmt.Errorf("export: %s: %w", t.name, err)
	}
	t.f = f
	t.cw = &countingWriter{w: f}
	t.w = parquet.NewGenericWriter[T](t.cw,
		parquet.Compression(t.opts.codec()),
		parquet.MaxRowsPerRowGroup(int64(t.opts.RowGroupRows)),
		parquet.CreatedBy("chaintrace", "export", ""),
		parquet.KeyValueMetadata("chaintrace.table", t.name),
	)
	t.stats.Files++
	return nil
}

// add appends one row.
func (t *table[T]) add(row T) error {
	t.buf = append(t.buf, row)
	if len(t.buf) < cap(t.buf) {
		return nil
	}
	return t.flush()
}

// flush hands the collected rows to the writer and starts a new file when
// the current one has reached the size bound.
func (t *table[T]) flush() error {
	if len(t.buf) == 0 {
		return nil
	}
	if t.w == nil {
		if err := t.open(); err != nil {
			return err
		}
	}
	if _, err := t.w.Write(t.buf); err != nil {
		return fmt.Errorf("export: %s: write: %w", t.name, err)
	}
	t.stats.Rows += int64(len(t.buf))
	clear(t.buf) // drop the strings the rows point to
	t.buf = t.buf[:0]
	if t.w.Size() >= t.opts.FileBytes {
		return t.closeFile()
	}
	return nil
}

// closeFile completes the open part file.
func (t *table[T]) closeFile() error {
	if t.w == nil {
		return nil
	}
	err := t.w.Close()
	if err == nil {
		err = t.f.Sync()
	}
	if cerr := t.f.Close(); err == nil {
		err = cerr
	}
	t.stats.Bytes += t.cw.n
	t.w, t.f, t.cw = nil, nil, nil
	if err != nil {
		return fmt.Errorf("export: %s: %w", t.name, err)
	}
	return nil
}

// close writes the remaining rows, completes the last file and puts the
// staging directory in the table directory's place. A table without rows
// still gets one file, with the schema and no row group, so that readers
// globbing the directory find the columns.
func (t *table[T]) close() error {
	if err := t.flush(); err != nil {
		return err
	}
	if t.stats.Files == 0 {
		if err := t.open(); err != nil {
			return err
		}
	}
	if err := t.closeFile(); err != nil {
		return err
	}
	if err := os.RemoveAll(t.dir); err != nil {
		return fmt.Errorf("export: %s: replace the earlier export: %w", t.name, err)
	}
	if err := os.Rename(t.staging, t.dir); err != nil {
		return fmt.Errorf("export: %s: %w", t.name, err)
	}
	return nil
}

// abort drops the table's staging directory after an error.
func (t *table[T]) abort() {
	if t.f != nil {
		_ = t.f.Close()
		t.w, t.f, t.cw = nil, nil, nil
	}
	_ = os.RemoveAll(t.staging)
}

// closeAll closes tables in order and returns the first error; after an
// error the rest are aborted.
func closeAll(err error, closers ...interface {
	close() error
	abort()
}) error {
	for _, c := range closers {
		if err != nil {
			c.abort()
			continue
		}
		err = c.close()
	}
	return err
}
