package alerting_test

import (
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/meridianhq/meridian"
)

// gather collects c through a registry (which checks descriptors and label
// consistency) and returns each sample as "name{k=v,...}" → value.
func gather(t *testing.T, c prometheus.Collector) map[string]float64 {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	if err := reg.Register(c); err != nil {
		t.Fatal(err)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			var labels []string
			for _, l := range m.GetLabel() {
				labels = append(labels, l.GetName()+"="+l.GetValue())
			}
			sort.Strings(labels)
			v := m.GetGauge().GetValue() + m.GetCounter().GetValue()
			out[mf.GetName()+"{"+strings.Join(labels, ",")+"}"] = v
		}
	}
	return out
}

// TestDispatchMetrics: the collector reports the outbox, the alerts by
// state and sink, and the delivery outcomes.
func TestDispatchMetrics(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	h.recv.status = func(n int) int {
		if n == 0 {
			return http.StatusServiceUnavailable
		}
		return http.StatusOK
	}
	c := h.d.Collector()
	h.append(findingEvent(meridian.EventFindingOpened, finding("MER-1", "api", "aws-eu")))
	h.clock.Advance(4 * time.Second)
	want := map[string]float64{
		"meridian_alert_outbox_depth{}":               1,
		"meridian_alert_oldest_undelivered_seconds{}": 4,
	}
	if diff := cmp.Diff(want, gather(t, c)); diff != "" {
		t.Errorf("before dispatch (-want +got):\n%s", diff)
	}
	h.advance(time.Minute)
	want = map[string]float64{
		"meridian_alert_outbox_depth{}":                                0,
		"meridian_alert_oldest_undelivered_seconds{}":                  0,
		"meridian_alerts{sink=hook,state=firing}":                      1,
		"meridian_alert_delivery_failures_total{sink=hook}":            1,
		"meridian_alert_deliveries_total{outcome=failed,sink=hook}":    1,
		"meridian_alert_deliveries_total{outcome=delivered,sink=hook}": 1,
	}
	if diff := cmp.Diff(want, gather(t, c)); diff != "" {
		t.Errorf("after one failed and one good attempt (-want +got):\n%s", diff)
	}
}
