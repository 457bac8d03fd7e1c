package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/controlplane"
	"github.com/meridianhq/meridian/controlplane/controlplanetest"
	"github.com/meridianhq/meridian/store"
	"github.com/meridianhq/meridian/store/sqlite"
	"github.com/meridianhq/meridian/web"
)

// scalePlanner plans a generated topology the way the real planner's
// output looks (a placement per workload and spread, each with a reason,
// a runner-up, rejected targets and sizing; findings for one workload in
// ten), without the solver: BenchmarkOverview measures serving a plan,
// not making one (cmd/meridian's BenchmarkPlan1000x50 does that).
type scalePlanner struct{ st controlplanetest.Recorder }

func (p *scalePlanner) Plan(ctx context.Context, in controlplane.PlanInput) (*controlplane.PlanOutput, error) {
	cfg := in.Config
	rng := rand.New(rand.NewPCG(1, 2))
	nt := len(cfg.Targets)
	plan := &meridian.Plan{ID: "scale-" + in.Snapshot.Commit, Repo: in.Snapshot.Source, Commit: in.Snapshot.Commit, Currency: "USD"}
	for i, w := range cfg.Workloads {
		spread := 1 + i%10/9 // one workload in ten spreads over two targets
		for s := range spread {
			t := (i*7 + s*13) % nt
			cost := meridian.Money(50 + rng.Float64()*950)
			plan.Placements = append(plan.Placements, meridian.Placement{Workload: w.Name, Target: cfg.Targets[t].Name, Replicas: w.Replicas.Min,
				MonthlyCost: cost, Cost: meridian.CostBreakdown{Compute: cost * 0.8, Storage: cost * 0.15, Egress: cost * 0.05},
				Explanation: meridian.Explanation{Reason: "cheapest compliant target with capacity",
					RunnerUp: &meridian.RunnerUp{Target: cfg.Targets[(t+1)%nt].Name, ExtraCost: meridian.Money(rng.Float64() * 100)},
					Rejected: []meridian.RejectionGroup{{Rule: "MER-ENC-001", Reason: "requires customer-managed encryption", Count: 1, Nearest: []string{cfg.Targets[(t+2)%nt].Name}},
						{Rule: "MER-RES-002", Reason: "target jurisdiction \"us\" is not one of the allowed eu", Count: 40, Nearest: []string{cfg.Targets[(t+3)%nt].Name, cfg.Targets[(t+4)%nt].Name, cfg.Targets[(t+5)%nt].Name}}},
					RejectedCount: 41,
					Sizing:        &meridian.Sizing{Method: "forecast", Replicas: w.Replicas.Min, Model: "holt-winters", PeakP50: 120, PeakPq: 180, Quantile: 0.95, Headroom: 0.2}}})
			plan.TotalMonthlyCost += cost
		}
		if i%10 == 3 {
			sev := meridian.SeverityWarn
			if i%20 == 3 {
				sev = meridian.SeverityDeny
			}
			plan.Findings = append(plan.Findings, meridian.Finding{Rule: fmt.Sprintf("ORG-%03d", i%17), Severity: sev, Workload: w.Name,
				File: w.Origin.File, Line: 4, Message: "requirement not met", Remediation: "fix the workload"})
		}
	}
	runID := "plan-" + plan.ID
	doc, err := json.Marshal(plan)
	if err != nil {
		return nil, err
	}
	repo := store.RepoID(in.Snapshot.Source)
	if err := p.st.CreateRun(ctx, store.Run{ID: runID, RepoID: repo, Kind: store.RunPlan, Owner: store.Owner{Actor: in.Actor}}); err != nil {
		return nil, err
	}
	if err := p.st.SavePlan(ctx, store.PlanRecord{ID: plan.ID, RepoID: repo, Source: in.Snapshot.Source, Ref: in.Snapshot.Ref,
		Commit: in.Snapshot.Commit, Document: doc, CreatedBy: in.Actor}); err != nil {
		return nil, err
	}
	if err := p.st.FinishRun(ctx, runID, nil, store.RunFinish{Status: store.RunSucceeded, PlanID: plan.ID}); err != nil {
		return nil, err
	}
	return &controlplane.PlanOutput{Plan: plan, RunID: runID}, nil
}

