package importers

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// goodPack is a TagPack using header defaults, overrides, a network, a
// transaction tag, a date-time lastmod and concepts.
const goodPack = `title: Test pack
creator: chaintrace tests
description: inheritance and overrides
label: header label
source: https://example.org/header
currency: BTC
confidence: forensic
abuse: sanction
category: user
lastmod: 2023-08-16 12:18:52.619444
is_cluster_definer: true
actor: lazarusgroup
tags:
- address: 134r8iHv69xdT6p5qVKTsHrcUEuBVZAYak
- address: '0xa0e1c89ef1a489c9c7de96311ed5ce5d32c20e4b'
  currency: ETH
  label: tag label
  lastmod: 2022-04-15
  is_cluster_definer: false
  context: {"note": "overrides"}
  concepts: [exchange, hot_wallet]
- address: TBHTJqAy4DhHhmT3dNceJYNRz4SdLofLre
  currency: USDT
  network: TRX
  confidence: authority_data
- tx_hash: '0xABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789'
  currency: ETH
`

// TestTagPackInheritance checks header inheritance, overrides, networks,
// transaction tags and lastmod forms.
func TestTagPackInheritance(t *testing.T) {
	dir := t.TempDir()
	p := writeFile(t, dir, "test.yaml", goodPack)
	d := importOne(t, tagpackImporter{}, p)
	if d.Name != "tagpack:test.yaml" || d.Format != "tagpack" || d.Path != p || len(d.Rejected) != 0 {
		t.Fatalf("dataset %s %s %s rejected %v", d.Name, d.Format, d.Path, d.Rejected)
	}
	if len(d.Labels) != 4 {
		t.Fatalf("%d labels, want 4", len(d.Labels))
	}
	h, e, u, tx := d.Labels[0], d.Labels[1], d.Labels[2], d.Labels[3]
	headerTime := time.Date(2023, 8, 16, 12, 18, 52, 619444000, time.UTC)
	if h.Chain != "btc" || h.Address != "134r8iHv69xdT6p5qVKTsHrcUEuBVZAYak" || h.Label != "header label" ||
		h.Source != "https://example.org/header" || h.Abuse != "sanction" || h.Category != "user" ||
		h.Actor != "lazarusgroup" || h.Confidence != "forensic" || h.ConfidenceLevel != 50 ||
		!h.LastMod.Equal(headerTime) || !h.IsClusterDefiner || h.Dataset != "tagpack:test.yaml" {
		t.Errorf("inherited tag: %+v", h)
	}
	if e.Chain != "eth" || e.Address != "0xa0e1c89Ef1a489c9C7dE96311eD5Ce5D32c20E4B" || e.Label != "tag label" ||
		!e.LastMod.Equal(time.Date(2022, 4, 15, 0, 0, 0, 0, time.UTC)) || e.IsClusterDefiner ||
		e.Context != `{"note":"overrides"}` {
		t.Errorf("overriding tag: %+v", e)
	}
	if u.Chain != "trx" || u.Confidence != "authority_data" || u.ConfidenceLevel != 60 {
		t.Errorf("USDT on network TRX: %+v", u)
	}
	if tx.Chain != "eth" || tx.Address != "" || tx.TxHash != strings.ToLower("0xABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789") {
		t.Errorf("transaction tag: %+v", tx)
	}
}

