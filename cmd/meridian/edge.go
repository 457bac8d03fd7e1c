package main

import (
	"fmt"
	"path/filepath"
	"slices"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/edge"
	"github.com/meridianhq/meridian/store"
)

func newEdgeCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "edge",
		Short: "Edge sites: OPA agents that pull their policy bundle from meridian serve",
		Long: `edge manages the edge sites whose OPA agents pull signed policy bundles
from meridian serve and report their status back (docs/edge.md).`,
	}
	cmd.AddCommand(newEdgeAgentConfigCmd(a), newEdgeSitesCmd(a), newEdgeRevokeCmd(a))
	return cmd
}

func newEdgeSitesCmd(a *app) *cobra.Command {
	var (
		sf         stateFlags
		staleAfter time.Duration
	)
	cmd := &cobra.Command{
		Use:   "sites [--state-dir DIR | --db FILE] [--stale-after D]",
		Short: "List the edge sites: the revision each runs, its health and how long it has been behind",
		Long: `sites lists the registered edge sites from the store meridian serve uses:
the bundle revision each site's agent last reported active, its health as
the server last assessed it (ok, syncing, behind, failing, stale, pending,
retired: its last live credential was revoked),
how long it has been behind the branch head, and when it last reported. A
site silent for longer than --stale-after (the server's --edge-stale-after)
shows as stale even when no server runs to assess it.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			db, err := sf.open(cmd.Context())
			if err != nil {
				return &exitErr{code: exitError, err: err}
			}
			defer db.Close()
			sites, err := db.ListEdgeSites(cmd.Context())
			if err != nil {
				return &exitErr{code: exitError, err: err}
			}
			now := time.Now()
			tw := tabwriter.NewWriter(a.stdout, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "SITE\tREVISION\tHEALTH\tBEHIND\tLAST SEEN\tERROR")
			for _, rec := range sites {
				v := edge.StoredView(rec, now, staleAfter)
				behind, errText := "-", ""
				if !v.BehindSince.IsZero() {
					behind = now.Sub(v.BehindSince).Round(time.Second).String()
				}
				if v.Error != nil {
					errText = v.Error.Code + ": " + v.Error.Message
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", v.Site, dashIfEmpty(v.ActiveRevision), v.Health, behind, stamp(v.LastSeen), errText)
			}
			return tw.Flush()
		},
	}
	cmd.Flags().DurationVar(&staleAfter, "stale-after", 3*time.Minute, "a site silent for longer shows as stale (the server's --edge-stale-after)")
	sf.register(cmd)
	return cmd
}

func newEdgeRevokeCmd(a *app) *cobra.Command {
	var (
		sf stateFlags
		id string
	)
	cmd := &cobra.Command{
		Use:   "revoke SITE [--credential ID] [--state-dir DIR | --db FILE]",
		Short: "Revoke a site's credentials, retiring it when none is left; its agent then gets 401",
		Long: `revoke revokes every live credential of SITE (or only --credential ID, as
the audit log of agent-config names it) in the store meridian serve uses.
The server refuses them from the next request on: the agent keeps running
its last bundle but gets no new one.

A site left without a live credential is retired: the server announces
it (edge.site_retired), which resolves the site's alerts, and assesses it
no more; it is listed as retired, with what it last ran. To rotate a
site's credential without retiring it, issue the new one with
agent-config first, then revoke the old one with --credential. agent-config
enrols a retired site again: it is pending until its new agent reports.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, site := cmd.Context(), args[0]
			if err := edge.ValidSite(site); err != nil {
				return &exitErr{code: exitError, err: err}
			}
			db, err := sf.open(ctx)
			if err != nil {
				return &exitErr{code: exitError, err: err}
			}
			defer db.Close()
			if _, err := db.GetEdgeSite(ctx, site); err != nil {
				return &exitErr{code: exitError, err: err}
			}
			n, err := db.RevokeEdgeCredentials(ctx, site, id, time.Now())
			if err != nil {
				return &exitErr{code: exitError, err: err}
			}
			if n == 0 {
				what := "no live credential"
				if id != "" {
					what = "no live credential " + id
				}
				return &exitErr{code: exitError, err: fmt.Errorf("edge site %s has %s to revoke", site, what)}
			}
			detail := fmt.Sprintf("%d credential(s) of edge site %s", n, site)
			if id != "" {
				detail = fmt.Sprintf("credential %s of edge site %s", id, site)
			}
			if err := db.AppendAudit(ctx, store.AuditEvent{Actor: "cli:" + owner().Actor, Action: "edge.credential.revoke", Detail: detail}); err != nil {
				return &exitErr{code: exitError, err: err}
			}
			if _, err := fmt.Fprintf(a.stdout, "Revoked %s.\n", detail); err != nil {
				return err
			}
			rec, err := db.GetEdgeSite(ctx, site)
			if err != nil {
				return &exitErr{code: exitError, err: err}
			}
			if rec.Retired() {
				_, err = fmt.Fprintf(a.stdout, "Edge site %s has no live credential left: it is retired, and its alerts resolve once the server announces it.\n", site)
			}
			return err
		},
	}
	cmd.Flags().StringVar(&id, "credential", "", "revoke only this credential (ec_...), not all of the site's")
	sf.register(cmd)
	return cmd
}

