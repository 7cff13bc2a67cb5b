package importers

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/chaintrace/chaintrace/internal/labels"
)

// etherscanImporter reads Etherscan account labels as scraped by
// github.com/brianleect/etherscan-labels: combinedAccountLabels.json
// ({address: {"name", "labels": [slug, ...]}}) and the per-label CSV
// files (",Address,Name Tag,Balance,Txn Count", the label slug being the
// file name). Labels are on chain eth with confidence web_crawl, the
// Etherscan name tag as label text (or "etherscan:<slugs>" when the tag
// is empty), the slugs in the context and the Etherscan address page as
// source.
//
// Etherscan slugs become concepts through etherscanConcepts: exchange
// names, otc, fiat-gateway, hot-wallet, cold-wallet and binance-deposit
// give category exchange (the hot and cold wallets Etherscan lists are
// exchanges' wallets); tornado-cash and ethereum-mixer mixing_service;
// bridge, multichain, wormhole and other bridges defi_bridge; blocked
// (addresses frozen by a token issuer) black_list; a few generic slugs
// (dex, defi, staking, gambling, mining, ...) their concept; and
// ofac-sanctions-lists abuse sanction. Slugs that state no category or
// abuse (high-risk, something-fishy, flagged-by-sec, white-hat-group,
// protocol names) set none: the label keeps them in its context. The
// first slug of an address with a category gives it. Exchange slugs also
// set the ActorPack actor (binance, kraken, okex, ...).
//
// Detection: a JSON object whose first key is an Ethereum address mapped
// to an object starting with "name", or a CSV file whose header starts
// ",Address,Name Tag".
type etherscanImporter struct{}

// etherscanConcept is what an Etherscan slug says: a category, an abuse
// and the actor id of an exchange.
type etherscanConcept struct {
	category, abuse, actor string
}

// etherscanConcepts maps Etherscan label slugs to concepts.
var etherscanConcepts = func() map[string]etherscanConcept {
	m := map[string]etherscanConcept{
		"tornado-cash":         {category: "mixing_service", actor: "tornado"},
		"ethereum-mixer":       {category: "mixing_service"},
		"ofac-sanctions-lists": {abuse: "sanction"},
		"blocked":              {category: "black_list"},
		"dex":                  {category: "defi_dex"},
		"defi":                 {category: "defi"},
		"staking":              {category: "defi_staking"},
		"loans":                {category: "defi_lending"},
		"derivatives":          {category: "defi_derivative"},
		"dao":                  {category: "defi_dao"},
		"gambling":             {category: "gambling"},
		"mining":               {category: "mining_service"},
		"ico-wallets":          {category: "ico_wallet"},
		"donate":               {category: "donation"},
		"charity":              {category: "donation"},
		"marketplace":          {category: "market"},
		"payments":             {category: "payment_processor"},
		"wallet-app":           {category: "wallet_service"},
		"escrow":               {category: "escrow_wallet"},
		"multichain":           {category: "defi_bridge", actor: "multichain"},
	}
	for _, s := range []string{"bridge", "wormhole", "hop-protocol", "across-protocol", "synapse", "connext", "celer-network"} {
		m[s] = etherscanConcept{category: "defi_bridge"}
	}
	// Exchange slugs, with the ActorPack id where it differs from the
	// slug or is known; the rest carry no actor.
	exchanges := map[string]string{
		"binance": "binance", "binance-deposit": "binance", "bitfinex": "bitfinex", "bitstamp": "bitstamp",
		"gate-io": "gate", "huobi": "huobi", "okx": "okex", "hotbit": "hotbit", "kucoin": "kucoin",
		"bithumb": "bithumb", "upbit": "upbit", "crypto-com": "cryptocom", "bittrex": "bittrex",
		"ftx": "ftx", "poloniex": "poloniex", "coinbase": "coinbase", "kraken": "kraken",
		"gemini": "gemini", "changenow": "changenow",
	}
	for slug, actor := range exchanges {
		m[slug] = etherscanConcept{category: "exchange", actor: actor}
	}
	for _, s := range []string{
		"otc", "fiat-gateway", "hot-wallet", "cold-wallet", "ascendex", "bitmart", "bitmex", "deribit",
		"digifinex", "hitbtc", "hoo-com", "korbit", "latoken", "coinone", "coinsquare", "coinhako",
		"paribu", "remitano", "tidex", "topbtc", "yunbi", "zb-com", "bgogo", "allbit", "cobinhood",
		"coss-io", "crex24", "kryptono", "liquid", "quadrigacx", "bitcoin-suisse", "coinmetro",
		"lcx-ag", "maskex", "coinbit", "abcc", "resfinex", "trade-io", "shapeshift",
	} {
		m[s] = etherscanConcept{category: "exchange"}
	}
	return m
}()

