package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/meridianhq/meridian/demo"
	"github.com/meridianhq/meridian/examples"
	"github.com/meridianhq/meridian/store"
	"github.com/meridianhq/meridian/terraform"
	"github.com/meridianhq/meridian/web"
)

// demoTokenTTL is the lifetime of the demo's operator token: the demo's
// store is deleted on exit anyway.
const demoTokenTTL = 24 * time.Hour

func newDemoCmd(a *app) *cobra.Command {
	listen := "127.0.0.1:8080"
	cmd := &cobra.Command{
		Use:   "demo [--listen 127.0.0.1:8080]",
		Short: "Apply the bundled example and serve its dashboard, with a one-time sign-in link",
		Long: `demo shows Meridian end to end on the bundled example (examples/hybrid),
with nothing to set up: it writes the example into a temporary folder as a
local Git repository, serves it exactly as "meridian serve" does (SQLite and
local Git repositories in that folder), applies the first plan, creates an
operator token and prints a one-time sign-in link, valid for 15 minutes.

With a Terraform binary ($` + terraform.EnvBinary + `, or terraform or tofu on PATH) the
example's modules, which need no cloud account, are applied for real.
Without one the example is still planned and its deploy repository
committed; the Terraform steps are skipped (scripts/install-terraform.sh
builds a binary).

Ctrl-C stops the server and deletes the temporary folder.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := runDemo(cmd.Context(), a, listen); err != nil {
				return &exitErr{code: exitError, err: err}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&listen, "listen", listen, "listen address")
	return cmd
}

func runDemo(ctx context.Context, a *app, listen string) (err error) {
	dir, err := os.MkdirTemp("", "meridian-demo-")
	if err != nil {
		return fmt.Errorf("demo folder: %w", err)
	}
	defer os.RemoveAll(dir)
	repo := filepath.Join(dir, "config")
	if err := demo.WriteRepo(repo, examples.Hybrid()); err != nil {
		return err
	}
	m := NewMain()
	c := &m.Config
	c.Repo, c.Addr, c.StateDir, c.CacheDir, c.Actor = repo, listen, filepath.Join(dir, "state"), filepath.Join(dir, "cache"), "demo"
	m.Logger = a.logger
	_, tfErr := terraform.FindBinary("", os.Getenv)
	c.NoTerraform = tfErr != nil
	if err := m.Run(ctx); err != nil {
		return err
	}
	defer func() {
		if cerr := m.Close(); err == nil {
			err = cerr
		}
	}()
	fmt.Fprintf(a.stderr, "meridian demo: serving the bundled example from %s on %s\n", dir, m.Addr())
	if c.NoTerraform {
		fmt.Fprintf(a.stderr, "meridian demo: no Terraform binary (%v): planning and committing the deploy repo only; the Terraform steps are skipped.\n"+
			"  For real applies, build one with scripts/install-terraform.sh and set %s to the path it prints.\n", tfErr, terraform.EnvBinary)
	} else {
		fmt.Fprintln(a.stderr, "meridian demo: applying the first plan with Terraform...")
	}
	res, err := demo.Apply(ctx, demo.FirstApply{Recon: m.Reconciler(), Store: m.Store(), StateDir: c.StateDir, CacheDir: c.CacheDir,
		Actor: c.Actor, Terraform: !c.NoTerraform, Log: a.logger})
	if err != nil {
		return fmt.Errorf("apply the example: %w", err)
	}
	fmt.Fprintf(a.stderr, "meridian demo: plan %s applied (%s)\n", res.PlanID, res.Status)

	db := m.Store()
	now := time.Now()
	tok, secret, err := web.IssueToken(ctx, db, web.TokenRequest{Name: "demo", Role: web.RoleOperator, CreatedBy: c.Actor, TTL: demoTokenTTL}, now)
	if err != nil {
		return err
	}
	if err := db.AppendAudit(ctx, store.AuditEvent{Actor: c.Actor, Action: "token.create", Detail: web.TokenAuditDetail(tok)}); err != nil {
		return err
	}
	code, err := web.IssueLoginCode(ctx, db, tok, now)
	if err != nil {
		return err
	}
	link, err := web.LoginLink("http://"+browsable(m.Addr()), code)
	if err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "Open the dashboard (this link signs you in once, within 15 minutes):\n\n  %s\n\n"+
		"API token (operator, for curl -H 'Authorization: Bearer ...'; shown only now):\n  %s\n\nPress Ctrl-C to stop; the demo's folder is then deleted.\n", link, secret)
	return m.Wait(ctx)
}

// browsable turns a listen address into one a browser can open: an
// unspecified host (":8080", "0.0.0.0:8080") becomes 127.0.0.1.
func browsable(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port)
}
