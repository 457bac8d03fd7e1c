package web

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Metrics are the server's Prometheus metrics, on a registry of its own
// (never the global one), so that two servers in one test process do not
// collide. Every name starts with meridian_.
type Metrics struct {
	// Registry holds the metrics below plus the Go and process collectors.
	Registry *prometheus.Registry

	planDuration  *prometheus.HistogramVec
	plans         *prometheus.CounterVec
	findings      *prometheus.GaugeVec
	drifted       *prometheus.GaugeVec
	monthlyCost   *prometheus.GaugeVec
	applyDuration *prometheus.HistogramVec
	applies       *prometheus.CounterVec
	webhooks      *prometheus.CounterVec
	comments      *prometheus.CounterVec
	authFailures  *prometheus.CounterVec
	loopErrors    *prometheus.CounterVec
	httpRequests  *prometheus.CounterVec
	httpDuration  *prometheus.HistogramVec
}

// NewMetrics registers the server's metrics on a new registry.
func NewMetrics() *Metrics {
	m := &Metrics{
		Registry: prometheus.NewRegistry(),
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
			Help: "Resources found drifted by the last drift check, by target.",
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
			Help: "Applies, by trigger (auto, api) and outcome (succeeded, failed, refused, skipped).",
		}, []string{"trigger", "outcome"}),
		webhooks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "meridian_webhook_deliveries_total",
			Help: "GitHub webhook deliveries, by event and result (processed, duplicate, ignored, failed, unauthorized, invalid, disabled).",
		}, []string{"event", "result"}),
		comments: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "meridian_pr_comments_total",
			Help: "Pull-request comment writes, by action (created, updated, unchanged, failed).",
		}, []string{"action"}),
		authFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "meridian_auth_failures_total",
			Help: "Failed authentications, by kind (token, webhook_signature, rate_limited).",
		}, []string{"kind"}),
		loopErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "meridian_reconcile_errors_total",
			Help: "Failed reconcile steps (sync, apply, drift, pull_request), each retried with backoff.",
		}, []string{"stage"}),
		httpRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "meridian_http_requests_total",
			Help: "HTTP requests, by method, route pattern and status code.",
		}, []string{"method", "route", "code"}),
		httpDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "meridian_http_request_duration_seconds",
			Help:    "HTTP request latency, by method and route pattern.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2.5, 12),
		}, []string{"method", "route"}),
	}
	m.Registry.MustRegister(m.planDuration, m.plans, m.findings, m.drifted, m.monthlyCost, m.applyDuration, m.applies,
		m.webhooks, m.comments, m.authFailures, m.loopErrors, m.httpRequests, m.httpDuration,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}
