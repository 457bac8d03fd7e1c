package meridian

// Severity of a policy finding.
type Severity string

// Severities. Only deny blocks.
const (
	SeverityDeny Severity = "deny"
	SeverityWarn Severity = "warn"
	SeverityInfo Severity = "info"
)

// Valid reports whether s is a known severity.
func (s Severity) Valid() bool {
	return s == SeverityDeny || s == SeverityWarn || s == SeverityInfo
}

// Finding is one policy result that a user must see.
type Finding struct {
	Rule     string   `json:"rule"`
	Severity Severity `json:"severity"`
	Workload string   `json:"workload,omitempty"`
	// Target is set for placement rules.
	Target string `json:"target,omitempty"`
	// Field is the dotted path of the offending config field.
	Field       string `json:"field,omitempty"`
	File        string `json:"file,omitempty"`
	Line        int    `json:"line,omitempty"`
	Message     string `json:"message"`
	Remediation string `json:"remediation,omitempty"`
	// Source is FindingSourceLive for a finding about what really runs
	// (meridian audit); empty for findings about the config.
	Source string `json:"source,omitempty"`
	// Resource is the live resource's ID or ARN, for live findings.
	Resource string `json:"resource,omitempty"`
}

// FindingSourceLive marks a finding raised on a cloud or cluster inventory
// rather than on the config.
const FindingSourceLive = "live"

// Blocking reports whether the finding blocks the plan.
func (f Finding) Blocking() bool { return f.Severity == SeverityDeny }

// Violation is a placement rule failing for one (workload, target) pair.
// It becomes a Finding only for a pinned or currently applied target;
// otherwise it is a rejection reason in the explanation.
type Violation struct {
	Rule        string   `json:"rule"`
	Severity    Severity `json:"severity"`
	Field       string   `json:"field,omitempty"`
	Message     string   `json:"message"`
	Remediation string   `json:"remediation,omitempty"`
}