// etherscanJSONRE matches the start of combinedAccountLabels.json.
var etherscanJSONRE = regexp.MustCompile(`^\s*\{\s*"0x[0-9a-fA-F]{40}"\s*:\s*\{\s*"name"`)

// etherscanCSVHeader starts the header of the per-label CSV files.
const etherscanCSVHeader = ",Address,Name Tag"

// Name implements labels.Importer.
func (etherscanImporter) Name() string { return "etherscan" }

// Detect implements labels.Importer.
func (e etherscanImporter) Detect(path string) bool { return detectFormat(e, path) }

// Import implements labels.Importer: one dataset "etherscan:<base name>"
// per file.
func (e etherscanImporter) Import(ctx context.Context, path string) ([]labels.Dataset, error) {
	return importFormat(ctx, e, path)
}

func (etherscanImporter) sniff(_ string, head []byte) bool {
	head = bytes.TrimPrefix(head, []byte("\ufeff"))
	return etherscanJSONRE.Match(head) || bytes.HasPrefix(head, []byte(etherscanCSVHeader))
}

func (etherscanImporter) importFiles(ctx context.Context, files []string) ([]labels.Dataset, error) {
	var out []labels.Dataset
	for _, file := range files {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		data, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("importers: %w", err)
		}
		data = bytes.TrimPrefix(data, []byte("\ufeff"))
		b := newBuilder("etherscan:"+filepath.Base(file), "etherscan", file)
		if bytes.HasPrefix(data, []byte(etherscanCSVHeader)) {
			slug := strings.TrimSuffix(filepath.Base(file), filepath.Ext(file))
			err = readEtherscanCSV(b, file, data, slug)
		} else {
			err = readEtherscanJSON(b, file, data)
		}
		if err != nil {
			return nil, err
		}
		out = append(out, b.dataset())
	}
	return out, nil
}

// readEtherscanJSON reads combinedAccountLabels.json.
func readEtherscanJSON(b *builder, file string, data []byte) error {
	lines := newLineIndex(data)
	dec := json.NewDecoder(bytes.NewReader(data))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return errorf(file, 1, "want a JSON object of addresses")
	}
	for dec.More() {
		line := lines.nextLine(data, dec.InputOffset())
		key, err := dec.Token()
		if err != nil {
			return errorf(file, line, "invalid JSON: %v", err)
		}
		var v struct {
			Name   string   `json:"name"`
			Labels []string `json:"labels"`
		}
		if err := dec.Decode(&v); err != nil {
			return errorf(file, line, "address %v: %v", key, err)
		}
		addEtherscan(b, file, line, fmt.Sprint(key), v.Name, v.Labels)
	}
	if _, err := dec.Token(); err != nil {
		return errorf(file, lines.line(dec.InputOffset()), "invalid JSON: %v", err)
	}
	return nil
}

// readEtherscanCSV reads one per-label CSV file.
func readEtherscanCSV(b *builder, file string, data []byte, slug string) error {
	r := csv.NewReader(bytes.NewReader(data))
	r.FieldsPerRecord = -1
	header, err := r.Read()
	if err != nil {
		return csvError(file, err)
	}
	addrCol, nameCol := -1, -1
	for i, h := range header {
		switch strings.TrimSpace(h) {
		case "Address":
			addrCol = i
		case "Name Tag":
			nameCol = i
		}
	}
	if addrCol < 0 || nameCol < 0 {
		return errorf(file, 1, "header lacks Address or Name Tag")
	}
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return csvError(file, err)
		}
		line, _ := r.FieldPos(0)
		if len(rec) != len(header) {
			return errorf(file, line, "row has %d columns, want %d", len(rec), len(header))
		}
		addEtherscan(b, file, line, rec[addrCol], rec[nameCol], []string{slug})
	}
}

// addEtherscan adds the label of one Etherscan account.
func addEtherscan(b *builder, file string, line int, address, name string, slugs []string) {
	norm, err := normalize("eth", address)
	if err != nil {
		b.reject(file, line, address, err.Error())
		return
	}
	l := labels.Label{
		Chain:           "eth",
		Address:         norm,
		Label:           strings.TrimSpace(name),
		Confidence:      confWebCrawl,
		ConfidenceLevel: confidenceLevels[confWebCrawl],
		Source:          "https://etherscan.io/address/" + norm,
	}
	if l.Label == "" {
		l.Label = "etherscan:" + strings.Join(slugs, ",")
	}
	for _, s := range slugs {
		c := etherscanConcepts[s]
		if l.Category == "" && c.category != "" {
			l.Category, l.Actor = c.category, c.actor
		}
		if l.Abuse == "" {
			l.Abuse = c.abuse
		}
	}
	if len(slugs) > 0 {
		ctx, _ := json.Marshal(struct {
			Labels []string `json:"etherscan_labels"`
		}{slugs})
		l.Context = string(ctx)
	}
	b.add(l)
}
