package main

import (
	"fmt"
	"os"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/chaintrace/chaintrace/internal/export"
	"github.com/chaintrace/chaintrace/internal/progress"
)

func newExportCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "export",
		Short: "Export the stores for other tools (Parquet)",
	}
	cmd.AddCommand(newExportParquetCmd(g))
	return cmd
}

func newExportParquetCmd(g *globals) *cobra.Command {
	var (
		out         string
		chains      []string
		from, to    uint64
		noLabels    bool
		compression string
		fileMB      int64
		asJSON      bool
	)
	c := &cobra.Command{
		Use:   "parquet --out DIR",
		Short: "Export the transfer graph and the labels as Parquet files",
		Long: `Export parquet writes every chain store under --data as Parquet files in
--out, one directory per chain id and one sub-directory per table:

  btc/, btc-NET/   blocks, transactions, inputs, outputs
  eth/, eth-NAME/  blocks, transactions, transfers, tokens
  labels/          active labels with their provenance
  actors/          actors

Each table is a set of part-NNNNN.parquet files (zstd, row groups of
128Ki rows, a new file past --file-mb), so Spark, Trino, DuckDB or
ClickHouse read a table as the directory's glob. docs/parquet.md lists the
columns. Re-exporting into the same directory replaces the tables it
writes. The chain stores are opened read-only; the label database is
opened only while its tables are written, after waiting (up to 30 s) for
an import or a server's snapshot that holds it.`,
		Example: `  chaintrace export parquet --out /tmp/ct
  chaintrace export parquet --out /tmp/ct --chain btc --from-height 100000 --to-height 199999
  duckdb -c "SELECT count(*) FROM '/tmp/ct/btc/outputs/*.parquet'"`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if out == "" {
				return fmt.Errorf("export: --out DIR is required")
			}
			hasTo := cmd.Flags().Changed("to-height")
			if hasTo && to < from {
				return fmt.Errorf("export: --to-height %d is below --from-height %d", to, from)
			}
			reps := map[string]*progress.Reporter{}
			sum, err := export.Run(cmd.Context(), g.dataDir, out, export.Options{
				Chains: chains, FromHeight: from, ToHeight: to, HasToHeight: hasTo, NoLabels: noLabels,
				Compression: compression, FileBytes: fileMB << 20, Logger: g.log,
				Progress: func(chain string, done, total int64) {
					r, ok := reps[chain]
					if !ok {
						r = progress.New(os.Stderr, g.log, "exporting "+chain, "blocks", total)
						reps[chain] = r
					}
					r.Update(done, total)
				},
			})
			for _, r := range reps {
				r.Finish()
			}
			if err != nil {
				return err
			}
			if asJSON {
				return writeJSON(g.out, sum)
			}
			tw := tabwriter.NewWriter(g.out, 0, 2, 2, ' ', tabwriter.AlignRight)
			fmt.Fprintln(tw, "CHAIN\tTABLE\tROWS\tBYTES\tFILES\t")
			for _, t := range sum.Tables {
				chain := t.Chain
				if chain == "" {
					chain = "-"
				}
				fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t\n", chain, t.Name, t.Rows, t.Bytes, t.Files)
			}
			fmt.Fprintf(tw, "total\t\t%d\t%d\t\t\n", sum.Rows(), sum.Bytes())
			if err := tw.Flush(); err != nil {
				return err
			}
			_, err = fmt.Fprintf(g.out, "wrote %s in %s\n", out, sum.Elapsed.Round(1e6))
			return err
		},
	}
	f := c.Flags()
	f.StringVar(&out, "out", "", "output directory (created when absent)")
	f.StringSliceVar(&chains, "chain", nil, "chain ids to export (btc, eth, eth-sim, ...; repeatable; default all)")
	f.Uint64Var(&from, "from-height", 0, "first block height to export")
	f.Uint64Var(&to, "to-height", 0, "last block height to export (default the tip)")
	f.BoolVar(&noLabels, "no-labels", false, "skip the labels and actors tables")
	f.StringVar(&compression, "compression", "zstd", "column compression: zstd, snappy or none")
	f.Int64Var(&fileMB, "file-mb", export.DefaultFileBytes>>20, "start a new file once one passes this many MiB")
	f.BoolVar(&asJSON, "json", false, "print the summary as JSON")
	return c
}
