package incident

import (
	"strings"

	"github.com/chaintrace/chaintrace/internal/addrs"
	"github.com/chaintrace/chaintrace/internal/labels"
)

// TraceSources returns where a trace of the incident on chain starts: the
// record's attacker and laundering addresses (normalised, in record
// order, without repeats) and its transactions on the chain (EVM hashes
// in lower case). Exploit contracts and victim addresses are left out:
// funds are followed from the thief, not from the victim. Addresses that
// do not normalise are skipped; Validate reports them.
func TraceSources(rec *Record, chain string) (addresses []string, txs []string) {
	seen := map[string]bool{}
	for _, a := range rec.Addresses {
		if a.Chain != chain || (a.Role != "attacker" && a.Role != "laundering") {
			continue
		}
		n, err := addrs.Normalize(chain, a.Address)
		if err != nil || seen[n] {
			continue
		}
		seen[n] = true
		addresses = append(addresses, n)
	}
	for _, t := range rec.Transactions {
		if t.Chain != chain {
			continue
		}
		h := t.Hash
		if addrs.IsEVM(chain) {
			h = strings.ToLower(h)
		}
		if !seen["tx:"+h] {
			seen["tx:"+h] = true
			txs = append(txs, h)
		}
	}
	return addresses, txs
}

// LabelsDataset is the dataset name of the labels Labels makes.
const LabelsDataset = "chaintrace-incidents"

// confidenceOf maps an attribution confidence to a TagPack confidence id
// and its score in the TagPack taxonomy (internal/labels/importers): a
// government attribution is authority data, an industry one a forensic
// investigation of the transactions, a suspicion no better than a web
// crawl.
var confidenceOf = map[string]struct {
	id    string
	level int
}{
	"confirmed_by_government": {"authority_data", 60},
	"attributed_by_industry":  {"forensic_investigation", 70},
	"suspected":               {"web_crawl", 20},
}

// Labels turns the attacker, laundering and exploit-contract addresses of
// the non-draft records into labels of dataset "chaintrace-incidents":
// abuse service_hack (the GraphSense concept of funds stolen from a
// service), actor the attribution's actor, source the address's source
// when it is a URL, else the record's first source URL. Victim addresses
// are not labelled: they belong to the victim, not to the actor.
func Labels(records []Record) []labels.Label {
	var out []labels.Label
	for i := range records {
		r := &records[i]
		if r.Status == "draft" {
			continue
		}
		conf := confidenceOf[r.Attribution.Confidence]
		first := ""
		if all := r.AllSources(); len(all) > 0 {
			first = all[0].URL
		}
		for _, a := range r.Addresses {
			if a.Role == "victim" {
				continue
			}
			n, err := addrs.Normalize(a.Chain, a.Address)
			if err != nil {
				continue
			}
			src := first
			if strings.HasPrefix(a.Source, "https://") || strings.HasPrefix(a.Source, "http://") {
				src = a.Source
			}
			out = append(out, labels.Label{
				Chain:           a.Chain,
				Address:         n,
				Label:           r.Victim.Name + " theft (" + r.Date + "): " + strings.ReplaceAll(a.Role, "_", " "),
				Abuse:           "service_hack",
				Actor:           r.Attribution.Actor,
				Confidence:      conf.id,
				ConfidenceLevel: conf.level,
				Source:          src,
				Dataset:         LabelsDataset,
				Context:         "incident " + r.ID,
			})
		}
	}
	return out
}
