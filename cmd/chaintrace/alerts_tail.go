package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/chaintrace/chaintrace/internal/alert"
	"github.com/chaintrace/chaintrace/internal/monitor"
	"github.com/spf13/cobra"
)

// tailPoll is how often "alerts tail" looks for new lines in the journal.
var tailPoll = 250 * time.Millisecond

// newAlertsTailCmd returns "alerts tail", which follows the alert journal
// the follower writes, so it works while ingest --follow holds the store.
func newAlertsTailCmd(g *globals) *cobra.Command {
	var chain, since string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "tail [--chain C] [--since ID]",
		Short: "Print alerts as the following ingest commits them (Ctrl-C ends)",
		Long: `Print each alert (and retraction) as a following ingest journals it in
--data/monitor/alerts.jsonl. Without --since only new alerts are printed;
with --since ID those after that alert are printed first.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			err := tailAlerts(cmd.Context(), g.dataDir, chain, since, asJSON, g.out)
			if errors.Is(err, context.Canceled) {
				return nil
			}
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&chain, "chain", "", "only alerts of this chain id")
	f.StringVar(&since, "since", "", "print the alerts after the one with this id first")
	f.BoolVar(&asJSON, "json", false, "one JSON object per line")
	return cmd
}

// tailAlerts prints the journal's alerts after since ("": from now on)
// until ctx ends.
func tailAlerts(ctx context.Context, data, chain, since string, asJSON bool, out io.Writer) error {
	jr := monitor.NewJournalReader(data)
	as, err := jr.Next()
	if err != nil {
		return err
	}
	if since == "" {
		as = nil
	} else {
		i := 0
		for i < len(as) && as[i].ID != since {
			i++
		}
		if i == len(as) {
			return fmt.Errorf("alerts tail: no alert has id %q", since)
		}
		as = as[i+1:]
	}
	t := time.NewTicker(tailPoll)
	defer t.Stop()
	for {
		for _, a := range as {
			if chain != "" && a.Chain != chain {
				continue
			}
			if err := printAlert(out, &a, asJSON); err != nil {
				return err
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
		if as, err = jr.Next(); err != nil {
			return err
		}
	}
}

// printAlert writes one alert as a line: JSON, or the fields a person
// watching a terminal needs.
func printAlert(out io.Writer, a *monitor.Alert, asJSON bool) error {
	if asJSON {
		return json.NewEncoder(out).Encode(a)
	}
	what := a.Rule
	if a.Kind == monitor.KindRetraction {
		what = "retracts " + a.Retracts
	}
	_, err := fmt.Fprintf(out, "%s  %s  %s  %s  %s  %s  height %d  %s  %s %s sat\n",
		a.Time.Format(time.RFC3339), a.ID, a.Chain, a.Kind, a.Watch, what, a.Height, a.Tx, a.Direction, strconv.FormatInt(a.Amount, 10))
	return err
}

// listAlerts returns the stored alerts of a chain ("": the only Bitcoin
// store); when the store cannot be opened (a following ingest holds
// it), they come from the alert journal instead.
func listAlerts(ctx context.Context, g *globals, chain string, limit int) ([]monitor.Alert, error) {
	db, err := openMonitorStore(ctx, g, chain, true)
	if err == nil {
		defer db.Close()
		return alert.List(ctx, db, 0, limit)
	}
	as, jerr := monitor.ReadJournal(g.dataDir)
	if jerr != nil || len(as) == 0 {
		return nil, err
	}
	g.log.Info("alerts: chain store unavailable; listing the alert journal", "err", err)
	var out []monitor.Alert
	for _, a := range as {
		if chain != "" && a.Chain != chain {
			continue
		}
		if limit > 0 && len(out) == limit {
			break
		}
		out = append(out, a)
	}
	return out, nil
}
