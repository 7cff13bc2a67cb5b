package main

import (
	"errors"
	"fmt"
	"path/filepath"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/chaintrace/chaintrace/internal/prices"
)

// pricesDir is where the daily price history lives under --data.
func pricesDir(data string) string { return filepath.Join(data, "prices") }

func newPricesCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "prices",
		Short: "Daily USD price history: import CSV files, look up a day's close",
		Long: `The price history values amounts given in native units (incident amounts,
traced funds) in USD at the day's close. It lives in <data>/prices, one
JSON-lines file per asset (ASSET.jsonl: day, close, source file).`,
	}
	cmd.AddCommand(newPricesImportCmd(g), newPricesShowCmd(g))
	return cmd
}

func newPricesImportCmd(g *globals) *cobra.Command {
	var asset string
	var asJSON bool
	c := &cobra.Command{
		Use:   "import FILE...",
		Short: "Import daily prices from Yahoo Finance or candle CSV files",
		Long: `Import reads daily closes from CSV files in Yahoo Finance layout
(Date,Open,High,Low,Close,Adj Close,Volume) or candle layout
(timestamp,open,close,volume,unix_timestamp,high,low), detected from the
header. The asset comes from --asset or the file name ("BTC-USD_...",
"ETHUSD_..."). Days the file covers replace the stored ones, with the file
recorded as their source; re-importing a file changes nothing. A bad row
fails the file's import with its file and line; "null" rows (no data that
day) are skipped and counted. Weekly candles are refused.`,
		Example: `  chaintrace prices import ../shared/data/prices/BTC-USD_yahoo_garve_2014-09-17_to_2021-11-24.csv
  chaintrace prices import --asset BTC btc-daily.csv`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			st, err := prices.Open(ctx, pricesDir(g.dataDir))
			if err != nil {
				return err
			}
			var results []prices.ImportResult
			for _, file := range args {
				res, err := st.Import(ctx, file, asset)
				if err != nil {
					return err
				}
				results = append(results, res)
			}
			if asJSON {
				return writeJSON(g.out, results)
			}
			tw := tabwriter.NewWriter(g.out, 0, 2, 2, ' ', 0)
			fmt.Fprintln(tw, "FILE\tASSET\tFORMAT\tDAYS\tFIRST\tLAST\tADDED\tCHANGED\tSKIPPED")
			for _, r := range results {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\t%d\t%d\t%d\n", r.File, r.Asset, r.Format, r.Rows, r.First, r.Last, r.Added, r.Changed, r.Skipped)
			}
			return tw.Flush()
		},
	}
	c.Flags().StringVar(&asset, "asset", "", "asset symbol (BTC, ETH, ...; default: from the file name)")
	c.Flags().BoolVar(&asJSON, "json", false, "print the results as JSON")
	return c
}

func newPricesShowCmd(g *globals) *cobra.Command {
	var asJSON bool
	c := &cobra.Command{
		Use:   "show ASSET DATE",
		Short: "Show an asset's USD close on a day (YYYY-MM-DD)",
		Long: fmt.Sprintf(`Show the close of ASSET on DATE. When the day is missing, the nearest
earlier day within %d days is used and the output says so.`, prices.MaxGapDays),
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			st, err := prices.Open(ctx, pricesDir(g.dataDir))
			if err != nil {
				return err
			}
			q, ok, err := st.Lookup(ctx, args[0], args[1])
			if err != nil {
				return err
			}
			if !ok {
				return errors.New("prices: no " + args[0] + " price on or up to " + fmt.Sprint(prices.MaxGapDays) + " days before " + args[1] + " (import a price file with \"chaintrace prices import\")")
			}
			if asJSON {
				return writeJSON(g.out, q)
			}
			fmt.Fprintf(g.out, "%s %s: $%s (%s)\n", q.Asset, q.Requested, fmt.Sprintf("%.2f", q.Close), q.Describe())
			return nil
		},
	}
	c.Flags().BoolVar(&asJSON, "json", false, "print the quote as JSON")
	return c
}
