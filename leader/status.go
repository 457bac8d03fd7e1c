package leader

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Status is a replica's view of the election.
type Status struct {
	// Leading reports whether this replica leads now.
	Leading bool
	// Term is the fencing token of the newest term seen: this replica's
	// own while it leads.
	Term int64
	// Holder and Addr are the leader's ID and URL as last seen; empty
	// when no live lease is known.
	Holder, Addr string
	// LeaseAge is how long ago the lease was last renewed, as last seen
	// (a leader's own renewals); negative when never seen.
	LeaseAge time.Duration
	// Acquired and Lost count the terms this replica began and ended.
	Acquired, Lost int
}

// Solo is the election of a server alone on its store (SQLite, which one
// process opens): it always leads, from the start.
type Solo struct{}

// Run calls lead with ctx and returns when it does.
func (Solo) Run(ctx context.Context, lead func(ctx context.Context)) error {
	lead(ctx)
	return nil
}

// Status reports a leader that holds no lease.
func (Solo) Status() Status { return Status{Leading: true, LeaseAge: -1, Acquired: 1} }

// Leading is always true.
func (Solo) Leading() bool { return true }

// LeaderURL is always "": this server is the leader.
func (Solo) LeaderURL() string { return "" }

// StatusSource is an election whose status can be read: an Elector or Solo.
type StatusSource interface {
	Status() Status
}

// collector publishes an election's status as metrics, read at scrape
// time.
type collector struct {
	src                       StatusSource
	leader, term, age, change *prometheus.Desc
}

// NewCollector returns the election's metrics: meridian_leader (1 while
// this replica leads), meridian_leader_term (the fencing token of the
// newest term seen), meridian_leader_lease_age_seconds (since the lease
// was last renewed, as last seen; absent before it was seen) and
// meridian_leader_transitions_total{change="acquired"|"lost"}.
func NewCollector(src StatusSource) prometheus.Collector {
	return &collector{src: src,
		leader: prometheus.NewDesc("meridian_leader", "1 while this replica is the leader of the replicas sharing its store, else 0.", nil, nil),
		term:   prometheus.NewDesc("meridian_leader_term", "Fencing token of the newest leader term this replica has seen.", nil, nil),
		age: prometheus.NewDesc("meridian_leader_lease_age_seconds",
			"Seconds since the leader lease was last renewed, as this replica last saw it (a leader renews every third of the lease).", nil, nil),
		change: prometheus.NewDesc("meridian_leader_transitions_total", "Leader terms this replica began (acquired) and ended (lost).", []string{"change"}, nil),
	}
}

func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.leader
	ch <- c.term
	ch <- c.age
	ch <- c.change
}

func (c *collector) Collect(ch chan<- prometheus.Metric) {
	s := c.src.Status()
	leading := 0.0
	if s.Leading {
		leading = 1
	}
	ch <- prometheus.MustNewConstMetric(c.leader, prometheus.GaugeValue, leading)
	ch <- prometheus.MustNewConstMetric(c.term, prometheus.GaugeValue, float64(s.Term))
	if s.LeaseAge >= 0 {
		ch <- prometheus.MustNewConstMetric(c.age, prometheus.GaugeValue, s.LeaseAge.Seconds())
	}
	ch <- prometheus.MustNewConstMetric(c.change, prometheus.CounterValue, float64(s.Acquired), "acquired")
	ch <- prometheus.MustNewConstMetric(c.change, prometheus.CounterValue, float64(s.Lost), "lost")
}
