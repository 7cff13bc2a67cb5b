package importers

import (
	"bufio"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/chaintrace/chaintrace/internal/labels"
)

// sdnAdvancedImporter reads OFAC's SDN_ADVANCED.XML, the list in the UN
// sanctions data model: a root <Sanctions> with reference tables
// (<ReferenceValueSets>), <DistinctParties> holding one <DistinctParty>
// per listed party (its <Profile> has names in <Identity>/<Alias> and
// facts in <Feature>s, a cryptocurrency address being a feature whose
// FeatureType reads "Digital Currency Address - XBT"), and
// <SanctionsEntries> tying profiles to programmes. The file is read as a
// stream, one party or entry at a time.
//
// Detection: an XML file whose root element is Sanctions.
type sdnAdvancedImporter struct{}

// advRef is one value of a reference table: an id and its text.
type advRef struct {
	ID   string `xml:"ID,attr"`
	Text string `xml:",chardata"`
}

// advRefs are the reference tables the importer needs.
type advRefs struct {
	FeatureTypes   []advRef `xml:"FeatureTypeValues>FeatureType"`
	SanctionsTypes []advRef `xml:"SanctionsTypeValues>SanctionsType"`
	NamePartTypes  []advRef `xml:"NamePartTypeValues>NamePartType"`
}

// advTables is what the reference tables tell: the currency code of each
// digital-currency feature type, the name part types that are last
// names, and the sanctions measure types that are programmes.
type advTables struct {
	currencyOf   map[string]string
	lastName     map[string]bool
	programTypes map[string]bool
}

// tables indexes the reference tables.
func (r *advRefs) tables() *advTables {
	t := &advTables{currencyOf: make(map[string]string), lastName: make(map[string]bool), programTypes: make(map[string]bool)}
	for _, f := range r.FeatureTypes {
		if code, ok := strings.CutPrefix(strings.TrimSpace(f.Text), digitalCurrencyPrefix); ok {
			t.currencyOf[f.ID] = strings.TrimSpace(code)
		}
	}
	for _, n := range r.NamePartTypes {
		if strings.TrimSpace(n.Text) == "Last Name" {
			t.lastName[n.ID] = true
		}
	}
	for _, s := range r.SanctionsTypes {
		if strings.TrimSpace(s.Text) == "Program" {
			t.programTypes[s.ID] = true
		}
	}
	return t
}

// advParty is one <DistinctParty>.
type advParty struct {
	FixedRef string       `xml:"FixedRef,attr"`
	Profiles []advProfile `xml:"Profile"`
}

// advProfile is a party's <Profile>: its identities (names) and features.
type advProfile struct {
	ID         string        `xml:"ID,attr"`
	Identities []advIdentity `xml:"Identity"`
	Features   []advFeature  `xml:"Feature"`
}

// advIdentity holds a profile's names (aliases) and the types of their
// parts (name part groups).
type advIdentity struct {
	Aliases []advAlias `xml:"Alias"`
	Groups  []struct {
		ID     string `xml:"ID,attr"`
		TypeID string `xml:"NamePartTypeID,attr"`
	} `xml:"NamePartGroups>MasterNamePartGroup>NamePartGroup"`
}

// advAlias is one name of a profile, possibly written in several scripts.
type advAlias struct {
	Primary string `xml:"Primary,attr"`
	Names   []struct {
		Parts []struct {
			GroupID string `xml:"NamePartGroupID,attr"`
			Text    string `xml:",chardata"`
		} `xml:"DocumentedNamePart>NamePartValue"`
	} `xml:"DocumentedName"`
}

// advFeature is a fact about a profile; its versions' details hold the
// value (for an address feature, the address).
type advFeature struct {
	TypeID  string   `xml:"FeatureTypeID,attr"`
	Details []string `xml:"FeatureVersion>VersionDetail"`
}

// advEntry is one <SanctionsEntry>: the measures taken against a profile,
// among them its programmes.
type advEntry struct {
	ProfileID string `xml:"ProfileID,attr"`
	Measures  []struct {
		TypeID  string `xml:"SanctionsTypeID,attr"`
		Comment string `xml:"Comment"`
	} `xml:"SanctionsMeasure"`
}

// advAddress is an address found in a profile, waiting for the profile's
// programmes from the sanctions entries that follow the parties.
type advAddress struct {
	profile string
	line    int
	code    string
	address string
	label   labels.Label
}

// Name implements labels.Importer.
func (sdnAdvancedImporter) Name() string { return "ofac-sdn-advanced-xml" }

// Detect implements labels.Importer.
func (s sdnAdvancedImporter) Detect(path string) bool { return detectFormat(s, path) }

// Import implements labels.Importer: the dataset "ofac-sdn-advanced".
func (s sdnAdvancedImporter) Import(ctx context.Context, path string) ([]labels.Dataset, error) {
	return importFormat(ctx, s, path)
}

func (sdnAdvancedImporter) sniff(_ string, head []byte) bool { return xmlRoot(head) == "Sanctions" }

func (sdnAdvancedImporter) importFiles(ctx context.Context, files []string) ([]labels.Dataset, error) {
	return perFile(ctx, files, readSDNAdvanced)
}

