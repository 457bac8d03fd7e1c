package main

import (
	"context"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/hashicorp/terraform-exec/tfexec"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/citest"
	"github.com/meridianhq/meridian/terraform"
	"github.com/meridianhq/meridian/terraform/terraformtest"
)

// chromiumPath is Debian's Chromium, which .ci/run installs.
const chromiumPath = "/usr/bin/chromium"

// chromium returns the browser binary. Missing, it fails the test in CI
// (CI=true), where the dashboard must never go untested, and skips it
// elsewhere.
func chromium(t *testing.T) string {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		citest.Missing(t, "no Chromium at "+chromiumPath+" (apt-get install chromium): the dashboard is NOT tested")
	}
	return chromiumPath
}

// page is one browser tab with its own cookie jar (a browser context), as
// one person signed in.
type page struct {
	t     *testing.T
	ctx   context.Context
	base  string
	shots string
}

// newPage opens a tab in a fresh browser context of the running browser.
func newPage(t *testing.T, browser context.Context, base, shots string) *page {
	t.Helper()
	ctx, cancel := chromedp.NewContext(browser, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	p := &page{t: t, ctx: ctx, base: base, shots: shots}
	// The first action creates the tab: it must not carry a deadline, or
	// the deadline would close the tab.
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1280, 800)); err != nil {
		t.Fatalf("open a tab: %v", err)
	}
	return p
}

// do runs steps with a deadline, failing the test on error.
func (p *page) do(what string, timeout time.Duration, steps ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, timeout)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		p.t.Fatalf("%s: %v", what, err)
	}
}

// follow runs steps that leave the page (a click on a link or a submit
// button) and waits until the next document has loaded: a WaitReady alone
// may find its element on the page being left, before the navigation.
func (p *page) follow(what string, timeout time.Duration, steps ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	mark := chromedp.Evaluate[chromedp.Void](`document.documentElement.dataset.e2eLeaving = "1"`)
	p.do(what, timeout, append([]chromedp.Action[chromedp.Void]{mark}, steps...)...)
	// Each check is a call of its own: the navigation destroys the page's
	// JavaScript context, and a check caught in it fails and is retried.
	deadline := time.Now().Add(timeout)
	for {
		ctx, cancel := context.WithTimeout(p.ctx, 5*time.Second)
		loaded, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`!document.documentElement.dataset.e2eLeaving && document.readyState === "complete"`))
		cancel()
		if err == nil && loaded {
			return
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("%s: the next page did not load within %s (last error: %v)", what, timeout, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// value runs an action that returns a value, failing the test on error.
func value[T any](p *page, what string, a chromedp.Action[T]) T {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, time.Minute)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		p.t.Fatalf("%s: %v", what, err)
	}
	return v
}

// open navigates to path and waits for the page's main element.
func (p *page) open(path string) {
	p.t.Helper()
	p.do("open "+path, time.Minute, chromedp.Navigate(p.base+path), chromedp.WaitReady(chromedp.ID("content")))
}

func (p *page) location() string { return value(p, "location", chromedp.Location()) }

func (p *page) text(id string) string {
	p.t.Helper()
	return strings.TrimSpace(value(p, "text of #"+id, chromedp.Text(chromedp.ID(id))))
}

// content is the text of <main id="content">.
func (p *page) content() string {
	return value(p, "main text", chromedp.Evaluate[string](`document.getElementById("content").innerText`))
}

// shot saves a screenshot of the page at 1280×800 as name.png.
func (p *page) shot(name string) {
	p.t.Helper()
	b := value(p, "screenshot "+name, chromedp.FullScreenshot(100))
	if err := os.WriteFile(filepath.Join(p.shots, name+".png"), b, 0o644); err != nil {
		p.t.Fatal(err)
	}
}

