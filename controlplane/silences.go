package controlplane

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/meridianhq/meridian"
)

// SilenceMatchers are the labels a silence may match on, as `meridian
// silence create --match` and POST /api/v1/silences name them.
var SilenceMatchers = []string{"name", "workload", "target", "team", "severity"}

// MaxSilence bounds a silence's duration: a silence is time-boxed, and one
// that outlives anyone's memory of it hides real alerts.
const MaxSilence = 90 * 24 * time.Hour

// SilenceRequest is a silence as an operator asks for it.
type SilenceRequest struct {
	RepoID string
	// Matchers maps a label of SilenceMatchers to the value it must have.
	Matchers map[string]string
	// Duration is how long from Now the silence lasts.
	Duration  time.Duration
	Comment   string
	CreatedBy string
	Now       time.Time
}

// NewSilence validates req and returns the silence to store (without an
// ID; the store assigns it). Every problem is an EINVALID error naming the
// field.
func NewSilence(req SilenceRequest) (meridian.Silence, error) {
	s := meridian.Silence{RepoID: req.RepoID, Comment: strings.TrimSpace(req.Comment), CreatedBy: req.CreatedBy,
		StartsAt: req.Now.UTC(), EndsAt: req.Now.UTC().Add(req.Duration)}
	if len(req.Matchers) == 0 {
		return s, meridian.Errorf(meridian.EINVALID, "match: a silence needs at least one matcher (%s)", strings.Join(SilenceMatchers, ", "))
	}
	keys := make([]string, 0, len(req.Matchers))
	for k := range req.Matchers {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := strings.TrimSpace(req.Matchers[k])
		if v == "" {
			return s, meridian.Errorf(meridian.EINVALID, "match %s: the value is empty", k)
		}
		switch k {
		case "name":
			s.Name = v
		case "workload":
			s.Workload = v
		case "target":
			s.Target = v
		case "team":
			s.Team = v
		case "severity":
			if !meridian.Severity(v).Valid() {
				return s, meridian.Errorf(meridian.EINVALID, "match severity: want deny, warn or info, got %q", v)
			}
			s.Severity = meridian.Severity(v)
		default:
			return s, meridian.Errorf(meridian.EINVALID, "match %s: unknown label; want one of %s", k, strings.Join(SilenceMatchers, ", "))
		}
	}
	if req.Duration <= 0 || req.Duration > MaxSilence {
		return s, meridian.Errorf(meridian.EINVALID, "duration: want a positive duration of at most %s, got %s", MaxSilence, req.Duration)
	}
	if s.Comment == "" {
		return s, meridian.Errorf(meridian.EINVALID, "comment: say why the alerts are silenced")
	}
	return s, nil
}

// ParseMatchers turns NAME=VALUE strings (`--match name=MER-TAG-001`)
// into SilenceRequest.Matchers. A label given twice is an error.
func ParseMatchers(ms []string) (map[string]string, error) {
	out := make(map[string]string, len(ms))
	for _, m := range ms {
		k, v, ok := strings.Cut(m, "=")
		k = strings.TrimSpace(k)
		if !ok || k == "" {
			return nil, meridian.Errorf(meridian.EINVALID, "match %q: want LABEL=VALUE, e.g. name=MER-TAG-001", m)
		}
		if !slices.Contains(SilenceMatchers, k) {
			return nil, meridian.Errorf(meridian.EINVALID, "match %q: unknown label %s; want one of %s", m, k, strings.Join(SilenceMatchers, ", "))
		}
		if _, dup := out[k]; dup {
			return nil, meridian.Errorf(meridian.EINVALID, "match %q: %s is matched twice", m, k)
		}
		out[k] = v
	}
	return out, nil
}

// SilenceText describes a silence's matchers, for the audit log and
// tables: "name=MER-TAG-001 workload=x".
func SilenceText(s meridian.Silence) string {
	var parts []string
	for _, kv := range [][2]string{{"name", s.Name}, {"workload", s.Workload}, {"target", s.Target}, {"team", s.Team}, {"severity", string(s.Severity)}} {
		if kv[1] != "" {
			parts = append(parts, fmt.Sprintf("%s=%s", kv[0], kv[1]))
		}
	}
	return strings.Join(parts, " ")
}