// scaleServer serves the plan scalePlanner makes of cfg over db, once
// planned and ready has returned.
func scaleServer(tb testing.TB, db *sqlite.DB, cfg *meridian.Config, ready func()) (*web.Server, *httptest.Server) {
	tb.Helper()
	loader := controlplanetest.NewLoader()
	snap := snapshot("c1", cfg)
	loader.Set("master", snap)
	loader.Set("c1", snap)
	recon := controlplane.NewReconciler(db, loader, &scalePlanner{st: db}, nil, nil, controlplane.ReconcilerOptions{
		RepoID: controlplanetest.RepoID, Source: controlplanetest.Source, Branch: "master", Interval: time.Hour,
		Recorder: controlplane.NewRecorder(db, controlplane.RecorderOptions{})})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = recon.Run(ctx) }()
	tb.Cleanup(func() { cancel(); <-done })
	controlplanetest.WaitFor(tb, "the plan", func() bool { return recon.State().PlanID != "" })
	ready()
	srv := web.NewServer(db, recon, web.Options{Configs: loader})
	tb.Cleanup(srv.EventFeed().Close)
	hs := httptest.NewServer(srv.Handler())
	tb.Cleanup(hs.Close)
	return srv, hs
}

// scaleConfig is nw workloads over nt targets in 40 teams.
func scaleConfig(nw, nt int) *meridian.Config {
	cfg := config(nil)
	cfg.Targets = nil
	providers := []meridian.Provider{meridian.ProviderAWS, meridian.ProviderAzure, meridian.ProviderGCP, meridian.ProviderOnPrem, meridian.ProviderEdge}
	for i := range nt {
		cfg.Targets = append(cfg.Targets, meridian.Target{Name: fmt.Sprintf("t%03d", i), Provider: providers[i%len(providers)],
			Jurisdiction: []string{"us", "eu", "sg"}[i%3], Capacity: meridian.Capacity{VCPU: 4096, MemoryGiB: 16384}})
	}
	for i := range nw {
		w := workload(fmt.Sprintf("w%05d", i), fmt.Sprintf("team-%d", i%40), 1+i%4)
		w.Tags["team"] = w.Tags["owner"]
		w.Tags["cost-center"] = fmt.Sprintf("CC-%04d", 1000+i%97)
		w.PerReplica = meridian.PerReplica{VCPU: 2, MemoryGiB: 4}
		cfg.Workloads = append(cfg.Workloads, w)
	}
	return cfg
}

// fillHistory records 90 days of applied and planned cost points along
// every dimension, and nDrift open drift records.
func fillHistory(tb testing.TB, db *sqlite.DB, cfg *meridian.Config, nDrift int) {
	tb.Helper()
	ctx := context.Background()
	now := time.Now()
	for day := 90; day >= 1; day-- {
		for _, kind := range []meridian.CostKind{meridian.CostPlanned, meridian.CostApplied} {
			p := meridian.CostPoint{RepoID: controlplanetest.RepoID, Branch: "master", Kind: kind, Time: now.Add(-time.Duration(day)*24*time.Hour + time.Hour*time.Duration(len(kind))),
				PlanID: fmt.Sprintf("old-%d", day), Commit: "c", By: map[meridian.CostDimension]map[string]meridian.Money{}}
			for _, d := range meridian.CostDimensions() {
				p.By[d] = map[string]meridian.Money{}
			}
			for i, t := range cfg.Targets {
				amount := meridian.Money(1000 + 10*day + i)
				p.Total += amount
				p.By[meridian.CostByTarget][t.Name] += amount
				p.By[meridian.CostByProvider][string(t.Provider)] += amount
				p.By[meridian.CostByTeam][fmt.Sprintf("team-%d", i%40)] += amount
				p.By[meridian.CostByCostCenter][fmt.Sprintf("CC-%04d", 1000+i%97)] += amount
				p.By[meridian.CostByEnv]["prod"] += amount
			}
			if err := db.RecordCost(ctx, p); err != nil {
				tb.Fatal(err)
			}
		}
	}
	var drift []meridian.DriftRecord
	for i := range nDrift {
		drift = append(drift, meridian.DriftRecord{RepoID: controlplanetest.RepoID, Engine: meridian.DriftEngineTerraform,
			Target: cfg.Targets[i%len(cfg.Targets)].Name, Workload: cfg.Workloads[i%len(cfg.Workloads)].Name, Resource: fmt.Sprintf("aws_instance.r%d", i), Action: "change"})
	}
	if _, err := db.SyncDrift(ctx, controlplanetest.RepoID, []meridian.DriftEngine{meridian.DriftEngineTerraform}, drift); err != nil {
		tb.Fatal(err)
	}
}