// waitFor reloads path (reload true) or just re-reads the page until ok
// holds, for up to timeout.
func (p *page) waitFor(what, path string, reload bool, timeout time.Duration, ok func() bool) {
	p.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		if reload {
			p.open(path)
		}
		if ok() {
			return
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("timed out after %s waiting for %s; %s shows:\n%s", timeout, what, p.location(), p.content())
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// signIn signs in through the form, from a page that needs a session.
func (p *page) signIn(token, path string) {
	p.t.Helper()
	p.do("open "+path, time.Minute, chromedp.Navigate(p.base+path), chromedp.WaitVisible(chromedp.ID("token")))
	if got, want := p.location(), p.base+"/login?next="+url.QueryEscape(path); got != want {
		p.t.Errorf("without a session %s went to %s, want %s", path, got, want)
	}
	p.follow("sign in", time.Minute, chromedp.SendKeys(chromedp.ID("token"), token), chromedp.Click(chromedp.ID("sign-in")),
		chromedp.WaitReady(chromedp.CSS("header form.who")))
	if got := p.location(); got != p.base+path {
		p.t.Errorf("after signing in the browser is at %s, want %s", got, p.base+path)
	}
}

// lastLine is the last non-empty line of s; lineWith the first line
// holding sub.
func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}

func lineWith(s, sub string) string {
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			return strings.TrimSpace(l)
		}
	}
	return ""
}

