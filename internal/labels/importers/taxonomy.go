package importers

import "strings"

// concepts is the set of concept ids of the GraphSense concepts taxonomy
// (version 0.1.0), which TagPack fields category, abuse and concepts and
// ActorPack categories must come from. Only the ids are kept: a label
// stores the id, and descriptions live with the taxonomy.
var concepts = setOf(
	// Top concepts and sources.
	"concept", "unknown", "behaviour", "source", "mention", "website_mention", "forum_mention",
	// Abuse and usage patterns.
	"abuse", "gray_usage", "mixing", "white_usage",
	"sexual_abuse", "child_sexual_abuse", "violence", "human_trafficking", "murder", "torture",
	"scam", "financial_crime", "investment_fraud", "ponzi_scheme", "pyramid_scheme",
	"money_laundering", "extortion", "sextortion", "phishing",
	"hacking", "service_hack", "account_hack", "exploit", "data_breach", "social_engineering", "malware",
	"drugs", "weapons", "payment_card_fraud", "ransomware", "sanction", "counterfeit",
	"extremism", "terrorism", "terrorism_financing", "dark_web",
	// Entities and services.
	"entity", "organization", "user", "service", "victim", "perpetrator", "donation",
	"exchange", "wallet_service", "escrow_wallet", "ico_wallet",
	"cold_wallet", "hot_wallet", "warm_wallet", "deposit_wallet",
	"filesharing", "index", "market", "messaging_service", "mixing_service", "coinjoin",
	"miner", "mining_service", "gambling", "search_engine", "shop", "faucet",
	"payment_processor", "atm", "hosting", "vpn", "nameservice",
	// Decentralised finance.
	"defi", "defi_token", "defi_lending", "defi_dex", "defi_dex_pair", "defi_derivative",
	"defi_bridge", "defi_dao", "defi_staking", "defi_custody",
	// Items, lists and roles.
	"item", "collectible", "black_list", "gov_black_list", "white_list", "gov_white_list",
	"deployer", "funder",
)

// confidenceLevels maps the confidence ids of the TagPack taxonomy to
// their score from 0 to 100.
var confidenceLevels = map[string]int{
	"override":               100,
	"ownership":              100,
	"ledger_immanent":        100,
	"manual_transaction":     90,
	"service_api":            70,
	"forensic_investigation": 70,
	"authority_data":         60,
	"trusted_provider":       50,
	"service_data":           50,
	"forensic":               50,
	"untrusted_transaction":  40,
	"web_crawl":              20,
	"heuristic":              10,
	"unknown":                5,
}

// Confidence ids the importers assign themselves.
const (
	confAuthority = "authority_data"
	confWebCrawl  = "web_crawl"
	confUnknown   = "unknown"
)

// isConcept reports whether id is a concept of the taxonomy.
func isConcept(id string) bool { return concepts[id] }

// setOf returns a set of the given strings.
func setOf(items ...string) map[string]bool {
	m := make(map[string]bool, len(items))
	for _, s := range items {
		m[s] = true
	}
	return m
}

// splitList splits a comma-separated list, trimming blanks and dropping
// empty items.
func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
