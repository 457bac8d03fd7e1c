package workflow

import (
	"encoding/json"
	"strings"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/terraform"
)

// DriftActionState is the Action of the drift record that says the state
// was written outside Meridian (its serial or lineage moved). Its
// Resource is empty: the record is about the target's whole state.
const DriftActionState = "state"

// DriftSide says which plan found a terraform.Drifted, and so which of its
// sides is what Meridian applied.
type DriftSide int

const (
	// DriftRefreshed is drift from the refresh-only plan: Before is the
	// state as applied, After what runs now.
	DriftRefreshed DriftSide = iota
	// DriftRestore is a change the plan of the last applied inputs would
	// make: Before is what the state holds now, After what was applied.
	// Its Action is what restoring would do (create for a resource that is
	// gone).
	DriftRestore
)

// maxDriftValue bounds the text of a record's Expected and Actual: a
// drifted policy document or user-data script would otherwise fill the
// store. Longer values are replaced by the attributes' names.
const maxDriftValue = 2048

// DriftRecord turns Terraform's view of one drifted resource into the
// record kept across checks: engine terraform, resource its address, and
// Expected and Actual the differing attributes' values as JSON objects.
// The values come from a redacted plan (terraform.Redact), so sensitive
// ones are already terraform.Redacted. When the values are too long to
// keep they name the attributes instead; a resource that exists on one
// side only is "present" on it and "absent" on the other.
func DriftRecord(target, workload string, d terraform.Drifted, side DriftSide) meridian.DriftRecord {
	applied, now := d.Before, d.After
	if side == DriftRestore {
		applied, now = d.After, d.Before
	}
	rec := meridian.DriftRecord{Engine: meridian.DriftEngineTerraform, Target: target, Workload: workload, Resource: d.Address, Action: d.Action}
	if applied == nil || now == nil {
		// A resource on one side only: every attribute differs, and the
		// whole object says no more than that it exists.
		rec.Expected, rec.Actual = presence(applied), presence(now)
		return rec
	}
	rec.Expected, rec.Actual = driftValue(applied, d.Attributes), driftValue(now, d.Attributes)
	return rec
}

func presence(v map[string]any) string {
	if v == nil {
		return "absent"
	}
	return "present"
}

// driftValue renders one side of a drift.
func driftValue(v map[string]any, attrs []string) string {
	if len(attrs) == 0 {
		return "present"
	}
	b, err := json.Marshal(v) // map keys marshal sorted: a stable text
	if err != nil || len(b) > maxDriftValue {
		return "attributes " + strings.Join(attrs, ", ")
	}
	return string(b)
}
