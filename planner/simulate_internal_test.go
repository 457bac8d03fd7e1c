package planner

import (
	"math"
	"testing"
	"time"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/forecast"
)

// TestAutoscalerServesAfterDelayWithinRoom replays one window of 5-minute
// slots in which the load jumps from 10 to 50 for four slots, on 2
// replicas of 10 each, placed on dc at $730 a replica-month ($1 an hour).
// The autoscaler asks for 3 more at the jump; they serve only after the
// delay, only as many as dc has room for and replicas.max allows, and are
// paid from the jump to the end of the window.
func TestAutoscalerServesAfterDelayWithinRoom(t *testing.T) {
	load := []float64{10, 10, 50, 50, 50, 50, 10} // demand 230 load units
	cases := map[string]struct {
		reason   string
		scale    bool
		delay    float64 // slots
		room     float64 // vCPU left on dc; 0: dc is unlimited
		max      int
		served   float64 // load units
		cost     float64 // 5 slots of 5 minutes per replica added
		allSlots int     // slots fully served
	}{
		"no autoscaler":    {"static capacity serves 20 of each 50", false, 2, 0, 10, 10 + 10 + 4*20 + 10, 0, 3},
		"after the delay":  {"3 replicas land two slots after the jump", true, 2, 0, 10, 10 + 10 + 2*20 + 2*50 + 10, 3 * 5.0 / 12, 5},
		"room for two":     {"dc has room for 2 of the 3", true, 2, 2, 10, 10 + 10 + 2*20 + 2*40 + 10, 2 * 5.0 / 12, 3},
		"replicas.max":     {"replicas.max 3 allows one more", true, 0, 0, 3, 10 + 10 + 4*30 + 10, 5.0 / 12, 3},
		"no delay":         {"with no delay the jump is served as it comes", true, 0, 0, 10, 230, 3 * 5.0 / 12, 7},
		"half a slot late": {"a delay of half a slot serves half the first slot at 50", true, 0.5, 0, 10, 10 + 10 + 35 + 3*50 + 10, 3 * 5.0 / 12, 6},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			w := &meridian.Workload{Name: "web", Replicas: meridian.ReplicaRange{Min: 1, Max: tc.max},
				PerReplica: meridian.PerReplica{VCPU: 1, MemoryGiB: 1, Capacity: 10}}
			ss := &simSeries{w: w, s: forecast.Series{Step: 5 * time.Minute}, delay: tc.delay}
			var sc *scaler
			if tc.scale {
				room := map[string]*[2]float64{}
				if tc.room > 0 {
					room["dc"] = &[2]float64{tc.room, math.Inf(1)}
				}
				plan := &meridian.Plan{Placements: []meridian.Placement{{Workload: "web", Target: "dc", Replicas: 2,
					Cost: meridian.CostBreakdown{Compute: 2 * meridian.HoursPerMonth}}}}
				sc = newScaler(w, plan, room)
			}
			var o WorkloadOutcome
			cost := ss.serve(&o, load, 2, 2, sc)
			if got := o.served * 10; math.Abs(got-tc.served) > 1e-9 || math.Abs(o.demand*10-230) > 1e-9 {
				t.Errorf("%s: served %.3f of %.3f load units, want %.3f of 230", tc.reason, got, o.demand*10, tc.served)
			}
			if math.Abs(float64(cost)-tc.cost) > 1e-9 {
				t.Errorf("%s: the added replicas cost $%.4f, want $%.4f", tc.reason, float64(cost), tc.cost)
			}
			if o.full != tc.allSlots || o.slots != len(load) {
				t.Errorf("%s: %d of %d slots fully served, want %d of %d", tc.reason, o.full, o.slots, tc.allSlots, len(load))
			}
		})
	}
}
