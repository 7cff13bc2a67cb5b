package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/chaintrace/chaintrace/internal/api"
	"github.com/chaintrace/chaintrace/internal/auth"
	"github.com/chaintrace/chaintrace/internal/kyt"
	"github.com/chaintrace/chaintrace/internal/labels"
	"github.com/spf13/cobra"
)

func newAPIKeyCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "apikey",
		Short: "Create, list and revoke the REST API's keys",
		Long: `API keys authenticate requests to "chaintrace serve" (Authorization: Bearer
<key>, or X-API-Key: <key>). Each has a role: read (GET routes and batch
screening), write (also registering transfers, importing labels, and the
other routes that change state), admin (also the audit log).

Keys are stored hashed in <data>/auth/keys.json; the key itself is printed
once, by create. A running server picks up new and revoked keys within a
second.`,
	}
	var role, name, expires string
	var asJSON bool
	create := &cobra.Command{
		Use:     "create --role read|write|admin --name NAME [--expires 90d]",
		Short:   "Create a key and print it (the only time it is shown)",
		Example: `  chaintrace apikey create --role write --name compliance-bot --expires 90d`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			r, err := auth.ParseRole(role)
			if err != nil || r == auth.RoleNone {
				return fmt.Errorf("apikey create: --role %q: want read, write or admin", role)
			}
			var exp time.Time
			if expires != "" {
				d, err := parseExpiry(expires)
				if err != nil {
					return err
				}
				exp = time.Now().Add(d)
			}
			k, token, err := auth.Create(cmd.Context(), g.dataDir, r, name, exp)
			if err != nil {
				return fmt.Errorf("apikey create: %w", err)
			}
			if asJSON {
				return json.NewEncoder(g.out).Encode(struct {
					auth.Key
					Token string `json:"token"`
				}{k, token})
			}
			fmt.Fprintf(g.out, "%s\n", token)
			fmt.Fprintf(g.out, "key %s (%s, role %s) created; the key above is shown only now\n", k.ID, orDash(k.Name), k.Role)
			return nil
		},
	}
	create.Flags().StringVar(&role, "role", "", "the key's role: read, write or admin")
	create.Flags().StringVar(&name, "name", "", "what the key is for (shown in lists)")
	create.Flags().StringVar(&expires, "expires", "", "expire after this long: days (90d) or a duration (720h); default never")
	create.Flags().BoolVar(&asJSON, "json", false, "print the key and its record as JSON")
	_ = create.MarkFlagRequired("role")

	list := &cobra.Command{
		Use:   "list",
		Short: "List the keys: id, role, name, created, expiry, state",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			keys, err := auth.List(g.dataDir)
			if err != nil {
				return fmt.Errorf("apikey list: %w", err)
			}
			if asJSON {
				for i := range keys {
					keys[i].Hash = ""
				}
				return json.NewEncoder(g.out).Encode(keys)
			}
			tw := tabwriter.NewWriter(g.out, 2, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tROLE\tNAME\tCREATED\tEXPIRES\tSTATE")
			now := time.Now()
			for _, k := range keys {
				exp, state := "never", "active"
				if !k.Expires.IsZero() {
					exp = k.Expires.Format(time.RFC3339)
				}
				switch {
				case k.Revoked:
					state = "revoked"
				case k.Expired(now):
					state = "expired"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", k.ID, k.Role, orDash(k.Name), k.Created.Format(time.RFC3339), exp, state)
			}
			return tw.Flush()
		},
	}
	list.Flags().BoolVar(&asJSON, "json", false, "print JSON (without the hashes)")

	revoke := &cobra.Command{
		Use:   "revoke ID",
		Short: "Revoke a key by its id; it stays listed, marked revoked",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := auth.Revoke(cmd.Context(), g.dataDir, args[0]); err != nil {
				return fmt.Errorf("apikey revoke: %w", err)
			}
			fmt.Fprintf(g.out, "key %s revoked\n", args[0])
			return nil
		},
	}
	cmd.AddCommand(create, list, revoke)
	return cmd
}

// parseExpiry reads a key's lifetime as days ("90d") or a Go duration.
func parseExpiry(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if d, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(d)
		if err != nil || n < 1 || n > 100_000 {
			return 0, fmt.Errorf("apikey create: --expires %q: want a whole number of days such as 90d", s)
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("apikey create: --expires %q: want days (90d) or a duration (720h)", s)
	}
	return d, nil
}

// serveSecurity is what serve's --anonymous and --rate-limit say, and
// the trace jobs' limits (--trace-workers and the like).
type serveSecurity struct {
	anonymous auth.Role
	limits    api.RateLimits
	traces    traceLimits
}

// parseServeSecurity reads --anonymous and --rate-limit.
func parseServeSecurity(anonymous, rateLimit string) (serveSecurity, error) {
	var sec serveSecurity
	switch anonymous {
	case "read":
		sec.anonymous = auth.RoleRead
	case "none":
		sec.anonymous = auth.RoleNone
	default:
		return sec, fmt.Errorf("serve: --anonymous %q: want read or none", anonymous)
	}
	l, err := api.ParseRateLimits(rateLimit, api.DefaultRateLimits())
	if err != nil {
		return sec, fmt.Errorf("serve: --rate-limit: %w", err)
	}
	sec.limits = l
	return sec, nil
}

// importedLabels is the label source the API rebuilds its index from
// after a label import over the API. Rebuilding it takes the label
// store's new snapshot, which the KYT poll would then find unchanged:
// so it re-screens the registered transfers itself, in the background,
// as SIGHUP does, rather than making the import's client wait for it.
type importedLabels struct {
	ctx    context.Context
	g      *globals
	labels *labels.Live
	reg    *kyt.Registry
}

// Index rebuilds the index and starts the re-screening.
func (l importedLabels) Index(ctx context.Context) (*labels.Index, error) {
	ix, err := l.labels.Index(ctx)
	if err != nil {
		return nil, err
	}
	go rescreenKYT(l.ctx, l.g, l.reg)
	return ix, nil
}
