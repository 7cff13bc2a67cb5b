// Command chaintrace is the single binary of chaintrace, an open-source
// blockchain-intelligence platform: it ingests chains into an embedded
// store and answers look-ups over them. This package only parses flags and
// wires the internal packages together.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/spf13/cobra"
)

// globals are the flags every subcommand shares.
type globals struct {
	dataDir   string
	logFormat string
	logLevel  string
	log       *slog.Logger
	out       io.Writer // the command's stdout (tests capture it)
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	root := newRoot()
	if err := root.ExecuteContext(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "chaintrace:", err)
		stop()
		os.Exit(1)
	}
}

func newRoot() *cobra.Command {
	g := &globals{}
	root := &cobra.Command{
		Use:   "chaintrace",
		Short: "Blockchain intelligence: ingest chains, trace funds, attribute and screen addresses",
		Long: `chaintrace ingests Bitcoin (and, later, Ethereum/EVM) chains into an embedded
store and answers questions about the transaction graph: who paid whom,
where an output went, what an address received and spent.

The store lives in --data (env CHAINTRACE_DATA, default ./chaintrace-data),
one sub-directory per chain and network (e.g. btc-mainnet).

Start with "chaintrace demo", which builds a chain, ingests it and shows
the look-ups, all offline.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, args []string) error {
			g.out = cmd.OutOrStdout()
			return g.setup()
		},
	}
	def := os.Getenv("CHAINTRACE_DATA")
	if def == "" {
		def = "./chaintrace-data"
	}
	pf := root.PersistentFlags()
	pf.StringVar(&g.dataDir, "data", def, "store directory (env CHAINTRACE_DATA)")
	pf.StringVar(&g.logFormat, "log-format", "text", "log format on stderr: text or json")
	pf.StringVar(&g.logLevel, "log-level", "info", "log level: debug, info, warn, error")
	root.AddCommand(newIngestCmd(g), newBTCCmd(g), newDemoCmd(g), newLabelsCmd(g), newActorsCmd(g), newScreenCmd(g), newServeCmd(g), newETHCmd(g), newClusterCmd(g))
	root.AddCommand(newTraceCmd(g), newTracesCmd(g))
	root.AddCommand(newIncidentsCmd(g))
	root.AddCommand(newPricesCmd(g), newReportCmd(g))
	root.AddCommand(newSimCmd(g), newEvalCmd(g))
	root.AddCommand(newMonitorCmds(g)...)
	root.AddCommand(newKYTCmd(g))
	root.AddCommand(newExportCmd(g))
	root.AddCommand(newAPIKeyCmd(g))
	return root
}

func (g *globals) setup() error {
	var level slog.Level
	if err := level.UnmarshalText([]byte(g.logLevel)); err != nil {
		return fmt.Errorf("--log-level %q: %w", g.logLevel, err)
	}
	hopts := &slog.HandlerOptions{Level: level}
	switch g.logFormat {
	case "text":
		g.log = slog.New(slog.NewTextHandler(os.Stderr, hopts))
	case "json":
		g.log = slog.New(slog.NewJSONHandler(os.Stderr, hopts))
	default:
		return fmt.Errorf("--log-format %q: want text or json", g.logFormat)
	}
	slog.SetDefault(g.log)
	return nil
}

// btcStoreDir is where a Bitcoin network's store lives under --data.
func btcStoreDir(data, network string) string {
	return filepath.Join(data, "btc-"+network)
}

// findBTCNetwork picks the network for look-ups: the flag when given, else
// the only Bitcoin store under --data, else mainnet.
func findBTCNetwork(data, flag string) (string, error) {
	if flag != "" {
		return flag, nil
	}
	matches, err := filepath.Glob(filepath.Join(data, "btc-*"))
	if err != nil {
		return "", err
	}
	switch len(matches) {
	case 0:
		return "", fmt.Errorf("no Bitcoin store under %s: run \"chaintrace ingest btc\" first (or set --data)", data)
	case 1:
		return filepath.Base(matches[0])[len("btc-"):], nil
	}
	return "", errors.New("several Bitcoin stores under " + data + ": choose one with --network")
}
