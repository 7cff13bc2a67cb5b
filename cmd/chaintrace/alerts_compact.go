package main

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/chaintrace/chaintrace/internal/monitor"
	"github.com/spf13/cobra"
)

// newAlertsCompactCmd returns "alerts compact", which bounds the alert
// journal a long-running follower keeps appending to.
func newAlertsCompactCmd(g *globals) *cobra.Command {
	var olderThan string
	var keepLast int
	cmd := &cobra.Command{
		Use:   "compact --older-than AGE [--keep-last N]",
		Short: "Drop old alerts from the alert journal the API and alerts tail read",
		Long: `Rewrite --data/monitor/alerts.jsonl without the alerts whose block time is
older than --older-than (for example 90d, 720h), keeping at least the last
--keep-last alerts and each chain's last alert (the followers resume from it).
The alerts stay in the chain stores ("alerts list" reads those); running
followers, "alerts tail" and API streams carry on across the rewrite.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			age, err := parseAge(olderThan)
			if err != nil {
				return err
			}
			kept, dropped, err := monitor.CompactJournal(cmd.Context(), g.dataDir, monitor.CompactOptions{Since: time.Now().Add(-age), KeepLast: keepLast})
			if err != nil {
				return err
			}
			fmt.Fprintf(g.out, "alert journal: kept %d, dropped %d\n", kept, dropped)
			return nil
		},
	}
	cmd.Flags().StringVar(&olderThan, "older-than", "", "drop alerts older than this age: a Go duration (720h) or days (90d)")
	cmd.Flags().IntVar(&keepLast, "keep-last", 1000, "always keep the journal's last N alerts")
	_ = cmd.MarkFlagRequired("older-than")
	return cmd
}

// parseAge reads an age as days ("90d") or a Go duration ("36h").
func parseAge(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if d, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(d)
		if err != nil || n < 0 || n > 100_000 {
			return 0, fmt.Errorf("alerts compact: --older-than %q: want a whole number of days such as 90d", s)
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("alerts compact: --older-than %q: want days (90d) or a duration (720h)", s)
	}
	return d, nil
}
