package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/meridianhq/meridian/forecast"
	"github.com/meridianhq/meridian/planner"
)

func newSimulateCmd(a *app) *cobra.Command {
	var (
		rf         repoFlags
		historyDir string
		replan     time.Duration
		format     string
		// scaleUpDelay is how long added replicas take to serve.
		scaleUpDelay time.Duration
	)
	cmd := &cobra.Command{
		Use:   "simulate --repo PATH|URL [--history-dir DIR] [--replan 4h] [--scale-up-delay 5m] [--format table|json]",
		Short: "Replay real load to compare static, reactive, forecast and oracle provisioning",
		Long: `simulate replays each workload's load history over its final 20% in
--replan windows. Each window it sizes the workloads four ways (static peak,
reactive, Meridian's forecast, and a perfect-foresight oracle), places the
whole config with the real price catalog and target capacities, carrying
the previous window's placements as the ledger (hysteresis, migration
cost), pays for what was provisioned and for each move, and checks the
actual load against the capacity, with added replicas serving only after
--scale-up-delay. Between re-plans the reactive and forecast strategies
run an autoscaler that adds replicas, after the same delay, where the
target has room, at their real cost. It reports each strategy's cost, the
share of demand and of 5-minute slots served, and the moves.

Every workload with history is replayed: DIR/<workload>.csv from
--history-dir when it exists, else the workload's load.history.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := tableOrJSON(format); err != nil {
				return err
			}
			ctx := cmd.Context()
			l, err := rf.load(ctx, a)
			if err != nil {
				return configExit(err)
			}
			series := map[string]forecast.Series{}
			for i := range l.cfg.Workloads {
				w := &l.cfg.Workloads[i]
				var src forecast.Source
				if p := filepath.Join(historyDir, w.Name+".csv"); historyDir != "" && fileExists(p) {
					src = forecast.CSVSource{FS: os.DirFS(historyDir), Path: w.Name + ".csv"}
				} else {
					s, ok, err := forecast.SourceFor(w, l.cfg.Settings, l.snap.FS, forecast.SourceOptions{})
					if err != nil {
						return configExit(err)
					}
					if !ok {
						continue
					}
					src = s
				}
				s, err := src.History(ctx)
				if err != nil {
					return configExit(fmt.Errorf("workload %s: %w", w.Name, err))
				}
				series[w.Name] = s
			}
			p, err := planner.New(planner.WithLogger(a.logger))
			if err != nil {
				return err
			}
			sim, err := p.Simulate(ctx, planner.SimulationInput{
				Input:        l.input(nil),
				Series:       series,
				Replan:       replan,
				ScaleUpDelay: scaleUpDelay,
			})
			if err != nil {
				return &exitErr{code: exitError, err: err}
			}
			if format == "json" {
				return writeJSON(a.stdout, sim)
			}
			fmt.Fprintf(a.stdout, "Replayed %d workloads (%v) over %d windows of %s, scale-up delay %s: the final 20%% of each series.\n\n",
				len(sim.Workloads), sim.Workloads, sim.Windows, replan, sim.ScaleUpDelay)
			tw := tabwriter.NewWriter(a.stdout, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "STRATEGY\tCOST\tOWN\tDISPLACED\tVS STATIC\tVS ORACLE\tDEMAND SERVED\tSLOTS SERVED\tMOVES\tMEAN REPLICAS")
			for _, s := range sim.Strategies {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%+.1f%%\t%+.1f%%\t%.4f%%\t%.2f%% (%d/%d)\t%d\t%.2f\n", s.Name, s.Cost, s.OwnCost, s.DisplacedCost,
					s.CostVsStatic, s.GapToOracle, s.DemandServed, s.SlotsServed, s.Served, s.Slots, s.Moves, s.MeanReplicas)
			}
			if err := tw.Flush(); err != nil {
				return err
			}
			// Where each strategy's unserved demand comes from: an SLA is
			// missed by a workload, not by the config.
			fmt.Fprintln(a.stdout, "\nPer workload: demand served (unserved, in percent of all replayed demand) and own cost:")
			fmt.Fprint(tw, "WORKLOAD")
			for _, s := range sim.Strategies {
				fmt.Fprintf(tw, "\t%s", strings.ToUpper(s.Name))
			}
			fmt.Fprintln(tw)
			for j, name := range sim.Workloads {
				fmt.Fprint(tw, name)
				for _, s := range sim.Strategies {
					wo := s.Workloads[j]
					fmt.Fprintf(tw, "\t%.3f%% (%.3f%%) %s", wo.DemandServed, wo.UnservedShare, wo.Cost)
				}
				fmt.Fprintln(tw)
			}
			return tw.Flush()
		},
	}
	rf.register(cmd)
	cmd.Flags().StringVar(&historyDir, "history-dir", "", "folder of <workload>.csv load series, added to (and taking precedence over) each workload's load.history")
	cmd.Flags().DurationVar(&scaleUpDelay, "scale-up-delay", planner.DefaultScaleUpDelay, "how long added replicas take to serve (negative: none)")
	cmd.Flags().DurationVar(&replan, "replan", 4*time.Hour, "how often to re-plan")
	cmd.Flags().StringVar(&format, "format", "table", "output format: table or json")
	return cmd
}

// fileExists says whether path names an existing file.
func fileExists(path string) bool {
	st, err := os.Stat(path)
	return err == nil && !st.IsDir()
}
