package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/controlplane"
	"github.com/meridianhq/meridian/planner"
	"github.com/meridianhq/meridian/planner/report"
)

// compareFlags are `meridian plan --base REF --head REF`: the pull-request
// report of `meridian serve`, for any CI system.
type compareFlags struct {
	base, head string
	blobURL    string
}

func (f *compareFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.base, "base", "", "compare: the ref a change goes into (its policies judge the head)")
	cmd.Flags().StringVar(&f.head, "head", "", "compare: the ref of the change; with --base, prints the pull-request report (--format markdown, sarif or json)")
	cmd.Flags().StringVar(&f.blobURL, "blob-url", "", "compare: URL prefix of files at the head commit, for links in the report (default from $GITHUB_SERVER_URL/$GITHUB_REPOSITORY)")
}

func (f *compareFlags) active() bool { return f.base != "" || f.head != "" }

// planCompare plans the head against the base with controlplane.Compare,
// the way the server reviews a pull request: the head's config judged by
// the base's policies, a preview of the head's own policies when it
// changes them, and the base's plan as "before". It plans without
// Terraform: a change's modules are not trusted to run here. Exit status
// as plan: 2 when the head blocks.
func (a *app) planCompare(cmd *cobra.Command, rf *repoFlags, sf *stateFlags, cf *compareFlags, format, out string) (err error) {
	ctx := cmd.Context()
	defer func() {
		// --format json promises one JSON document, also on errors.
		var ee *exitErr
		if format == "json" && err != nil && (!errors.As(err, &ee) || ee.err != nil) {
			writeJSONError(a.stdout, err)
		}
	}()
	if cf.base == "" || cf.head == "" {
		return &exitErr{code: exitError, err: errors.New("--base and --head go together")}
	}
	if rf.ref != "" {
		return &exitErr{code: exitError, err: errors.New("--ref does not go with --base/--head")}
	}
	if format == "table" {
		format = "markdown" // the comparison has no terminal table
	}
	if format != "markdown" && format != "md" && format != "sarif" && format != "json" {
		return &exitErr{code: exitError, err: fmt.Errorf("with --base/--head, --format must be markdown, sarif or json, got %q", format)}
	}
	var base, head *loaded
	base, err = (&repoFlags{repo: rf.repo, ref: cf.base, cacheDir: rf.cacheDir}).load(ctx, a)
	if err != nil {
		return compareLoadErr("--base", err)
	}
	head, err = (&repoFlags{repo: rf.repo, ref: cf.head, cacheDir: rf.cacheDir}).load(ctx, a)
	if err != nil {
		return compareLoadErr("--head", err)
	}
	// The preview reads moves in progress from the store, when one exists.
	preview, closePreview, err := a.deployPreview(ctx, sf)
	if err != nil {
		return &exitErr{code: exitError, err: err}
	}
	defer closePreview()
	p, err := planner.New(planner.WithLogger(a.logger), preview)
	if err != nil {
		return err
	}
	blobURL := cf.blobURL
	if blobURL == "" && os.Getenv("GITHUB_SERVER_URL") != "" && os.Getenv("GITHUB_REPOSITORY") != "" && head.snap.Commit != "" {
		blobURL = strings.TrimSuffix(os.Getenv("GITHUB_SERVER_URL"), "/") + "/" + os.Getenv("GITHUB_REPOSITORY") + "/blob/" + head.snap.Commit
	}
	c, err := controlplane.Compare(ctx, p, base.snapshot(), head.snapshot(), controlplane.CompareOptions{
		BaseName: cf.base, HeadName: cf.head, BaseLabel: "--base " + cf.base, HeadLabel: "--head " + cf.head, BlobURL: blobURL,
		TerraformSkipped: "`meridian plan --base/--head` plans without Terraform: a change's modules can run code. " +
			"Run `meridian plan --ref` on trusted refs for Terraform's view.",
	})
	if err != nil {
		return &exitErr{code: exitError, err: err}
	}
	before, after, policyChanged := c.Before, c.After, c.PolicyChanged
	var buf bytes.Buffer
	switch format {
	case "sarif":
		err = report.SARIF(&buf, after)
	case "json":
		err = writeJSON(&buf, struct {
			BeforeSource     string                   `json:"before_source"`
			Before           *meridian.Plan           `json:"before"`
			After            *meridian.Plan           `json:"after"`
			PlacementChanges []report.PlacementChange `json:"placement_changes"`
			PolicyChanged    bool                     `json:"policy_changed"`
			Preview          []meridian.Finding       `json:"preview,omitempty"`
		}{c.BeforeSource, before, after, report.PlacementChanges(before, after), policyChanged, c.Preview})
	default:
		err = report.CompareMarkdown(&buf, c, report.CompareOptions{})
	}
	if err != nil {
		return fmt.Errorf("render comparison: %w", err)
	}
	if out != "" {
		if err := os.WriteFile(out, buf.Bytes(), 0o644); err != nil {
			return fmt.Errorf("write --out: %w", err)
		}
	} else if _, err := a.stdout.Write(buf.Bytes()); err != nil {
		return err
	}
	if after.Blocking() {
		return &exitErr{code: exitBlocked}
	}
	return nil
}

func compareLoadErr(flag string, err error) error {
	if msg, ok := configErrorList(err); ok {
		return &exitErr{code: exitError, err: fmt.Errorf("%s: %s", flag, msg)}
	}
	return &exitErr{code: exitError, err: fmt.Errorf("%s: %w", flag, err)}
}