// signIn signs a browser in with a viewer token through the sign-in form
// and returns its session cookie header.
func signIn(tb testing.TB, srv *httptest.Server, db *sqlite.DB) string {
	tb.Helper()
	_, secret, err := web.IssueToken(context.Background(), db, web.TokenRequest{Name: "bench", Role: web.RoleViewer, CreatedBy: "bench"}, time.Now())
	if err != nil {
		tb.Fatal(err)
	}
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Get(srv.URL + "/login")
	if err != nil {
		tb.Fatal(err)
	}
	var page strings.Builder
	buf := make([]byte, 64<<10)
	for {
		n, err := resp.Body.Read(buf)
		page.WriteString(string(buf[:n]))
		if err != nil {
			break
		}
	}
	resp.Body.Close()
	m := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(page.String())
	if m == nil {
		tb.Fatalf("no csrf field on /login")
	}
	req, _ := http.NewRequest("POST", srv.URL+"/login", strings.NewReader(url.Values{"csrf": {m[1]}, "token": {secret}, "next": {"/"}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for _, ck := range resp.Cookies() {
		req.AddCookie(ck)
	}
	resp, err = c.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	resp.Body.Close()
	for _, ck := range resp.Cookies() {
		if ck.Name == "meridian_session" && ck.Value != "" {
			return ck.Name + "=" + ck.Value
		}
	}
	tb.Fatalf("sign-in answered %d without a session cookie", resp.StatusCode)
	return ""
}

// BenchmarkOverview serves GET / for a 10,000-workload, 200-target plan
// over a real SQLite store holding 90 days of cost history along every
// dimension, 2,000 open drift records and the plan's finding records,
// and reports the p99 server time of the handler.
func BenchmarkOverview(b *testing.B) {
	db := controlplanetest.OpenSQLite(b)
	cfg := scaleConfig(10_000, 200)
	srv, hs := scaleServer(b, db, cfg, func() {
		// The plan's history (finding records, cost point) is recorded
		// after the plan is: wait for it, or the first page may count
		// nothing.
		controlplanetest.WaitFor(b, "the finding records", func() bool {
			n, err := db.CountFindings(context.Background(), controlplanetest.RepoID, "master", meridian.FindingOpen)
			return err == nil && n[meridian.SeverityDeny] == 500 && n[meridian.SeverityWarn] == 500
		})
		fillHistory(b, db, cfg, 2000)
	})
	cookie := signIn(b, hs, db)
	h := srv.Handler()
	get := func() (int, string) {
		req := httptest.NewRequest("GET", "/", nil)
		req.Header.Set("Cookie", cookie)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec.Code, rec.Body.String()
	}
	// The first request builds the plan's summary; it is cached by plan
	// ID from then on, which is what a dashboard sees.
	// One workload in ten has a finding, alternately deny and warn: the
	// reconciler recorded them as finding records.
	if code, body := get(); code != 200 || !strings.Contains(body, `id="count-drift">2000<`) ||
		!strings.Contains(body, `id="count-deny">500<`) || !strings.Contains(body, `id="count-warn">500<`) {
		b.Fatalf("GET /: %d\n%.2000s", code, body)
	}
	var times []time.Duration
	for b.Loop() {
		start := time.Now()
		code, _ := get()
		times = append(times, time.Since(start))
		if code != 200 {
			b.Fatalf("GET /: %d", code)
		}
	}
	slices.Sort(times)
	p99 := times[min(len(times)-1, len(times)*99/100)]
	b.ReportMetric(float64(p99.Microseconds())/1000, "p99-ms")
}
