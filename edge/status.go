package edge

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// MaxStatusBytes bounds one status report's body. OPA's reports are a few
// kilobytes (more with Prometheus metrics enabled); anything far larger is
// not a report.
const MaxStatusBytes = 256 << 10

// maxErrorText bounds the error text kept from a report.
const maxErrorText = 1024

// Report is what Meridian keeps of an OPA status report (OPA's status API,
// UpdateRequestV1): the agent and the state of the Meridian bundle.
type Report struct {
	// AgentID is the report's labels.id: the OPA instance.
	AgentID string
	// Revision is the bundle revision the agent has active ("" when it
	// has activated none yet).
	Revision string
	// Activated is the agent's last successful activation.
	Activated time.Time
	// Code and Message are the bundle's error (a failed download,
	// activation or signature check); empty when its last attempt worked.
	Code, Message string
	// NoBundleStatus marks a report that says nothing of the Meridian
	// bundle yet: OPA's status plugin reports as soon as the agent starts,
	// before its bundle plugin has tried a download. Ready is then whether
	// the agent runs a bundle all the same (plugins.bundle.state OK: the
	// one it persisted before a restart).
	NoBundleStatus, Ready bool
}

// CodeBundleNotConfigured is the error of a report from an agent whose
// config has bundles, but not Meridian's: it enforces none of the site's
// policies, so the site counts as failing.
const CodeBundleNotConfigured = "meridian_bundle_not_configured"

// statusReport is the part of OPA's UpdateRequestV1 Meridian reads.
type statusReport struct {
	Labels  map[string]string        `json:"labels"`
	Bundle  *bundleStatus            `json:"bundle"`
	Bundles map[string]*bundleStatus `json:"bundles"`
	Plugins map[string]struct {
		State string `json:"state"`
	} `json:"plugins"`
}

type bundleStatus struct {
	Name                     string    `json:"name"`
	ActiveRevision           string    `json:"active_revision"`
	LastSuccessfulActivation time.Time `json:"last_successful_activation"`
	Code                     string    `json:"code"`
	Message                  string    `json:"message"`
	Errors                   []struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"errors"`
}

// ParseReport reads an OPA status report. The Meridian bundle's status is
// under bundles, or the deprecated bundle field. A report without any
// bundle's status is an agent's first, sent before its first download
// (NoBundleStatus); one with other bundles' status but not Meridian's
// comes from an agent configured without Meridian's bundle, and reads as
// a CodeBundleNotConfigured error. Only a body that is not OPA's status
// JSON is an error.
func ParseReport(body []byte) (Report, error) {
	if len(body) > MaxStatusBytes {
		return Report{}, fmt.Errorf("status report: %d bytes, over the %d-byte limit", len(body), MaxStatusBytes)
	}
	var sr statusReport
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&sr); err != nil {
		return Report{}, fmt.Errorf("status report: not OPA's status JSON: %w", err)
	}
	if dec.More() {
		return Report{}, fmt.Errorf("status report: trailing data after the JSON object")
	}
	bs := sr.Bundles[BundleName]
	if bs == nil && sr.Bundle != nil && sr.Bundle.Name == BundleName {
		bs = sr.Bundle
	}
	agent := text(sr.Labels["id"], 128)
	if bs == nil {
		return reportWithoutBundle(sr, agent), nil
	}
	r := Report{AgentID: agent, Revision: text(bs.ActiveRevision, 256), Code: text(bs.Code, 128)}
	if !bs.LastSuccessfulActivation.IsZero() && bs.LastSuccessfulActivation.Year() > 1 {
		r.Activated = bs.LastSuccessfulActivation.UTC()
	}
	// Joined once: appending in a loop copies the text again per error,
	// quadratic in a report of many small errors.
	msgs := make([]string, 0, len(bs.Errors)+1)
	msgs = append(msgs, bs.Message)
	for _, e := range bs.Errors {
		msgs = append(msgs, e.Message)
	}
	r.Message = text(strings.TrimPrefix(strings.Join(msgs, "; "), "; "), maxErrorText)
	if r.Code == "" && r.Message != "" {
		r.Code = "bundle_error"
	}
	return r, nil
}

// reportWithoutBundle reads a report that holds no status of the Meridian
// bundle.
func reportWithoutBundle(sr statusReport, agent string) Report {
	var others []string
	for name := range sr.Bundles {
		others = append(others, name)
	}
	if sr.Bundle != nil {
		others = append(others, sr.Bundle.Name)
	}
	if len(others) == 0 {
		return Report{AgentID: agent, NoBundleStatus: true, Ready: sr.Plugins["bundle"].State == "OK"}
	}
	slices.Sort(others)
	return Report{AgentID: agent, Code: CodeBundleNotConfigured, Message: text(fmt.Sprintf(
		"the agent reports bundle(s) %s but not %q: its config lacks bundles.%s (meridian edge agent-config prints one)",
		strings.Join(others, ", "), BundleName, BundleName), maxErrorText)}
}

// text makes an agent-supplied string safe to store and show: valid
// UTF-8, no control characters, at most n bytes.
func text(s string, n int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s)
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}