// TestDashboardEndToEnd drives the dashboard in headless Chromium against
// a real `meridian serve` on a Git copy of examples/hybrid, applied first
// with real Terraform: sign-in by form and by one-time link, cost figures
// against the API, live drift, a finding's life through two commits,
// placement filters and pages, and applying from the page as an operator
// but not as a viewer. It saves a screenshot of every page.
func TestDashboardEndToEnd(t *testing.T) {
	browserBin := chromium(t)
	bin := terraformtest.Binary(t)
	began := time.Now()
	repo, state := exampleRepo(t), t.TempDir()
	shots := os.Getenv("MERIDIAN_SCREENSHOTS")
	if shots == "" {
		shots = t.TempDir()
	}
	if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshots: %s", shots)

	// A real apply, as a user would start.
	if r := runCLI(t, "apply", "--repo", repo, "--auto-approve", "--state-dir", state, "--terraform-bin", bin); r.code != 0 {
		t.Fatalf("apply: %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	m, _ := bootServer(t, repo, state, func(c *ServeConfig) {
		c.TerraformBin = bin
		c.Interval = 2 * time.Second       // commits are found by polling
		c.DriftInterval = 15 * time.Second // drift checks come on their own
		c.LockTimeout = 5 * time.Minute    // an apply waits for a drift check's locks
	})
	base := "http://" + m.Addr()
	tokenFor := func(role, name string) (token, link string) {
		r := runCLI(t, "token", "create", "--role", role, "--name", name, "--login-link", base, "--state-dir", state)
		if r.code != 0 {
			t.Fatalf("token create: %d %s", r.code, r.stderr)
		}
		return lastLine(r.stdout), lineWith(r.stdout, base+"/login?token=")
	}
	opToken, _ := tokenFor("operator", "e2e-operator")
	viewerToken, viewerLink := tokenFor("viewer", "e2e-viewer")
	if viewerLink == "" || strings.Contains(viewerLink, viewerToken) {
		t.Fatalf("token create --login-link printed no link, or one with the token: %q", viewerLink)
	}
	api := &client{t: t, base: base, token: opToken, http: &http.Client{Timeout: 5 * time.Minute}}
	var status struct {
		Branch struct {
			Commit string
			PlanID string `json:"plan_id"`
		}
	}
	waitUntil(t, "the startup plan", func() bool { api.do("GET", "/api/v1/status", nil, &status); return status.Branch.PlanID != "" })

	// One browser; each person gets a browser context of their own.
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(browserBin), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1280, 800))
	t.Cleanup(cancelAlloc)
	browser, cancelBrowser := chromedp.NewContext(alloc)
	t.Cleanup(cancelBrowser)
	if err := chromedp.Do(browser); err != nil { // starts the browser: no deadline
		t.Fatalf("start Chromium: %v", err)
	}

	// Sign in: the operator through the form, the viewer through a
	// one-time link, which works once.
	op := newPage(t, browser, base, shots)
	op.signIn(opToken, "/placements")
	viewer := newPage(t, browser, base, shots)
	viewer.do("open the sign-in link", time.Minute, chromedp.Navigate(viewerLink), chromedp.WaitReady(chromedp.ID("cost-planned")))
	if got := viewer.location(); got != base+"/" {
		t.Errorf("the sign-in link led to %s, want the overview %s/", got, base)
	}
	again := newPage(t, browser, base, shots)
	again.do("reuse the sign-in link", time.Minute, chromedp.Navigate(viewerLink), chromedp.WaitReady(chromedp.ID("login-error")))
	if again.location() == base+"/" {
		t.Errorf("a used sign-in link signed in again")
	}
	again.shot("login")

	// The overview's cost figures are the API's.
	op.open("/")
	var costs struct{ Total meridian.Money }
	api.do("GET", "/api/v1/costs", nil, &costs)
	if got, want := op.text("cost-planned"), costs.Total.String(); got != want {
		t.Errorf("overview planned cost %q, want the API's %q", got, want)
	}
	appliedHref := value(op, "applied plan link", chromedp.Evaluate[string](
		`(document.querySelector("#cost-applied + .meta a") || {getAttribute: () => ""}).getAttribute("href")`))
	appliedPlan := strings.TrimPrefix(appliedHref, "/plans/")
	if appliedPlan == "" {
		t.Errorf("the overview shows no applied plan after a real apply: %q", op.text("cost-applied"))
	} else {
		api.do("GET", "/api/v1/costs?plan_id="+url.QueryEscape(appliedPlan), nil, &costs)
		if got, want := op.text("cost-applied"), costs.Total.String(); got != want {
			t.Errorf("overview applied cost %q, want the API's %q for plan %s", got, want, appliedPlan)
		}
	}
	op.shot("overview")

	// Placements: a filter keeps exactly the matching rows, and pages
	// split them.
	providerCol := `Array.from(document.querySelectorAll("#placements tbody tr td:nth-child(4)")).map(td => td.textContent.trim())`
	op.open("/placements?per_page=500")
	all := value(op, "providers", chromedp.Evaluate[[]string](providerCol))
	if len(all) < 4 {
		t.Fatalf("the placements page lists %d placements", len(all))
	}
	provider := all[0]
	want := 0
	for _, p := range all {
		if p == provider {
			want++
		}
	}
	op.open("/placements")
	op.follow("filter by provider", time.Minute, chromedp.SetValue(chromedp.ID("f-provider"), provider),
		chromedp.Click(chromedp.CSS(`form.filters button[type="submit"]`)), chromedp.WaitReady(chromedp.ID("placements")))
	if !strings.Contains(op.location(), "provider="+url.QueryEscape(provider)) {
		t.Errorf("the filter form went to %s", op.location())
	}
	got := value(op, "filtered providers", chromedp.Evaluate[[]string](providerCol))
	if len(got) != want || op.text("placements-matched") != strconv.Itoa(want) {
		t.Errorf("provider %s: %d rows, %s matched; want %d", provider, len(got), op.text("placements-matched"), want)
	}
	for _, p := range got {
		if p != provider {
			t.Errorf("filtered by provider %s, a row has %s", provider, p)
		}
	}
	op.shot("placements")
	per := (len(all) + 1) / 2
	op.open("/placements?per_page=" + strconv.Itoa(per))
	first := value(op, "page 1", chromedp.Evaluate[string](`document.querySelector("#placements tbody").innerText`))
	op.follow("next page", time.Minute, chromedp.Click(chromedp.ID("page-next")), chromedp.WaitReady(chromedp.ID("placements")))
	if p := op.text("placements-page"); p != "2" {
		t.Errorf("after Next the page is %s, want 2", p)
	}
	second := value(op, "page 2", chromedp.Evaluate[string](`document.querySelector("#placements tbody").innerText`))
	if rows := value(op, "rows", chromedp.Evaluate[int](`document.querySelectorAll("#placements tbody tr").length`)); first == second || rows != len(all)-per {
		t.Errorf("page 2 has %d rows (want %d), same as page 1: %v", rows, len(all)-per, first == second)
	}

	// Pages of one workload and one target.
	workload := value(op, "a workload", chromedp.Evaluate[string](`document.querySelector("#placements tbody th a").textContent`))
	target := value(op, "a target", chromedp.Evaluate[string](`document.querySelector("#placements tbody td a").textContent`))
	op.open("/workloads/" + workload)
	op.shot("workload")
	op.open("/targets/" + target)
	op.shot("target")

	// A finding introduced by a commit opens, and the fix resolves it.
	newSvc := filepath.Join(repo, "workloads", "e2e-svc.yaml")
	doc := `apiVersion: meridian/v1
kind: Workload
name: e2e-svc
tags:
  cost-center: CC-1001
  env: prod
replicas: {min: 2, max: 3}
per_replica: {vcpu: 1, memory_gib: 2, capacity: 10}
requires: {encryption: provider-managed, log_retention_days: 30}
storage_gb: 5
egress_gb_month: 10
`
	commit := func(msg string) string {
		git(t, repo, "add", "-A")
		git(t, repo, "commit", "-qm", msg)
		head := git(t, repo, "rev-parse", "HEAD")
		waitUntil(t, "the plan of "+msg, func() bool {
			api.do("GET", "/api/v1/status", nil, &status)
			return status.Branch.Commit == head && status.Branch.PlanID != ""
		})
		return status.Branch.PlanID
	}
	if err := os.WriteFile(newSvc, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	// findings lists a findings page's rows of e2e-svc as "RULE field".
	findings := func() []string {
		return value(op, "findings of e2e-svc", chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll("table.findings")).flatMap(t =>
			Array.from(t.querySelectorAll("tbody th")).filter(th => th.innerText.includes("e2e-svc")).map(th =>
				t.querySelector("caption code").textContent + " " + (th.querySelector("code") || {textContent: ""}).textContent))`))
	}
	commit("add e2e-svc without an owner")
	var opened []string
	op.waitFor("the new finding", "/findings?state=open", true, time.Minute, func() bool {
		opened = findings()
		return len(opened) > 0
	})
	op.shot("findings")
	if err := os.WriteFile(newSvc, []byte(strings.Replace(doc, "tags:\n", "tags:\n  owner: team-e2e\n", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	fixPlan := commit("give e2e-svc an owner")
	op.waitFor("the findings resolved", "/findings?state="+string(meridian.FindingResolved), true, time.Minute, func() bool {
		return cmp.Equal(findings(), opened, cmpopts.SortSlices(func(a, b string) bool { return a < b }))
	})
	op.open("/findings?state=open")
	if still := findings(); len(still) != 0 {
		t.Errorf("after the fix, open findings of e2e-svc: %v (opened: %v)", still, opened)
	}

	// A viewer has no Apply button, and a forged apply is refused.
	viewer.open("/plans/" + fixPlan)
	if n := value(viewer, "apply form", chromedp.Evaluate[int](`document.querySelectorAll("#apply-form").length`)); n != 0 {
		t.Errorf("a viewer sees the Apply button")
	}
	forge := `fetch("/plans/` + fixPlan + `/apply", {method: "POST", headers: {"Content-Type": "application/x-www-form-urlencoded"},
		body: "csrf=" + encodeURIComponent(document.querySelector('input[name="csrf"]').value)}).then(r => r.status)`
	if code := value(viewer, "forged apply", chromedp.Evaluate[int](forge, chromedp.EvalAwaitPromise)); code != http.StatusForbidden {
		t.Errorf("a viewer's forged apply (with a valid CSRF token) got %d, want 403", code)
	}
	noCSRF := `fetch("/plans/` + fixPlan + `/apply", {method: "POST"}).then(r => r.status)`
	if code := value(op, "apply without CSRF", chromedp.Evaluate[int](noCSRF, chromedp.EvalAwaitPromise)); code != http.StatusForbidden {
		t.Errorf("an operator's apply without the CSRF token got %d, want 403", code)
	}

	// An operator applies the plan from its page.
	op.open("/plans/" + fixPlan)
	op.shot("plan")
	op.follow("apply from the page", 10*time.Minute, chromedp.Click(chromedp.CSS("#apply-form button")), chromedp.WaitReady(chromedp.ID("run-status")))
	if st := op.text("run-status"); st != "succeeded" || !strings.Contains(op.location(), "/runs/") {
		t.Errorf("after Apply the browser is at %s with status %q, want a succeeded run", op.location(), st)
	}
	op.shot("run")
	var run struct {
		Items []struct{ Status, Actor, PlanID string }
	}
	api.do("GET", "/api/v1/runs?kind=apply&plan_id="+fixPlan, nil, &run)
	if len(run.Items) == 0 || run.Items[0].Actor != "api:e2e-operator" {
		t.Errorf("apply runs of %s: %+v, want one by the operator", fixPlan, run.Items)
	}

	// Drift made out of band appears on the drift page without a reload.
	op.open("/drift")
	value(op, "mark the page", chromedp.Evaluate[int](`window.e2eMark = "same page"; 1`))
	es, err := m.Store().LedgerEntries(context.Background(), m.Reconciler().RepoID())
	if err != nil || len(es) == 0 {
		t.Fatalf("ledger: %d entries, %v", len(es), err)
	}
	e := es[0]
	addr := `terraform_data.deployment["` + e.Workload + `"]`
	rn, err := terraform.New(context.Background(), bin, terraform.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ws, err := rn.Workspace(filepath.Join(state, "workspaces", m.Reconciler().RepoID(), e.Target))
	if err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "state rm of "+addr, func() bool {
		// A drift check may hold the state lock: retry.
		return ws.Exec().StateRm(context.Background(), addr, tfexec.Lock(true)) == nil
	})
	op.waitFor("the drift of "+addr, "/drift", false, 3*time.Minute, func() bool {
		return strings.Contains(op.content(), addr)
	})
	if mark := value(op, "mark", chromedp.Evaluate[string](`String(window.e2eMark)`)); mark != "same page" {
		t.Errorf("the drift page reloaded (mark %q) instead of swapping its content", mark)
	}
	if n := value(op, "swaps", chromedp.Evaluate[string](`document.getElementById("content").getAttribute("data-updated") || ""`)); n == "" {
		t.Errorf("main#content was not swapped by the live update")
	}
	op.shot("drift")

	// The remaining pages, for people to look at.
	for name, path := range map[string]string{"plans": "/plans", "locks": "/locks"} {
		op.open(path)
		op.shot(name)
	}

	// Signing out ends the session.
	op.open("/")
	op.follow("sign out", time.Minute, chromedp.Click(chromedp.CSS("header form.who button")), chromedp.WaitVisible(chromedp.ID("token")))
	op.do("open a page signed out", time.Minute, chromedp.Navigate(base+"/drift"), chromedp.WaitVisible(chromedp.ID("token")))
	if loc := op.location(); !regexp.MustCompile(`/login\?next=%2Fdrift$`).MatchString(loc) {
		t.Errorf("signed out, /drift went to %s", loc)
	}
	t.Logf("dashboard end to end: %s", time.Since(began).Round(time.Second))
}
