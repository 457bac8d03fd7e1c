package main

import (
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/meridianhq/meridian/store"
	"github.com/meridianhq/meridian/web"
)

func newTokenCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "token",
		Short: "Manage API tokens of meridian serve",
		Long: `token creates, lists and revokes the bearer tokens of the server's API.
Roles: viewer reads; operator also plans, applies and unlocks its own locks;
admin may do everything, including managing tokens. Only a SHA-256 of each
token is stored.`,
	}
	cmd.AddCommand(newTokenCreateCmd(a), newTokenListCmd(a), newTokenRevokeCmd(a))
	return cmd
}

func newTokenCreateCmd(a *app) *cobra.Command {
	var (
		sf         stateFlags
		role, name string
		expiresIn  time.Duration
		loginLink  string
	)
	cmd := &cobra.Command{
		Use:   "create --role viewer|operator|admin --name NAME [--expires-in 720h] [--login-link URL] [--state-dir DIR | --db FILE]",
		Short: "Create a token and print it once",
		Long: `create makes a token, stores its hash (creating and migrating the store if
needed) and prints the token once, as the last line of stdout. It cannot be
shown again: keep it in a secret store.

With --expires-in the token stops working after that long (requests with it
then get 401 "expired token"); without it the token works until revoked.
Give tokens for CI and people a lifetime, and rotate them.

With --login-link URL (the server's address, e.g. http://127.0.0.1:8080) it
also prints a link that signs a browser in as the token: once, within 15
minutes. The link carries a one-time sign-in code, never the token.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			r, err := web.ParseRole(role)
			if err != nil {
				return &exitErr{code: exitError, err: fmt.Errorf("--role: %w", err)}
			}
			ctx := cmd.Context()
			db, err := sf.open(ctx)
			if err != nil {
				return &exitErr{code: exitError, err: err}
			}
			defer db.Close()
			actor := "cli:" + owner().Actor
			if loginLink != "" {
				// Checked before the token exists, so that a typo leaves none behind.
				if _, err := web.LoginLink(loginLink, "x"); err != nil {
					return &exitErr{code: exitError, err: fmt.Errorf("--login-link: %w", err)}
				}
			}
			if expiresIn < 0 {
				return &exitErr{code: exitError, err: fmt.Errorf("--expires-in must be positive, got %s", expiresIn)}
			}
			t, secret, err := web.IssueToken(ctx, db, web.TokenRequest{Name: name, Role: r, CreatedBy: actor, TTL: expiresIn}, time.Now())
			if err != nil {
				return &exitErr{code: exitError, err: err}
			}
			if err := db.AppendAudit(ctx, store.AuditEvent{Actor: actor, Action: "token.create", Detail: web.TokenAuditDetail(t)}); err != nil {
				return &exitErr{code: exitError, err: err}
			}
			expiry := "never expires"
			if !t.ExpiresAt.IsZero() {
				expiry = "expires " + stamp(t.ExpiresAt)
			}
			if loginLink != "" {
				code, err := web.IssueLoginCode(ctx, db, t, time.Now())
				if err != nil {
					return &exitErr{code: exitError, err: err}
				}
				link, err := web.LoginLink(loginLink, code)
				if err != nil {
					return &exitErr{code: exitError, err: err}
				}
				fmt.Fprintf(a.stdout, "Sign in a browser with this link, once, within 15 minutes:\n%s\n", link)
			}
			fmt.Fprintf(a.stdout, "Created token %s (%s, role %s, %s) in %s.\nIt is shown only now:\n%s\n", t.ID, t.Name, t.Role, expiry, db.Path(), secret)
			return nil
		},
	}
	sf.register(cmd)
	cmd.Flags().StringVar(&role, "role", "", "viewer, operator or admin")
	cmd.Flags().StringVar(&name, "name", "", "a name for the token, unique among live tokens (it names the actor in the audit log)")
	cmd.Flags().DurationVar(&expiresIn, "expires-in", 0, "the token's lifetime, e.g. 720h (default: it never expires)")
	cmd.Flags().StringVar(&loginLink, "login-link", "", "also print a one-time browser sign-in link to the server at this URL (valid 15 minutes)")
	_ = cmd.MarkFlagRequired("role")
	_ = cmd.MarkFlagRequired("name")
	return cmd
}

func newTokenListCmd(a *app) *cobra.Command {
	var sf stateFlags
	cmd := &cobra.Command{
		Use:   "list [--state-dir DIR | --db FILE]",
		Short: "List tokens (never their secrets)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			db, err := sf.open(cmd.Context())
			if err != nil {
				return &exitErr{code: exitError, err: err}
			}
			defer db.Close()
			ts, err := db.ListTokens(cmd.Context())
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(a.stdout, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tNAME\tROLE\tCREATED\tEXPIRES\tLAST USED\tREVOKED")
			for _, t := range ts {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", t.ID, t.Name, t.Role, stamp(t.CreatedAt), stamp(t.ExpiresAt), stamp(t.LastUsedAt), stamp(t.RevokedAt))
			}
			return tw.Flush()
		},
	}
	sf.register(cmd)
	return cmd
}

func newTokenRevokeCmd(a *app) *cobra.Command {
	var sf stateFlags
	cmd := &cobra.Command{
		Use:   "revoke TOKEN_ID [--state-dir DIR | --db FILE]",
		Short: "Revoke a token; requests with it then get 401",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			db, err := sf.open(ctx)
			if err != nil {
				return &exitErr{code: exitError, err: err}
			}
			defer db.Close()
			if err := db.RevokeToken(ctx, args[0], time.Now()); err != nil {
				return &exitErr{code: exitError, err: err}
			}
			if err := db.AppendAudit(ctx, store.AuditEvent{Actor: "cli:" + owner().Actor, Action: "token.revoke", Detail: args[0]}); err != nil {
				return err
			}
			_, err = fmt.Fprintf(a.stdout, "Revoked %s.\n", args[0])
			return err
		},
	}
	sf.register(cmd)
	return cmd
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}
