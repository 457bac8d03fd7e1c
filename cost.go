package meridian

import (
	"math"
	"strconv"
)

// HoursPerMonth is the month length used for all monthly costs, as Infracost
// does.
const HoursPerMonth = 730

// Money is an amount in the plan's currency (USD).
type Money float64

// Round returns m rounded to the cent, the precision every output shows.
func (m Money) Round() Money { return Money(math.Round(float64(m)*100) / 100) }

// CostBreakdown is a placement's monthly cost by component.
type CostBreakdown struct {
	Compute   Money `json:"compute"`
	Storage   Money `json:"storage"`
	Egress    Money `json:"egress"`
	Migration Money `json:"migration,omitempty"`
}

// Total is the sum of all components.
func (c CostBreakdown) Total() Money { return c.Compute + c.Storage + c.Egress + c.Migration }

// MonthlyCost prices replicas of w on a target with rates r:
//
//	replicas × (vcpu × vcpu_hour + memory_gib × gib_hour) × 730
//	+ storage_gb × storage_gb_month + egress_gb_month × egress_gb
//
// With spread, each target carries its share of replicas and is charged
// storage in full; egress is charged on each target's share of traffic,
// i.e. egress_gb_month / N.
func MonthlyCost(w *Workload, replicas int, r Rates) CostBreakdown {
	n := float64(w.SpreadCount())
	return CostBreakdown{
		Compute: Money(float64(replicas) * (w.PerReplica.VCPU*r.VCPUHour + w.PerReplica.MemoryGiB*r.GiBHour) * HoursPerMonth),
		Storage: Money(w.StorageGB * r.StorageGBMonth),
		Egress:  Money(w.EgressGBMonth / n * r.EgressGB),
	}
}

// MigrationCost is the monthly amortized cost of moving w's storage out of
// a source target with rates src: storage_gb × egress_gb / months.
func MigrationCost(w *Workload, src Rates, months float64) Money {
	if months <= 0 {
		months = 1
	}
	return Money(w.StorageGB * src.EgressGB / months)
}

// MarshalJSON writes the amount rounded to the cent, so that plans are
// stable documents and every figure matches what the tables show.
func (m Money) MarshalJSON() ([]byte, error) {
	return strconv.AppendFloat(nil, float64(m.Round()), 'f', 2, 64), nil
}

// String formats the amount as $1,234.56.
func (m Money) String() string {
	s := strconv.FormatFloat(math.Abs(float64(m.Round())), 'f', 2, 64)
	intPart, frac := s[:len(s)-3], s[len(s)-3:]
	var b []byte
	for i, c := range intPart {
		if i > 0 && (len(intPart)-i)%3 == 0 {
			b = append(b, ',')
		}
		b = append(b, byte(c))
	}
	sign := ""
	if m.Round() < 0 {
		sign = "-"
	}
	return sign + "$" + string(b) + frac
}
