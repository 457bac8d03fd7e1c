package web

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Metrics are the HTTP edge's Prometheus metrics, on a registry of their
// own (never the global one), so that two servers in one test process do
// not collide. The registry is the one /metrics serves: the control loop
// registers its metrics on it too (controlplane.NewMetrics(m.Registry)).
// Every name starts with meridian_.
type Metrics struct {
	// Registry holds the metrics below, the control loop's, and the Go and
	// process collectors.
	Registry *prometheus.Registry

	webhooks     *prometheus.CounterVec
	authFailures *prometheus.CounterVec
	httpRequests *prometheus.CounterVec
	httpDuration *prometheus.HistogramVec
}

// NewMetrics registers the HTTP edge's metrics on a new registry.
func NewMetrics() *Metrics {
	m := &Metrics{
		Registry: prometheus.NewRegistry(),
		webhooks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "meridian_webhook_deliveries_total",
			Help: "GitHub webhook deliveries, by event and result (processed, duplicate, ignored, failed, unauthorized, invalid, disabled).",
		}, []string{"event", "result"}),
		authFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "meridian_auth_failures_total",
			Help: "Failed authentications, by kind (token, webhook_signature, rate_limited).",
		}, []string{"kind"}),
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
	m.Registry.MustRegister(m.webhooks, m.authFailures, m.httpRequests, m.httpDuration,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}
