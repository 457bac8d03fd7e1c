package alerting

import (
	"context"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Delivery outcomes, the outcome label of meridian_alert_deliveries_total.
const (
	outcomeDelivered = "delivered"
	outcomeFailed    = "failed" // will be retried
	outcomeDead      = "dead"
)

// noSink is the sink label of alerts no route took.
const noSink = "none"

// deliveryCounters counts this process's delivery outcomes per sink. The
// label values are sink names from alerting.yaml: a short, fixed list.
type deliveryCounters struct {
	mu       sync.Mutex
	outcomes map[[2]string]float64
	failures map[string]float64
}

func newDeliveryCounters() *deliveryCounters {
	return &deliveryCounters{outcomes: map[[2]string]float64{}, failures: map[string]float64{}}
}

func (c *deliveryCounters) outcome(sink, outcome string) {
	c.mu.Lock()
	c.outcomes[[2]string{sink, outcome}]++
	c.mu.Unlock()
}

func (c *deliveryCounters) failure(sink string) {
	c.mu.Lock()
	c.failures[sink]++
	c.mu.Unlock()
}

var (
	descAlerts = prometheus.NewDesc("meridian_alerts", "Alerts by state and sink (sink none: no route took them).",
		[]string{"state", "sink"}, nil)
	descOutboxDepth = prometheus.NewDesc("meridian_alert_outbox_depth", "Outbox rows not yet turned into alert transitions.", nil, nil)
	descOldest      = prometheus.NewDesc("meridian_alert_oldest_undelivered_seconds",
		"Age of the oldest unprocessed outbox row or pending delivery (0: none).", nil, nil)
	descFailures = prometheus.NewDesc("meridian_alert_delivery_failures_total", "Failed send attempts by sink.", []string{"sink"}, nil)
	descDeliver  = prometheus.NewDesc("meridian_alert_deliveries_total",
		"Send outcomes by sink: delivered, failed (to be retried) or dead.", []string{"sink", "outcome"}, nil)
)

// Collector returns the Dispatcher's metrics: the store's alert state,
// read at every scrape (bounded by a short timeout), and this process's
// delivery counters.
func (d *Dispatcher) Collector() prometheus.Collector { return collector{d} }

type collector struct{ d *Dispatcher }

func (c collector) Describe(ch chan<- *prometheus.Desc) {
	for _, desc := range []*prometheus.Desc{descAlerts, descOutboxDepth, descOldest, descFailures, descDeliver} {
		ch <- desc
	}
}

func (c collector) Collect(ch chan<- prometheus.Metric) {
	d := c.d
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if st, err := d.st.AlertStats(ctx); err != nil {
		d.log.Warn("alert metrics", "err", err)
	} else {
		ch <- prometheus.MustNewConstMetric(descOutboxDepth, prometheus.GaugeValue, float64(st.OutboxDepth))
		age := 0.0
		if !st.OldestUndelivered.IsZero() {
			age = max(0, d.opts.Now().Sub(st.OldestUndelivered).Seconds())
		}
		ch <- prometheus.MustNewConstMetric(descOldest, prometheus.GaugeValue, age)
		for _, a := range st.Alerts {
			sink := a.Sink
			if sink == "" {
				sink = noSink
			}
			if a.State.Valid() {
				ch <- prometheus.MustNewConstMetric(descAlerts, prometheus.GaugeValue, float64(a.N), string(a.State), sink)
			}
		}
	}
	d.metrics.mu.Lock()
	defer d.metrics.mu.Unlock()
	for k, v := range d.metrics.outcomes {
		ch <- prometheus.MustNewConstMetric(descDeliver, prometheus.CounterValue, v, k[0], k[1])
	}
	for sink, v := range d.metrics.failures {
		ch <- prometheus.MustNewConstMetric(descFailures, prometheus.CounterValue, v, sink)
	}
}
