package importers

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/chaintrace/chaintrace/internal/labels"
)

// sdnCSVImporter reads OFAC's sdn.csv: 12 columns without a header
// (ent_num, SDN_Name, SDN_Type, Program, Title, Call_Sign, Vess_type,
// Tonnage, GRT, Vess_flag, Vess_owner, Remarks), "-0- " for empty.
// Addresses are in Remarks as "Digital Currency Address - XBT 1ABC...;"
// and programmes in Program as "DPRK3] [CYBER2". OFAC cuts Remarks at
// 1,000 characters: an address the cut may have shortened, or an address
// entry the cut left without its address, is rejected with that reason.
//
// Detection: a first row of 12 columns whose first is a number and whose
// third is an SDN type ("-0-", individual, vessel, aircraft).
type sdnCSVImporter struct{}

// sdnCSVColumns is the number of columns of sdn.csv.
const sdnCSVColumns = 12

// sdnRemarksLimit is the length at which OFAC cuts the Remarks column.
const sdnRemarksLimit = 1000

// sdnTypes are the values of the SDN_Type column ("-0-" is an entity).
var sdnTypes = setOf("-0-", "individual", "vessel", "aircraft")

// Name implements labels.Importer.
func (sdnCSVImporter) Name() string { return "ofac-sdn-csv" }

// Detect implements labels.Importer.
func (s sdnCSVImporter) Detect(path string) bool { return detectFormat(s, path) }

// Import implements labels.Importer: the dataset "ofac-sdn-csv".
func (s sdnCSVImporter) Import(ctx context.Context, path string) ([]labels.Dataset, error) {
	return importFormat(ctx, s, path)
}

func (sdnCSVImporter) sniff(_ string, head []byte) bool {
	r := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(head, []byte("\ufeff"))))
	r.FieldsPerRecord = -1
	rec, err := r.Read()
	if err != nil || len(rec) != sdnCSVColumns {
		return false
	}
	_, err = strconv.Atoi(strings.TrimSpace(rec[0]))
	return err == nil && sdnTypes[strings.TrimSpace(rec[2])]
}

func (sdnCSVImporter) importFiles(ctx context.Context, files []string) ([]labels.Dataset, error) {
	return perFile(ctx, files, readSDNCSV)
}

// readSDNCSV reads one sdn.csv. A row without 12 columns is an error
// naming file and line.
func readSDNCSV(ctx context.Context, file string) (labels.Dataset, error) {
	f, err := os.Open(file)
	if err != nil {
		return labels.Dataset{}, fmt.Errorf("importers: %w", err)
	}
	defer f.Close()
	r := csv.NewReader(skipBOM(bufio.NewReaderSize(f, 64<<10)))
	r.FieldsPerRecord = -1
	b := newBuilder("ofac-sdn-csv", "ofac-sdn-csv", file)
	for n := 0; ; n++ {
		if n%256 == 0 {
			if err := ctx.Err(); err != nil {
				return labels.Dataset{}, err
			}
		}
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return labels.Dataset{}, csvError(file, err)
		}
		line, _ := r.FieldPos(0)
		// OFAC ends the file with a DOS end-of-file character.
		if len(rec) == 1 && strings.Trim(rec[0], " \x1a") == "" {
			continue
		}
		if len(rec) != sdnCSVColumns {
			return labels.Dataset{}, errorf(file, line, "row has %d columns, want %d", len(rec), sdnCSVColumns)
		}
		for i := range rec {
			rec[i] = sdnField(rec[i])
		}
		if _, err := strconv.Atoi(rec[0]); err != nil {
			b.reject(file, line, rec[0], "ent_num is not a number")
			continue
		}
		addSDNRemarks(b, file, line, rec)
	}
	return b.dataset(), nil
}

// addSDNRemarks adds the addresses in the Remarks of one sdn.csv row.
func addSDNRemarks(b *builder, file string, line int, rec []string) {
	remarks := rec[11]
	if !strings.Contains(remarks, "Digital Currency") {
		return
	}
	cut := utf8.RuneCountInString(remarks) >= sdnRemarksLimit
	segs := strings.Split(remarks, ";")
	type found struct{ code, address string }
	var addrs []found
	var akas []string
	for i, seg := range segs {
		last := i == len(segs)-1
		s := strings.TrimPrefix(strings.TrimSpace(seg), "alt. ")
		if last && !cut {
			s = strings.TrimSuffix(s, ".")
		}
		if rest, ok := strings.CutPrefix(s, digitalCurrencyPrefix); ok {
			code, addr, _ := strings.Cut(rest, " ")
			if last && cut {
				b.reject(file, line, s, fmt.Sprintf("Remarks cut at %d characters inside this address, which may be incomplete", sdnRemarksLimit))
				continue
			}
			addrs = append(addrs, found{code, addr})
			continue
		}
		if last && cut && len(s) >= 4 && strings.HasPrefix(digitalCurrencyPrefix, s) {
			b.reject(file, line, s, fmt.Sprintf("Remarks cut at %d characters inside a digital currency address entry; its address is lost", sdnRemarksLimit))
			continue
		}
		if aka, ok := strings.CutPrefix(s, "a.k.a. '"); ok && !(last && cut) {
			akas = append(akas, strings.TrimSuffix(aka, "'"))
		}
	}
	programs := sdnPrograms(rec[3])
	for _, a := range addrs {
		l := ofacLabel(sdnCSVURL, rec[1], rec[0], programs)
		l.Context = akaContext(akas)
		addSanctioned(b, file, line, a.code, a.address, l)
	}
}

// sdnField trims a field and empties OFAC's "-0-" placeholder; text that
// is not UTF-8 is read as Latin-1.
func sdnField(s string) string {
	if !utf8.ValidString(s) {
		rs := make([]rune, len(s))
		for i := 0; i < len(s); i++ {
			rs[i] = rune(s[i])
		}
		s = string(rs)
	}
	s = strings.TrimSpace(s)
	if s == "-0-" {
		return ""
	}
	return s
}

// sdnPrograms splits the Program column, "DPRK3] [CYBER2" (the CSV drops
// the outer brackets of "[DPRK3] [CYBER2]").
func sdnPrograms(s string) []string {
	s = strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(s), "["), "]")
	var out []string
	for _, p := range strings.Split(s, "] [") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// csvError turns an encoding/csv error into one naming file and line.
func csvError(file string, err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return errorf(file, pe.Line, "invalid CSV: %v", pe.Err)
	}
	return errorf(file, 0, "%v", err)
}