// TestTagPackRejectedRows checks that unusable tags are rejected with
// their line and reason while the others are kept.
func TestTagPackRejectedRows(t *testing.T) {
	pack := `title: Bad rows
creator: chaintrace tests
source: https://example.org
currency: BTC
tags:
- address: 134r8iHv69xdT6p5qVKTsHrcUEuBVZAYak
  label: no confidence anywhere
- address: 134r8iHv69xdT6p5qVKTsHrcUEuBVZAYak
  confidence: forensic
- address: 134r8iHv69xdT6p5qVKTsHrcUEuBVZAYak
  label: good
  confidence: forensic
- address: 134r8iHv69xdT6p5qVKTsHrcUEuBVZAYaK
  label: bad checksum
  confidence: forensic
- address: addr1qxyz
  currency: ADA
  label: unsupported
  confidence: forensic
- address: 134r8iHv69xdT6p5qVKTsHrcUEuBVZAYak
  label: bad category
  category: bank
  confidence: forensic
- address: 134r8iHv69xdT6p5qVKTsHrcUEuBVZAYak
  label: bad confidence
  confidence: rumour
- label: no target
  confidence: forensic
- address: 134r8iHv69xdT6p5qVKTsHrcUEuBVZAYak
  tx_hash: ab
  label: both
  confidence: forensic
- address: 134r8iHv69xdT6p5qVKTsHrcUEuBVZAYak
  label: bad date
  confidence: forensic
  lastmod: yesterday
- just a string
`
	p := writeFile(t, t.TempDir(), "rows.yaml", pack)
	d := importOne(t, tagpackImporter{}, p)
	if len(d.Labels) != 2 || d.Labels[0].Label != "no confidence anywhere" || d.Labels[0].Confidence != "unknown" ||
		!strings.Contains(d.Labels[0].Context, "confidence missing") || d.Labels[1].Label != "good" {
		t.Fatalf("labels %+v, want the tag without confidence (defaulted to unknown) and the good one", d.Labels)
	}
	want := []struct {
		line   int
		reason string
	}{
		{8, "missing mandatory field label"},
		{13, `addrs: invalid btc address "134r8iHv69xdT6p5qVKTsHrcUEuBVZAYaK"`},
		{17, "unknown currency ADA"},
		{22, "category bank is not in the concepts taxonomy"},
		{26, "unknown confidence rumour"},
		{27, "tag has neither address nor tx_hash"},
		{29, "tag has both address and tx_hash"},
		{36, "lastmod is not a date or date-time"},
		{37, "tag is not a mapping"},
	}
	if len(d.Rejected) != len(want) {
		t.Fatalf("%d rejected, want %d: %+v", len(d.Rejected), len(want), d.Rejected)
	}
	for i, w := range want {
		r := d.Rejected[i]
		if r.File != p || r.Line != w.line || !strings.Contains(r.Reason, w.reason) {
			t.Errorf("rejected %d: %s:%d %q, want line %d %q", i, r.File, r.Line, r.Reason, w.line, w.reason)
		}
	}
}

// TestTagPackFileErrors checks the errors that fail a whole pack.
func TestTagPackFileErrors(t *testing.T) {
	cases := []struct {
		name, body string
		want       []string
	}{
		{"broken.yaml", "title: x\ncreator: y\ntags:\n- address: a\n  label: [unclosed\n", []string{"importers:", "broken.yaml:", "invalid YAML"}},
		{"notitle.yaml", "creator: y\ntags:\n- address: a\n", []string{"notitle.yaml:1:", "lacks mandatory field title"}},
		{"nocreator.yaml", "title: x\ntags: []\n", []string{"nocreator.yaml:1:", "lacks mandatory field creator"}},
		{"tagsmap.yaml", "title: x\ncreator: y\ntags:\n  a: b\n", []string{"tagsmap.yaml:4:", "tags is not a list"}},
		{"list.yaml", "- tags: 1\n", []string{"list.yaml:1:", "not a mapping"}},
	}
	for _, c := range cases {
		p := writeFile(t, t.TempDir(), c.name, c.body)
		_, err := tagpackImporter{}.Import(context.Background(), p)
		wantErr(t, err, c.want...)
	}
	// The line is the YAML parser's.
	p := writeFile(t, t.TempDir(), "colon.yaml", "title: x\ncreator: y\ntags:\n- address: a\n  label: b: c\n")
	_, err := tagpackImporter{}.Import(context.Background(), p)
	wantErr(t, err, "colon.yaml:5: invalid YAML: mapping values are not allowed")
}

// TestTagPackDirectory checks that a directory import walks sub-folders
// and gives one dataset per pack, ignoring other files.
func TestTagPackDirectory(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "a.yaml", goodPack)
	writeFile(t, dir, "sub/deeper/b.yml", goodPack)
	writeFile(t, dir, "schema.yaml", "header:\n  title: {type: text}\n")
	writeFile(t, dir, "README.md", "tags: not yaml\n")
	writeFile(t, dir, ".hidden/c.yaml", goodPack)
	ds, err := tagpackImporter{}.Import(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(ds) != 2 || ds[0].Name != "tagpack:a.yaml" || ds[1].Name != "tagpack:b.yml" {
		t.Fatalf("datasets %v", ds)
	}
	if ds[1].Path != filepath.Join(dir, "sub", "deeper", "b.yml") {
		t.Errorf("path %s", ds[1].Path)
	}
	if !(tagpackImporter{}).Detect(dir) || (tagpackImporter{}).Detect(filepath.Join(dir, "schema.yaml")) {
		t.Error("Detect: the folder holds packs, schema.yaml is none")
	}
}
