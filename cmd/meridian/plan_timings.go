package main

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/meridianhq/meridian/planner"
)

// timingsFlag is plan's --timings.
type timingsFlag struct{ on bool }

func (f *timingsFlag) register(cmd *cobra.Command) {
	cmd.Flags().BoolVar(&f.on, "timings", false, "print how long each stage took to stderr (load, policy, forecast, solve, explain, terraform, deploy, store, write)")
}

// planTimings is the breakdown of one `meridian plan`: the planner's
// stages and the command's own.
type planTimings struct {
	planner.Timings
	Load  time.Duration // reading and parsing the config repo
	Store time.Duration // reading the ledger, opening the store and Terraform, saving the plan
	Write time.Duration // rendering and writing the document
	start time.Time
	last  time.Time
}

func newPlanTimings() *planTimings {
	now := time.Now()
	return &planTimings{start: now, last: now}
}

// lap returns the time since it was last called, or since the command
// started.
func (t *planTimings) lap() time.Duration {
	now := time.Now()
	d := now.Sub(t.last)
	t.last = now
	return d
}

// print writes the breakdown as one line, stage by stage in the order they
// run, when --timings is on.
func (f *timingsFlag) print(w io.Writer, t *planTimings) {
	if !f.on {
		return
	}
	var b strings.Builder
	b.WriteString("meridian: timings:")
	for _, s := range []struct {
		name string
		d    time.Duration
	}{
		{"load", t.Load}, {"policy", t.Policy}, {"forecast", t.Forecast}, {"solve", t.Solve}, {"explain", t.Explain},
		{"terraform", t.Terraform}, {"deploy", t.Deploy}, {"store", t.Store}, {"write", t.Write}, {"total", time.Since(t.start)},
	} {
		fmt.Fprintf(&b, " %s %.3fs", s.name, s.d.Seconds())
	}
	b.WriteString("\n")
	_, _ = io.WriteString(w, b.String())
}
