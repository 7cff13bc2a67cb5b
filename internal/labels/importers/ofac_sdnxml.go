package importers

import (
	"bufio"
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/chaintrace/chaintrace/internal/labels"
)

// sdnXMLImporter reads OFAC's SDN.XML: a root <sdnList> with a
// <publshInformation> (sic) and one <sdnEntry> per listed person, entity,
// vessel or aircraft. An entry's cryptocurrency addresses are ids of type
// "Digital Currency Address - XBT" (ETH, USDT, ...) in its <idList>. The
// file is read as a stream, one entry at a time.
//
// Detection: an XML file whose root element is sdnList.
type sdnXMLImporter struct{}

// xmlSDNEntry is one <sdnEntry> of SDN.XML, as far as labels need it.
type xmlSDNEntry struct {
	UID       string   `xml:"uid"`
	FirstName string   `xml:"firstName"`
	LastName  string   `xml:"lastName"`
	SDNType   string   `xml:"sdnType"`
	Programs  []string `xml:"programList>program"`
	IDs       []struct {
		Type   string `xml:"idType"`
		Number string `xml:"idNumber"`
	} `xml:"idList>id"`
	AKAs []struct {
		FirstName string `xml:"firstName"`
		LastName  string `xml:"lastName"`
	} `xml:"akaList>aka"`
}

// Name implements labels.Importer.
func (sdnXMLImporter) Name() string { return "ofac-sdn-xml" }

// Detect implements labels.Importer.
func (s sdnXMLImporter) Detect(path string) bool { return detectFormat(s, path) }

// Import implements labels.Importer: the dataset "ofac-sdn".
func (s sdnXMLImporter) Import(ctx context.Context, path string) ([]labels.Dataset, error) {
	return importFormat(ctx, s, path)
}

func (sdnXMLImporter) sniff(_ string, head []byte) bool { return xmlRoot(head) == "sdnList" }

func (sdnXMLImporter) importFiles(ctx context.Context, files []string) ([]labels.Dataset, error) {
	return perFile(ctx, files, readSDNXML)
}

// readSDNXML streams one SDN.XML file. An unexpected element at the top
// of the list, an entry without uid or name, or broken XML is an error
// naming file and line.
func readSDNXML(ctx context.Context, file string) (labels.Dataset, error) {
	f, err := os.Open(file)
	if err != nil {
		return labels.Dataset{}, fmt.Errorf("importers: %w", err)
	}
	defer f.Close()
	dec := xml.NewDecoder(skipBOM(bufio.NewReaderSize(f, 64<<10)))
	b := newBuilder("ofac-sdn", "ofac-sdn-xml", file)
	var published time.Time
	depth, seenRoot := 0, false
	for n := 0; ; n++ {
		if n%256 == 0 {
			if err := ctx.Err(); err != nil {
				return labels.Dataset{}, err
			}
		}
		line, _ := dec.InputPos()
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return labels.Dataset{}, xmlError(file, line, err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			switch {
			case depth == 0 && t.Name.Local != "sdnList":
				return labels.Dataset{}, errorf(file, line, "unexpected root element <%s>, want <sdnList>", t.Name.Local)
			case depth == 0:
				depth, seenRoot = 1, true
			case t.Name.Local == "publshInformation" || t.Name.Local == "publishInformation":
				var info struct {
					Date string `xml:"Publish_Date"`
				}
				if err := dec.DecodeElement(&info, &t); err != nil {
					return labels.Dataset{}, xmlError(file, line, err)
				}
				published, _ = parseUSDate(info.Date)
			case t.Name.Local == "sdnEntry":
				var e xmlSDNEntry
				if err := dec.DecodeElement(&e, &t); err != nil {
					return labels.Dataset{}, xmlError(file, line, err)
				}
				if err := addSDNEntry(b, file, line, &e); err != nil {
					return labels.Dataset{}, err
				}
			default:
				return labels.Dataset{}, errorf(file, line, "unexpected element <%s> in <sdnList>, want <sdnEntry>", t.Name.Local)
			}
		case xml.EndElement:
			depth = 0
		case xml.CharData:
			if text := bytes.TrimSpace(t); len(text) > 0 {
				line += bytes.Count(t[:bytes.Index(t, text)], []byte("\n"))
				return labels.Dataset{}, errorf(file, line, "unexpected text %q in <sdnList>", clip(string(text), 40))
			}
		}
	}
	if !seenRoot {
		return labels.Dataset{}, errorf(file, 0, "no <sdnList> element")
	}
	ds := b.dataset()
	for i := range ds.Labels {
		ds.Labels[i].LastMod = published
	}
	return ds, nil
}

// addSDNEntry adds the cryptocurrency addresses of one entry that starts
// at line.
func addSDNEntry(b *builder, file string, line int, e *xmlSDNEntry) error {
	uid := strings.TrimSpace(e.UID)
	name := sdnName(e.LastName, e.FirstName)
	if uid == "" || name == "" {
		return errorf(file, line, "unexpected structure: <sdnEntry> without <uid> or <lastName>")
	}
	var akas []string
	for _, a := range e.AKAs {
		if n := sdnName(a.LastName, a.FirstName); n != "" {
			akas = append(akas, n)
		}
	}
	programs := trimAll(e.Programs)
	for _, id := range e.IDs {
		code, ok := strings.CutPrefix(strings.TrimSpace(id.Type), digitalCurrencyPrefix)
		if !ok {
			continue
		}
		l := ofacLabel(sdnXMLURL, name, uid, programs)
		l.Context = akaContext(akas)
		addSanctioned(b, file, line, strings.TrimSpace(code), id.Number, l)
	}
	return nil
}

// parseUSDate parses an OFAC date, MM/DD/YYYY.
func parseUSDate(s string) (time.Time, error) {
	return time.Parse("01/02/2006", strings.TrimSpace(s))
}

// sdnName writes a name as OFAC's CSV does: "LAST, First" for people,
// the last name alone for entities.
func sdnName(last, first string) string {
	last, first = strings.TrimSpace(last), strings.TrimSpace(first)
	if first == "" {
		return last
	}
	if last == "" {
		return first
	}
	return last + ", " + first
}

// trimAll returns the non-empty items of list, trimmed.
func trimAll(list []string) []string {
	var out []string
	for _, s := range list {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// skipBOM drops a UTF-8 byte-order mark at the start of r.
func skipBOM(r *bufio.Reader) *bufio.Reader {
	if b, err := r.Peek(3); err == nil && bytes.Equal(b, []byte("\ufeff")) {
		_, _ = r.Discard(3)
	}
	return r
}

// xmlRoot returns the local name of the first element in head, or "".
func xmlRoot(head []byte) string {
	dec := xml.NewDecoder(bytes.NewReader(bytes.TrimPrefix(head, []byte("\ufeff"))))
	for {
		tok, err := dec.RawToken()
		if err != nil {
			return ""
		}
		switch t := tok.(type) {
		case xml.StartElement:
			return t.Name.Local
		case xml.CharData:
			if len(bytes.TrimSpace(t)) > 0 {
				return ""
			}
		}
	}
}

// xmlError turns an encoding/xml error into one naming file and line
// (the decoder's own line when it gives one).
func xmlError(file string, line int, err error) error {
	var se *xml.SyntaxError
	if errors.As(err, &se) {
		return errorf(file, se.Line, "invalid XML: %s", se.Msg)
	}
	return errorf(file, line, "invalid XML: %v", err)
}

// clip shortens s to at most n bytes for messages.
func clip(s string, n int) string {
	s = strings.TrimSpace(s)
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}
