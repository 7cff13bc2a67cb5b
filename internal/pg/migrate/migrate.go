// Package migrate applies versioned SQL migrations embedded in the binary
// to a PostgreSQL database, with or without Citus.
//
// A migration is a pair of files NNNN_name.up.sql and NNNN_name.down.sql.
// The files are text/template templates rendered for the database at hand,
// so one logical schema serves both deployments:
//
//	{{partitionBy "addr_id"}}               PARTITION BY HASH (addr_id) on plain PostgreSQL, nothing on Citus
//	{{distribute "t" "addr_id" "group"}}    Citus: create_distributed_table('t', 'addr_id', colocate_with => 'group')
//	                                        ('none' when t is group: the first table starts the group);
//	                                        plain: the N hash partitions of t
//	{{reference "t"}}                       Citus: create_reference_table('t'); plain: nothing
//
// Templating was chosen over a pair of files per variant so that a table's
// columns and keys are written once and cannot drift between Citus and
// plain PostgreSQL; only distribution differs. The recorded checksum is of
// the up file as embedded (the template), so it is the same on both.
//
// The runner records applied migrations in schema_migrations and refuses
// to run when an applied migration's up file has changed since. Each
// migration runs in its own transaction, and the whole run holds a session
// advisory lock, so two processes migrating at once serialise: the second
// waits, then finds the first's work recorded and applies nothing.
package migrate

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"text/template"
)

// ErrChanged reports that an applied migration's up file differs from the
// one that was applied: the database no longer matches the files, and
// running on would build on a schema nobody wrote down.
var ErrChanged = errors.New("migrate: applied migration changed")

// ErrUnknown reports an applied version that no file describes, as when an
// older binary meets a database a newer one migrated.
var ErrUnknown = errors.New("migrate: applied migration unknown to this binary")

// Migration is one versioned step, its up and down templates and the
// checksum of the up file.
type Migration struct {
	Version  int64
	Name     string
	Up, Down string
	Checksum string // hex SHA-256 of the up file
}

var fileName = regexp.MustCompile(`^([0-9]+)_([a-z0-9_]+)\.(up|down)\.sql$`)

// Load reads the migrations in the root of fsys, sorted by version. Every
// version needs both files, versions must be distinct, and other files
// are ignored.
func Load(fsys fs.FS) ([]Migration, error) {
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	byVersion := map[int64]*Migration{}
	for _, e := range entries {
		m := fileName.FindStringSubmatch(e.Name())
		if m == nil || e.IsDir() {
			continue
		}
		v, err := strconv.ParseInt(m[1], 10, 64)
		if err != nil || v <= 0 {
			return nil, fmt.Errorf("migrate: %s: version must be a positive integer", e.Name())
		}
		b, err := fs.ReadFile(fsys, e.Name())
		if err != nil {
			return nil, fmt.Errorf("migrate: %w", err)
		}
		mig := byVersion[v]
		if mig == nil {
			mig = &Migration{Version: v, Name: m[2]}
			byVersion[v] = mig
		} else if mig.Name != m[2] {
			return nil, fmt.Errorf("migrate: version %d has two names, %q and %q", v, mig.Name, m[2])
		}
		if m[3] == "up" {
			sum := sha256.Sum256(b)
			mig.Up, mig.Checksum = string(b), hex.EncodeToString(sum[:])
		} else {
			mig.Down = string(b)
		}
	}
	out := make([]Migration, 0, len(byVersion))
	for _, m := range byVersion {
		if m.Checksum == "" || m.Down == "" {
			return nil, fmt.Errorf("migrate: version %d (%s) needs both an up and a down file", m.Version, m.Name)
		}
		out = append(out, *m)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	return out, nil
}

// Variant says how distributed tables are laid out: on Citus, or as native
// hash partitions on plain PostgreSQL.
type Variant struct {
	Citus      bool
	Partitions int // hash partitions per table on plain PostgreSQL
}

// String names the variant as schema_migrations records it.
func (v Variant) String() string {
	if v.Citus {
		return "citus"
	}
	return fmt.Sprintf("native:%d", v.Partitions)
}

var ident = regexp.MustCompile(`^[a-z_][a-z0-9_]*$`)

// Render expands a migration template for variant v.
func Render(name, text string, v Variant) (string, error) {
	check := func(ids ...string) error {
		for _, id := range ids {
			if !ident.MatchString(id) {
				return fmt.Errorf("migrate: %q is not a plain identifier", id)
			}
		}
		return nil
	}
	funcs := template.FuncMap{
		"partitionBy": func(col string) (string, error) {
			if err := check(col); err != nil || v.Citus {
				return "", err
			}
			return "PARTITION BY HASH (" + col + ")", nil
		},
		"distribute": func(table, col, group string) (string, error) {
			if err := check(table, col, group); err != nil {
				return "", err
			}
			if v.Citus {
				// The first table of a group starts a colocation group of
				// its own, so the address-keyed and the tx-keyed tables
				// (both bigint) are not merged into Citus's default group.
				colocate := group
				if group == table {
					colocate = "none"
				}
				return fmt.Sprintf("SELECT create_distributed_table('%s', '%s', colocate_with => '%s');", table, col, colocate), nil
			}
			var b strings.Builder
			for i := 0; i < v.Partitions; i++ {
				fmt.Fprintf(&b, "CREATE TABLE %s_p%d PARTITION OF %s FOR VALUES WITH (MODULUS %d, REMAINDER %d);\n",
					table, i, table, v.Partitions, i)
			}
			return b.String(), nil
		},
		"reference": func(table string) (string, error) {
			if err := check(table); err != nil || !v.Citus {
				return "", err
			}
			return fmt.Sprintf("SELECT create_reference_table('%s');", table), nil
		},
	}
	t, err := template.New(name).Funcs(funcs).Option("missingkey=error").Parse(text)
	if err != nil {
		return "", fmt.Errorf("migrate: %w", err)
	}
	var b strings.Builder
	if err := t.Execute(&b, v); err != nil {
		return "", fmt.Errorf("migrate: %w", err)
	}
	return b.String(), nil
}