// readSDNAdvanced streams one SDN_ADVANCED.XML file.
func readSDNAdvanced(ctx context.Context, file string) (labels.Dataset, error) {
	f, err := os.Open(file)
	if err != nil {
		return labels.Dataset{}, fmt.Errorf("importers: %w", err)
	}
	defer f.Close()
	dec := xml.NewDecoder(skipBOM(bufio.NewReaderSize(f, 64<<10)))
	var (
		tables    *advTables
		issued    time.Time
		pending   []advAddress
		programs  = make(map[string][]string)
		container string // the element whose children come next
	)
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
			name := t.Name.Local
			switch container {
			case "":
				if name != "Sanctions" {
					return labels.Dataset{}, errorf(file, line, "unexpected root element <%s>, want <Sanctions>", name)
				}
				container = name
			case "Sanctions":
				switch name {
				case "ReferenceValueSets":
					var refs advRefs
					err = dec.DecodeElement(&refs, &t)
					tables = refs.tables()
				case "DateOfIssue":
					var d struct{ Year, Month, Day int }
					err = dec.DecodeElement(&d, &t)
					issued = time.Date(d.Year, time.Month(d.Month), d.Day, 0, 0, 0, 0, time.UTC)
				case "DistinctParties", "SanctionsEntries":
					container = name
				default:
					err = dec.Skip()
				}
			case "DistinctParties":
				if name != "DistinctParty" {
					return labels.Dataset{}, errorf(file, line, "unexpected element <%s> in <DistinctParties>", name)
				}
				if tables == nil {
					return labels.Dataset{}, errorf(file, line, "unexpected structure: <DistinctParty> before <ReferenceValueSets>")
				}
				var p advParty
				if err = dec.DecodeElement(&p, &t); err == nil {
					found, perr := partyAddresses(file, line, tables, &p)
					if perr != nil {
						return labels.Dataset{}, perr
					}
					pending = append(pending, found...)
				}
			case "SanctionsEntries":
				if name != "SanctionsEntry" {
					return labels.Dataset{}, errorf(file, line, "unexpected element <%s> in <SanctionsEntries>", name)
				}
				if tables == nil {
					return labels.Dataset{}, errorf(file, line, "unexpected structure: <SanctionsEntry> before <ReferenceValueSets>")
				}
				var e advEntry
				if err = dec.DecodeElement(&e, &t); err == nil {
					addPrograms(programs, tables, &e)
				}
			default:
				err = dec.Skip()
			}
			if err != nil {
				return labels.Dataset{}, xmlError(file, line, err)
			}
		case xml.EndElement:
			if container == "DistinctParties" || container == "SanctionsEntries" {
				container = "Sanctions"
			}
		}
	}
	if container == "" {
		return labels.Dataset{}, errorf(file, 0, "no <Sanctions> element")
	}
	b := newBuilder("ofac-sdn-advanced", "ofac-sdn-advanced-xml", file)
	for _, a := range pending {
		a.label.Programs = programs[a.profile]
		a.label.LastMod = issued
		addSanctioned(b, file, a.line, a.code, a.address, a.label)
	}
	return b.dataset(), nil
}

// partyAddresses returns the cryptocurrency addresses of a party that
// starts at line, labelled with its primary name.
func partyAddresses(file string, line int, t *advTables, p *advParty) ([]advAddress, error) {
	if p.FixedRef == "" || len(p.Profiles) == 0 {
		return nil, errorf(file, line, "unexpected structure: <DistinctParty> without FixedRef or <Profile>")
	}
	var out []advAddress
	for i := range p.Profiles {
		prof := &p.Profiles[i]
		var codes, values []string
		for _, feat := range prof.Features {
			code, ok := t.currencyOf[feat.TypeID]
			if !ok {
				continue
			}
			if len(feat.Details) == 0 {
				feat.Details = []string{""}
			}
			for _, d := range feat.Details {
				codes = append(codes, code)
				values = append(values, d)
			}
		}
		if len(codes) == 0 {
			continue
		}
		name, akas := partyNames(t, prof)
		if name == "" {
			return nil, errorf(file, line, "unexpected structure: profile %s has no primary name", prof.ID)
		}
		l := ofacLabel(sdnAdvancedURL, name, p.FixedRef, nil)
		l.Context = akaContext(akas)
		for i := range codes {
			out = append(out, advAddress{profile: prof.ID, line: line, code: codes[i], address: values[i], label: l})
		}
	}
	return out, nil
}

// partyNames returns the primary name of a profile (people as "LAST,
// First") and its other names.
func partyNames(t *advTables, prof *advProfile) (name string, akas []string) {
	for _, id := range prof.Identities {
		last := make(map[string]bool, len(id.Groups))
		for _, g := range id.Groups {
			last[g.ID] = t.lastName[g.TypeID]
		}
		for _, a := range id.Aliases {
			if len(a.Names) == 0 {
				continue
			}
			var lastParts, rest []string
			for _, part := range a.Names[0].Parts {
				v := strings.TrimSpace(part.Text)
				switch {
				case v == "":
				case last[part.GroupID]:
					lastParts = append(lastParts, v)
				default:
					rest = append(rest, v)
				}
			}
			n := sdnName(strings.Join(lastParts, " "), strings.Join(rest, " "))
			switch {
			case n == "":
			case a.Primary == "true" && name == "":
				name = n
			default:
				akas = append(akas, n)
			}
		}
	}
	return name, akas
}

// addPrograms records the programmes of a sanctions entry: its measures
// of type "Program" (every commented measure when the reference tables
// do not name that type).
func addPrograms(programs map[string][]string, t *advTables, e *advEntry) {
	for _, m := range e.Measures {
		c := strings.TrimSpace(m.Comment)
		if c == "" || (len(t.programTypes) > 0 && !t.programTypes[m.TypeID]) {
			continue
		}
		if !slices.Contains(programs[e.ProfileID], c) {
			programs[e.ProfileID] = append(programs[e.ProfileID], c)
		}
	}
}
