package controlplane

import "github.com/prometheus/client_golang/prometheus"

// Metrics are the control loop's Prometheus metrics: plans, applies, drift,
// pull-request comments and failed steps. They are registered on the
// registry the caller gives (never the global one), which is the one the
// server exposes on /metrics, so that two servers in one test process do
// not collide. Every name starts with meridian_.
type Metrics struct {
	planDuration  *prometheus.HistogramVec
	plans         *prometheus.CounterVec
	findings      *prometheus.GaugeVec
	drifted       *prometheus.GaugeVec
	monthlyCost   *prometheus.GaugeVec
	applyDuration *prometheus.HistogramVec
	applies       *prometheus.CounterVec
	comments      *prometheus.CounterVec
	loopErrors    *prometheus.CounterVec
	lastSync      prometheus.Gauge
}

// NewMetrics registers the control loop's metrics on reg. It panics when
// they are registered there already, as prometheus.MustRegister does.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		planDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "meridian_plan_duration_seconds",
			Help:    "Time to plan one commit, by what triggered it (startup, poll, push, pull_request, api).",
			Buckets: prometheus.ExponentialBuckets(0.05, 2, 12),
		}, []string{"trigger"}),
		plans: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "meridian_plans_total",
			Help: "Plans made, by trigger and outcome: clean, blocked (a deny finding or an unplaceable workload) or error.",
		}, []string{"trigger", "outcome"}),
		findings: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "meridian_findings",
			Help: "Policy findings in the newest plan of the watched branch, by rule and severity.",
		}, []string{"rule", "severity"}),
		drifted: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "meridian_drifted_resources",
			Help: "Open drift records after the last drift check, by target (deploy-repo or argocd for drift of no target).",
		}, []string{"target"}),
		monthlyCost: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "meridian_monthly_cost",
			Help: "Monthly cost of the newest plan of the watched branch, by target, in the plan's currency.",
		}, []string{"target", "currency"}),
		applyDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "meridian_apply_duration_seconds",
			Help:    "Time to apply one plan, by outcome.",
			Buckets: prometheus.ExponentialBuckets(0.1, 2, 14),
		}, []string{"outcome"}),
		applies: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "meridian_applies_total",
			Help: "Applies, by trigger (auto, api) and outcome (succeeded, failed, refused, skipped, awaiting_consent).",
		}, []string{"trigger", "outcome"}),
		comments: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "meridian_pr_comments_total",
			Help: "Pull-request comment writes, by action (created, updated, unchanged, failed).",
		}, []string{"action"}),
		loopErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "meridian_reconcile_errors_total",
			Help: "Failed reconcile steps (sync, apply, drift, pull_request), each retried with backoff.",
		}, []string{"stage"}),
		// A timestamp rather than a lag gauge: time() - this is the lag at
		// query time, and it keeps growing when the loop is stuck and
		// cannot update anything.
		lastSync: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "meridian_reconcile_last_success_timestamp_seconds",
			Help: "Unix time at which the loop last read and planned the watched branch successfully (0: not yet); set by the leader only.",
		}),
	}
	reg.MustRegister(m.planDuration, m.plans, m.findings, m.drifted, m.monthlyCost, m.applyDuration, m.applies,
		m.comments, m.loopErrors, m.lastSync)
	return m
}
