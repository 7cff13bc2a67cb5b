package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

type clusterShowJSON struct {
	Address   string   `json:"address"`
	ClusterID uint64   `json:"cluster_id"`
	Size      int      `json:"size"`
	Addresses []string `json:"addresses"`
	Received  int64    `json:"total_received"`
	Sent      int64    `json:"total_sent"`
	Balance   int64    `json:"balance"`
	TxCount   int      `json:"tx_count"`
	First     *struct {
		Height int `json:"height"`
	} `json:"first_seen"`
	Labels []struct {
		Address string `json:"address"`
		Cluster bool   `json:"applies_to_cluster"`
		Label   struct {
			Label   string `json:"label"`
			Dataset string `json:"dataset"`
		} `json:"label"`
	} `json:"labels"`
}

// TestCLICluster ingests the real mainnet blocks, takes the largest
// cluster from "cluster stats", and checks "cluster show" against the
// per-address look-ups of "btc address" (an independent code path): every
// member reports the same cluster, and the cluster's totals are the sums
// of its members'. A cluster-defining label on one member shows on the
// cluster; a plain label stays with its member.
func TestCLICluster(t *testing.T) {
	data := t.TempDir()
	if _, err := run(t, "--data", data, "--log-level", "warn", "ingest", "btc", "--blocks", mainnetBlk(t)); err != nil {
		t.Fatal(err)
	}
	out, err := run(t, "--data", data, "cluster", "stats", "--json", "--top", "1")
	if err != nil {
		t.Fatal(err)
	}
	var stats struct {
		Clusters int `json:"clusters"`
		Largest  []struct {
			Address string `json:"address"`
			Size    int    `json:"size"`
		} `json:"largest"`
	}
	if err := json.Unmarshal([]byte(out), &stats); err != nil || len(stats.Largest) != 1 {
		t.Fatalf("stats JSON: %v\n%s", err, out)
	}
	show := func(addr string, extra ...string) clusterShowJSON {
		t.Helper()
		out, err := run(t, append([]string{"--data", data, "cluster", "show", "--json", addr}, extra...)...)
		if err != nil {
			t.Fatal(err)
		}
		var s clusterShowJSON
		if err := json.Unmarshal([]byte(out), &s); err != nil {
			t.Fatalf("show JSON: %v\n%s", err, out)
		}
		return s
	}
	big := show(stats.Largest[0].Address, "--limit", "0")
	if big.Size != stats.Largest[0].Size || len(big.Addresses) != big.Size || big.Size < 2 {
		t.Fatalf("largest cluster: size %d with %d addresses listed, stats says %d", big.Size, len(big.Addresses), stats.Largest[0].Size)
	}
	var recv, sent int64
	for _, m := range big.Addresses {
		if s := show(m, "--limit", "1"); s.ClusterID != big.ClusterID || s.Size != big.Size || len(s.Addresses) != 1 {
			t.Fatalf("member %s: cluster %d size %d (%d listed), want %d size %d", m, s.ClusterID, s.Size, len(s.Addresses), big.ClusterID, big.Size)
		}
		out, err := run(t, "--data", data, "btc", "address", "--json", m)
		if err != nil {
			t.Fatal(err)
		}
		var a struct {
			Received int64 `json:"total_received"`
			Sent     int64 `json:"total_sent"`
		}
		if err := json.Unmarshal([]byte(out), &a); err != nil {
			t.Fatal(err)
		}
		recv += a.Received
		sent += a.Sent
	}
	if big.Received != recv || big.Sent != sent || big.Balance != recv-sent || big.TxCount == 0 || big.First == nil {
		t.Fatalf("cluster totals %d/%d/%d (%d txs); members sum to %d/%d", big.Received, big.Sent, big.Balance, big.TxCount, recv, sent)
	}

	// Labels: a cluster definer on one member, a plain label on another.
	csv := "address,label,definer\n" + big.Addresses[1] + ",Example Exchange,true\n" + big.Addresses[2] + ",deposit,false\n"
	path := filepath.Join(t.TempDir(), "cl.csv")
	if err := os.WriteFile(path, []byte(csv), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := run(t, "--data", data, "--log-level", "warn", "labels", "import", "--format", "csv", "--csv-map", "address=address,label=label,chain=btc,is_cluster_definer=definer,source=test", path); err != nil {
		t.Fatal(err)
	}
	s := show(big.Addresses[0])
	if len(s.Labels) != 2 || !s.Labels[0].Cluster || s.Labels[0].Label.Label != "Example Exchange" || s.Labels[0].Address != big.Addresses[1] ||
		s.Labels[1].Cluster || s.Labels[1].Address != big.Addresses[2] || s.Labels[0].Label.Dataset == "" {
		t.Fatalf("labels: %+v", s.Labels)
	}
	text, err := run(t, "--data", data, "cluster", "show", big.Addresses[0])
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Example Exchange", "defines cluster", big.Addresses[1], "more (use --limit 0)"} {
		if !strings.Contains(text, want) {
			t.Fatalf("text output lacks %q:\n%s", want, text)
		}
	}
	help, err := run(t, "cluster", "show", "--help")
	if err != nil || !strings.Contains(help, "multi-input heuristic") || !strings.Contains(help, "whirlpool") {
		t.Fatalf("help: %v\n%s", err, help)
	}
}
