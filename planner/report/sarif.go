package report

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"slices"

	"github.com/meridianhq/meridian"
)

// SARIF constants.
const (
	sarifVersion = "2.1.0"
	sarifSchema  = "https://json.schemastore.org/sarif-2.1.0.json"
	// UnplaceableRule is the rule ID SARIF output gives an unplaceable
	// workload, which blocks a plan like a deny finding but comes from the
	// scheduler rather than from a policy.
	UnplaceableRule = "MER-UNPLACEABLE"
)

type sarifLog struct {
	Version string     `json:"version"`
	Schema  string     `json:"$schema"`
	Runs    []sarifRun `json:"runs"`
}

type sarifRun struct {
	Tool    sarifTool     `json:"tool"`
	Results []sarifResult `json:"results"`
	// AutomationDetails.ID groups results by plan in code-scanning UIs.
	AutomationDetails *sarifAutomation `json:"automationDetails,omitempty"`
}

type sarifAutomation struct {
	ID string `json:"id"`
}

type sarifTool struct {
	Driver sarifDriver `json:"driver"`
}

type sarifDriver struct {
	Name           string      `json:"name"`
	InformationURI string      `json:"informationUri"`
	Rules          []sarifRule `json:"rules"`
}

type sarifRule struct {
	ID                   string       `json:"id"`
	ShortDescription     sarifMessage `json:"shortDescription"`
	Help                 *sarifHelp   `json:"help,omitempty"`
	DefaultConfiguration sarifConfig  `json:"defaultConfiguration"`
}

type sarifHelp struct {
	Text string `json:"text"`
}

type sarifConfig struct {
	Level string `json:"level"`
}

type sarifMessage struct {
	Text string `json:"text"`
}

type sarifResult struct {
	RuleID              string            `json:"ruleId"`
	RuleIndex           int               `json:"ruleIndex"`
	Level               string            `json:"level"`
	Message             sarifMessage      `json:"message"`
	Locations           []sarifLocation   `json:"locations,omitempty"`
	PartialFingerprints map[string]string `json:"partialFingerprints"`
}

type sarifLocation struct {
	PhysicalLocation sarifPhysical `json:"physicalLocation"`
}

type sarifPhysical struct {
	ArtifactLocation sarifArtifact `json:"artifactLocation"`
	Region           *sarifRegion  `json:"region,omitempty"`
}

type sarifArtifact struct {
	URI       string `json:"uri"`
	URIBaseID string `json:"uriBaseId"`
}

type sarifRegion struct {
	StartLine int `json:"startLine"`
}

// sarifLevel maps a severity to SARIF's result levels.
func sarifLevel(s meridian.Severity) string {
	switch s {
	case meridian.SeverityDeny:
		return "error"
	case meridian.SeverityWarn:
		return "warning"
	}
	return "note"
}

// SARIF writes the plan's findings, and its unplaceable workloads, as one
// SARIF 2.1.0 log for code-scanning tools. Every finding keeps its own rule
// ID; a rule appears once in the driver's rule list, at the most severe
// level it was found at. Locations are relative to the config root
// (uriBaseId %SRCROOT%).
func SARIF(w io.Writer, p *meridian.Plan) error {
	type ruleInfo struct {
		rule  sarifRule
		index int
	}
	rules := map[string]*ruleInfo{}
	var order []string
	ruleFor := func(id string, sev meridian.Severity, desc, help string) int {
		ri, ok := rules[id]
		if !ok {
			ri = &ruleInfo{rule: sarifRule{ID: id, ShortDescription: sarifMessage{Text: desc}, DefaultConfiguration: sarifConfig{Level: sarifLevel(sev)}}, index: len(order)}
			if help != "" {
				ri.rule.Help = &sarifHelp{Text: help}
			}
			rules[id] = ri
			order = append(order, id)
		}
		if levelRank(sarifLevel(sev)) > levelRank(ri.rule.DefaultConfiguration.Level) {
			ri.rule.DefaultConfiguration.Level = sarifLevel(sev)
		}
		return ri.index
	}
	results := []sarifResult{}
	for _, f := range p.Findings {
		r := sarifResult{
			RuleID:              f.Rule,
			RuleIndex:           ruleFor(f.Rule, f.Severity, f.Rule, f.Remediation),
			Level:               sarifLevel(f.Severity),
			Message:             sarifMessage{Text: findingText(f)},
			PartialFingerprints: map[string]string{"meridianFinding/v1": fingerprint(findingKey(f))},
		}
		if f.File != "" {
			loc := sarifLocation{PhysicalLocation: sarifPhysical{ArtifactLocation: sarifArtifact{URI: f.File, URIBaseID: "%SRCROOT%"}}}
			if f.Line > 0 {
				loc.PhysicalLocation.Region = &sarifRegion{StartLine: f.Line}
			}
			r.Locations = []sarifLocation{loc}
		}
		results = append(results, r)
	}
	for _, u := range p.Unplaceable {
		results = append(results, sarifResult{
			RuleID:              UnplaceableRule,
			RuleIndex:           ruleFor(UnplaceableRule, meridian.SeverityDeny, "No compliant target with capacity can host the workload", ""),
			Level:               "error",
			Message:             sarifMessage{Text: u.Workload + ": " + u.Reason},
			PartialFingerprints: map[string]string{"meridianFinding/v1": fingerprint(UnplaceableRule + "\x00" + u.Workload)},
		})
	}
	driver := sarifDriver{Name: "meridian", InformationURI: "https://github.com/meridianhq/meridian", Rules: []sarifRule{}}
	for _, id := range order {
		driver.Rules = append(driver.Rules, rules[id].rule)
	}
	run := sarifRun{Tool: sarifTool{Driver: driver}, Results: results}
	if p.ID != "" {
		run.AutomationDetails = &sarifAutomation{ID: "meridian/plan/" + p.ID}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(sarifLog{Version: sarifVersion, Schema: sarifSchema, Runs: []sarifRun{run}})
}

func levelRank(l string) int { return slices.Index([]string{"note", "warning", "error"}, l) }

func findingText(f meridian.Finding) string {
	s := f.Message
	if f.Workload != "" {
		s = f.Workload + ": " + s
	}
	if f.Remediation != "" {
		s += " Remediation: " + f.Remediation
	}
	return s
}

func fingerprint(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:16])
}
