package importers

import (
	"encoding/json"
	"strings"

	"github.com/chaintrace/chaintrace/internal/labels"
)

// Sources of OFAC-derived labels: the list the importer read, or for
// third-party extracts the SDN list they were built from.
const (
	sdnXMLURL      = "https://sanctionslistservice.ofac.treas.gov/api/PublicationPreview/exports/SDN.XML"
	sdnAdvancedURL = "https://sanctionslistservice.ofac.treas.gov/api/PublicationPreview/exports/SDN_ADVANCED.XML"
	sdnCSVURL      = "https://sanctionslistservice.ofac.treas.gov/api/PublicationPreview/exports/SDN.CSV"
	sdnListURL     = "https://ofac.treasury.gov/specially-designated-nationals-and-blocked-persons-list-sdn-human-readable-lists"
)

// digitalCurrencyPrefix starts the SDN identification type of a
// cryptocurrency address: "Digital Currency Address - XBT".
const digitalCurrencyPrefix = "Digital Currency Address - "

// sdnKnown is what chaintrace knows about an SDN entity beyond the list:
// the actor id it is (an ActorPack id, or one of data/actors.yaml) and
// its concepts category.
type sdnKnown struct {
	actor    string
	category string
}

// sdnEntities maps SDN entity names (upper case, as OFAC writes them) to
// actors and categories. Entities not listed get category "user" and no
// actor; an actor id is set only where an ActorPack or chaintrace's own
// actors define it.
var sdnEntities = map[string]sdnKnown{
	"LAZARUS GROUP":       {"lazarusgroup", "user"},
	"BLUENOROFF":          {"apt38", "user"},
	"ANDARIEL":            {"andariel", "user"},
	"TORNADO CASH":        {"tornado", "mixing_service"},
	"BLENDER.IO":          {"blenderio", "mixing_service"},
	"SINBAD":              {"sinbadio", "mixing_service"},
	"HYDRA MARKET":        {"hydramarket", "market"},
	"CHATEX":              {"chatex", "exchange"},
	"GARANTEX EUROPE OU":  {"garantex", "exchange"},
	"SUEX OTC, S.R.O.":    {"", "exchange"},
	"GRINEX":              {"", "exchange"},
	"CRYPTEX":             {"", "exchange"},
	"ZEDCEX EXCHANGE LTD": {"", "exchange"},
}

// sdnLabelText is the label of an address an OFAC list gives without the
// entity's name.
const sdnLabelText = "OFAC SDN"

// ofacLabel returns a sanctions label for an SDN entity (entity may be
// empty when the list has no names): abuse "sanction", confidence
// authority_data, category and actor from sdnEntities.
func ofacLabel(source, entity, uid string, programs []string) labels.Label {
	l := labels.Label{
		Label:           entity,
		Category:        "user",
		Abuse:           "sanction",
		Confidence:      confAuthority,
		ConfidenceLevel: confidenceLevels[confAuthority],
		Source:          source,
		Entity:          entity,
		EntityUID:       uid,
		Programs:        programs,
	}
	if entity == "" {
		l.Label = sdnLabelText
	}
	if k, ok := sdnEntities[strings.ToUpper(strings.TrimSpace(entity))]; ok {
		l.Actor = k.actor
		l.Category = k.category
	}
	return l
}

// addSanctioned resolves an address listed under currency code, fills
// chain and address into l and adds it to b, or rejects the row.
func addSanctioned(b *builder, file string, line int, code, address string, l labels.Label) {
	address = strings.TrimSpace(address)
	if address == "" {
		b.reject(file, line, code, "empty "+digitalCurrencyPrefix+code)
		return
	}
	chain, norm, err := resolveAddress(code, address)
	if err != nil {
		b.reject(file, line, address, err.Error())
		return
	}
	l.Chain, l.Address = chain, norm
	b.add(l)
}

// akaContext renders the other names of an entity as the label context
// {"akas": [...]}, or "" when there are none.
func akaContext(akas []string) string {
	if len(akas) == 0 {
		return ""
	}
	b, err := json.Marshal(struct {
		AKAs []string `json:"akas"`
	}{akas})
	if err != nil {
		return ""
	}
	return string(b)
}
