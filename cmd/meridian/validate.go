package main

import (
	"fmt"

	"github.com/spf13/cobra"
)

func newValidateCmd(a *app) *cobra.Command {
	var rf repoFlags
	cmd := &cobra.Command{
		Use:   "validate --repo PATH|URL",
		Short: "Check a config repo's syntax, types, names and references (no policy)",
		Long: `validate runs every config check: YAML syntax, types, unknown fields,
duplicate names and references such as pin. It evaluates no policy.
Exit status: 0 valid, 1 invalid (every error is listed).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			l, err := rf.load(cmd.Context(), a)
			if err != nil {
				if msg, ok := configErrorList(err); ok {
					fmt.Fprintln(a.stderr, msg)
					return &exitErr{code: exitError}
				}
				return err
			}
			_, err = fmt.Fprintf(a.stdout, "%s: valid (%d targets, %d workloads, %d policy files)\n",
				rf.repo, len(l.cfg.Targets), len(l.cfg.Workloads), len(l.cfg.Policies))
			return err
		},
	}
	rf.register(cmd)
	return cmd
}