// signingKeyPath is the bundle signing key: the operator's file, or the
// one generated under the state dir.
func signingKeyPath(flag, stateDir string) string {
	if flag != "" {
		return flag
	}
	return filepath.Join(stateDir, filepath.FromSlash(edge.KeyFile))
}

func newEdgeAgentConfigCmd(a *app) *cobra.Command {
	var (
		sf                  stateFlags
		server, repo, keyF  string
		persistDir, refName string
		longPoll            int
	)
	cmd := &cobra.Command{
		Use:   "agent-config SITE --server URL [--repo PATH|URL] [--state-dir DIR | --db FILE] [--signing-key FILE]",
		Short: "Create a site's credential and print its complete OPA configuration",
		Long: `agent-config creates a new credential for SITE in the store meridian serve
uses (--state-dir, --db), and prints on stdout a complete OPA configuration
file for the site: the Meridian service with the credential, the site's
bundle with long polling and the public key that verifies its signature,
and status reporting. Copy it to the site as it is and run

    opa run --server --config-file FILE

The configuration holds the credential: treat it as a secret. Earlier
credentials of the site keep working. --signing-key must name the key the
server signs with (the server's --edge-signing-key); by default both use
the key generated under the state dir. With --repo, SITE must be a target
of the config repo.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			site := args[0]
			ctx := cmd.Context()
			if err := edge.ValidSite(site); err != nil {
				return &exitErr{code: exitError, err: err}
			}
			if repo != "" {
				l, err := (&repoFlags{repo: repo, ref: refName}).load(ctx, a)
				if err != nil {
					return &exitErr{code: exitError, err: fmt.Errorf("--repo: %w", err)}
				}
				var names []string
				for _, t := range l.cfg.Targets {
					names = append(names, t.Name)
				}
				if !slices.Contains(names, site) {
					return &exitErr{code: exitError, err: fmt.Errorf("site %q is not a target of %s (targets: %v)", site, repo, names)}
				}
			}
			stateDir, err := sf.dir()
			if err != nil {
				return &exitErr{code: exitError, err: err}
			}
			key, err := edge.LoadKey(signingKeyPath(keyF, stateDir), keyF == "")
			if err != nil {
				return &exitErr{code: exitError, err: err}
			}
			// Checked before the credential exists, so that a bad URL leaves none behind.
			if _, err := edge.AgentConfig(edge.AgentConfigInput{Site: site, Server: server, Key: key}); err != nil {
				return &exitErr{code: exitError, err: fmt.Errorf("--server: %w", err)}
			}
			db, err := sf.open(ctx)
			if err != nil {
				return &exitErr{code: exitError, err: err}
			}
			defer db.Close()
			actor := "cli:" + owner().Actor
			prev, err := db.GetEdgeSite(ctx, site)
			if err != nil && meridian.ErrorCode(err) != meridian.ENOTFOUND {
				return &exitErr{code: exitError, err: err}
			}
			c, secret, err := edge.IssueCredential(ctx, db, site, actor, time.Now())
			if err != nil {
				return &exitErr{code: exitError, err: err}
			}
			if prev.Retired() {
				fmt.Fprintf(a.stderr, "Edge site %s was retired; it is enrolled again, pending until its agent reports.\n", site)
			}
			if err := db.AppendAudit(ctx, store.AuditEvent{Actor: actor, Action: "edge.credential.create",
				Detail: fmt.Sprintf("credential %s for edge site %s", c.ID, site)}); err != nil {
				return &exitErr{code: exitError, err: err}
			}
			out, err := edge.AgentConfig(edge.AgentConfigInput{Site: site, Server: server, Credential: secret, Key: key,
				LongPoll: longPoll, PersistDir: persistDir})
			if err != nil {
				return &exitErr{code: exitError, err: err}
			}
			_, err = a.stdout.Write(out)
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&server, "server", "", "the server's external URL, as the site reaches it (https://meridian.example.com)")
	f.StringVar(&repo, "repo", "", "config repo to check that SITE is one of its targets")
	f.StringVar(&refName, "ref", "", "with --repo: the branch, tag or commit to read")
	f.StringVar(&keyF, "signing-key", "", "the server's bundle signing key, PEM (default: generated under the state dir)")
	f.IntVar(&longPoll, "long-poll", 30, "seconds an agent's long poll waits for a new revision")
	f.StringVar(&persistDir, "persistence-dir", "", "where the agent keeps its last good bundle across restarts (default: OPA's .opa folder)")
	_ = cmd.MarkFlagRequired("server")
	sf.register(cmd)
	return cmd
}
