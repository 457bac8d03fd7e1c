package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/meridianhq/meridian/forecast/eval"
)

// newForecastEvalCmd is `meridian forecast eval`: the rolling-origin
// evaluation of shared/data/forecast/README.md over a folder of CSV series.
// It only wires flags to forecast/eval, which holds the protocol.
func newForecastEvalCmd() *cobra.Command {
	var (
		data, format string
		cold, dense  bool
		folds        int
	)
	cmd := &cobra.Command{
		Use:   "eval --data DIR [--folds K | --dense] [--format table|json]",
		Short: "Score the load forecaster on a folder of timestamp,value CSV series",
		Long: `eval runs the rolling-origin protocol of the forecast dev set on every *.csv
file directly in DIR: regular grid, last 20 % as test region, ten origins,
horizon 4 h, daily season, refit at every origin on the data before it.

It prints, per series and on average, MASE (scaled by the in-sample
seasonal-naive MAE), sMAPE, 80 % interval coverage and the mean fit+forecast
time per origin of Meridian's automatic method, beside the naive and
seasonal-naive baselines. --cold refits every origin from scratch instead of
starting from the previous origin's parameters. --dense also scores the
intervals at origins every H/2 over the whole test region (80 % coverage and
the share of outcomes at or below the P95), a calibration check far less
noisy than ten origins.

--folds K evaluates leave-series-out instead: the series are dealt into K
folds, and each fold is scored with the forecaster's tunable constants chosen
on the other folds. It prints each series' held-out scores beside its scores
with the default constants.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if data == "" {
				return fmt.Errorf("--data is required")
			}
			if err := tableOrJSON(format); err != nil {
				return err
			}
			if st, err := os.Stat(data); err != nil {
				return fmt.Errorf("--data: %w", err)
			} else if !st.IsDir() {
				return fmt.Errorf("--data: %s is not a folder", data)
			}
			if cmd.Flags().Changed("folds") {
				if dense {
					return fmt.Errorf("--dense applies to the protocol run, not to --folds")
				}
				rep, err := eval.RunFolds(cmd.Context(), os.DirFS(data), folds, eval.Options{Cold: cold})
				if err != nil {
					return err
				}
				if format == "json" {
					return rep.WriteJSON(cmd.OutOrStdout())
				}
				return rep.WriteTable(cmd.OutOrStdout())
			}
			rep, err := eval.Run(cmd.Context(), os.DirFS(data), eval.Options{Cold: cold, Dense: dense})
			if err != nil {
				return err
			}
			if format == "json" {
				return rep.WriteJSON(cmd.OutOrStdout())
			}
			return rep.WriteTable(cmd.OutOrStdout())
		},
	}
	cmd.Flags().StringVar(&data, "data", "", "folder of timestamp,value CSV files (only *.csv directly in it are read)")
	cmd.Flags().StringVar(&format, "format", "table", "output format: table or json")
	cmd.Flags().BoolVar(&cold, "cold", false, "fit every origin from scratch (no warm start)")
	cmd.Flags().BoolVar(&dense, "dense", false, "also score the intervals at origins every H/2 over the test region")
	cmd.Flags().IntVar(&folds, "folds", 0, "leave-series-out evaluation with K folds (2 ≤ K ≤ number of series)")
	return cmd
}
