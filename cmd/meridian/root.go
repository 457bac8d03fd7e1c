package main

import (
	"encoding/json"
	"fmt"
	"github.com/meridianhq/meridian/gitops"
	"io"
	"log/slog"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/meridianhq/meridian/telemetry"
)

// app holds what every command shares: its streams and logger.
type app struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	logLevel       string
	logFormat      string
	logger         *slog.Logger
	// tracing is the process's tracer provider (startTracing).
	tracing *telemetry.Provider
}

func newRootCmd(a *app) *cobra.Command {
	root := &cobra.Command{
		Use:   "meridian",
		Short: "Place every workload on the cheapest target that passes policy",
		Long: `Meridian reads a GitOps config repo of targets, workloads and policies,
checks it against OPA policies, forecasts load, and places each workload on
the cheapest compliant target within capacity, explaining every choice.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			var lvl slog.Level
			if err := lvl.UnmarshalText([]byte(a.logLevel)); err != nil {
				return &exitErr{code: exitError, err: fmt.Errorf("--log-level: %w", err)}
			}
			opts := &slog.HandlerOptions{Level: lvl, ReplaceAttr: redactAttr}
			switch strings.ToLower(a.logFormat) {
			case "text":
				a.logger = slog.New(telemetry.NewLogHandler(slog.NewTextHandler(a.stderr, opts)))
			case "json":
				a.logger = slog.New(telemetry.NewLogHandler(slog.NewJSONHandler(a.stderr, opts)))
			default:
				return &exitErr{code: exitError, err: fmt.Errorf("--log-format must be text or json, got %q", a.logFormat)}
			}
			if err := a.startTracing(cmd.Context()); err != nil {
				return &exitErr{code: exitError, err: fmt.Errorf("tracing: %w", err)}
			}
			return nil
		},
	}
	root.PersistentFlags().StringVar(&a.logLevel, "log-level", "warn", "log level: debug, info, warn or error (logs go to stderr)")
	root.PersistentFlags().StringVar(&a.logFormat, "log-format", "text", "log format: text or json")
	root.AddCommand(
		newPlanCmd(a),
		newExplainCmd(a),
		newValidateCmd(a),
		newVersionCmd(a),
		newPolicyCmd(a.loadConfig),
		newForecastCmd(a),
		newSimulateCmd(a),
	)
	root.AddCommand(newBenchCmd())
	root.AddCommand(newApplyCmd(a), newDriftCmd(a), newUnlockCmd(a))
	root.AddCommand(newAuditCmd(a))
	root.AddCommand(newRenderCmd(a))
	root.AddCommand(newServeCmd(a), newTokenCmd(a), newDemoCmd(a), newHealthcheckCmd(a))
	root.AddCommand(newAlertsCmd(a), newSilenceCmd(a))
	root.AddCommand(newPricesCmd(a))
	root.AddCommand(newEdgeCmd(a))
	return root
}

// tableOrJSON checks the --format of commands that print a table or JSON.
func tableOrJSON(format string) error {
	if format != "table" && format != "json" {
		return &exitErr{code: exitError, err: fmt.Errorf("--format must be table or json, got %q", format)}
	}
	return nil
}

// printList prints records in the --format checked by tableOrJSON: a JSON
// array (empty, not null, when there is none), or a table with header and
// one tab-separated row per record.
func printList[T any](w io.Writer, format string, recs []T, header string, row func(T) string) error {
	if format == "json" {
		if recs == nil {
			recs = []T{}
		}
		return writeJSON(w, recs)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, header)
	for _, r := range recs {
		fmt.Fprintln(tw, row(r))
	}
	return tw.Flush()
}

// writeJSON prints v as one indented JSON document, as every --format json
// does.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// redactAttr removes URL credentials (https userinfo, scp-style
// user:pass@host) from every string and error a log line carries: Git
// errors and config values quote URLs as they were given.
func redactAttr(_ []string, a slog.Attr) slog.Attr {
	switch a.Value.Kind() {
	case slog.KindString:
		if s := a.Value.String(); strings.ContainsRune(s, '@') {
			a.Value = slog.StringValue(gitops.RedactText(s))
		}
	case slog.KindAny:
		if err, ok := a.Value.Any().(error); ok && strings.ContainsRune(err.Error(), '@') {
			a.Value = slog.StringValue(gitops.RedactText(err.Error()))
		}
	}
	return a
}
