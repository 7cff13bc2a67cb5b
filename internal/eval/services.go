package eval

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"text/tabwriter"
	"time"

	"github.com/chaintrace/chaintrace/internal/service"
	"github.com/chaintrace/chaintrace/internal/sim/truth"
	"github.com/chaintrace/chaintrace/internal/workspace"
)

// OpenWorkspace opens the data directory Prepare filled, with the world's
// bridge rules and, unless o.NoDetectServices, the detection of services
// by behaviour, as the trace command opens it.
func OpenWorkspace(ctx context.Context, dataDir string, prep *Prepared, o Options, log *slog.Logger) (*workspace.Workspace, error) {
	ws, err := workspace.Open(ctx, dataDir, workspace.Options{Bridges: prep.Bridges, Logger: log, DetectServices: !o.NoDetectServices})
	if err != nil {
		return nil, fmt.Errorf("eval: %w", err)
	}
	return ws, nil
}

// DetectedService is a service the tracer detected by behaviour, checked
// against the truth.
type DetectedService struct {
	Chain    string `json:"chain"`
	Wallet   string `json:"wallet"`
	Deposits int    `json:"deposits"`
	Senders  int    `json:"senders"`
	Forwards int    `json:"forwards"`
	Span     string `json:"span"`
	// Entity is the world entity owning the wallet, empty when none does
	// (a launderer, a victim or an ordinary user: a false detection).
	Entity string `json:"entity,omitempty"`
	// DepositsOwned is how many of the deposit addresses Entity owns;
	// the others are no address of it.
	DepositsOwned int `json:"deposits_owned"`
	// Correct says the wallet and every deposit address are the entity's.
	Correct bool `json:"correct"`
}

func (d *DetectedService) verdict() string {
	switch {
	case d.Correct:
		return "correct"
	case d.Entity == "":
		return "FALSE: no service"
	}
	return fmt.Sprintf("PARTLY: %d deposit addresses not %s's", d.Deposits-d.DepositsOwned, d.Entity)
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

// CheckServices checks every detected service against the truth's
// entities, by chain then wallet.
func CheckServices(w *truth.World, found map[string]*service.Result) []DetectedService {
	owners := map[string]string{}
	for _, e := range w.Entities {
		for _, a := range e.Addresses {
			owners[addrKey(a.Address)] = e.Name
		}
	}
	chains := make([]string, 0, len(found))
	for c := range found {
		chains = append(chains, c)
	}
	sort.Strings(chains)
	var out []DetectedService
	for _, c := range chains {
		for _, s := range found[c].Services {
			d := DetectedService{Chain: c, Wallet: s.Wallet, Deposits: len(s.Deposits), Senders: s.Senders, Forwards: s.Forwards,
				Span: s.Span().Round(time.Minute).String(), Entity: owners[addrKey(s.Wallet)]}
			if d.Entity != "" {
				for _, a := range s.Deposits {
					if owners[addrKey(a)] == d.Entity {
						d.DepositsOwned++
					}
				}
			}
			d.Correct = d.Entity != "" && d.DepositsOwned == d.Deposits
			out = append(out, d)
		}
	}
	return out
}

// writeServicesText lists the detected services with their verdicts.
func (r *Report) writeServicesText(w io.Writer) {
	if !r.Settings.DetectServices {
		fmt.Fprintln(w, "\nservices detected by behaviour: off")
		return
	}
	wrong := 0
	for _, d := range r.Services {
		if !d.Correct {
			wrong++
		}
	}
	fmt.Fprintf(w, "\nservices detected by behaviour: %d, %d not a world service's\n", len(r.Services), wrong)
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "CHAIN\tWALLET\tDEPOSITS\tSENDERS\tFORWARDS\tSPAN\tTRUTH ENTITY\tVERDICT\t")
	for _, d := range r.Services {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%s\t%s\t%s\t\n", d.Chain, d.Wallet, d.Deposits, d.Senders, d.Forwards, d.Span, orNone(d.Entity), d.verdict())
	}
	tw.Flush()
}
