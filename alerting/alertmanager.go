package alerting

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/meridianhq/meridian"
)

// PostableAlert is one alert of Alertmanager's v2 API (POST
// /api/v2/alerts). Alertmanager drops labels with empty values, so every
// label is non-empty.
type PostableAlert struct {
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations,omitempty"`
	StartsAt     time.Time         `json:"startsAt,omitzero"`
	EndsAt       time.Time         `json:"endsAt,omitzero"`
	GeneratorURL string            `json:"generatorURL,omitempty"`
}

type alertmanager struct {
	p *poster
}

// NewAlertmanager returns a Sender posting to baseURL's /api/v2/alerts.
// Alertmanager groups, deduplicates and resolves on its own; it gets the
// same startsAt on every re-post of an alert, endsAt once it resolves.
func NewAlertmanager(sink, baseURL string, opts SenderOptions) Sender {
	opts = opts.withDefaults()
	u := strings.TrimRight(baseURL, "/") + "/api/v2/alerts"
	return &alertmanager{p: newPoster(sink, u, u, opts)}
}

func (s *alertmanager) Send(ctx context.Context, m Message) error {
	alerts := AlertmanagerAlerts(m)
	if len(alerts) == 0 {
		return nil
	}
	body, err := json.Marshal(alerts)
	if err != nil {
		return fmt.Errorf("sink %s: encode alerts: %w: %w", s.p.sink, ErrPermanent, err)
	}
	h := http.Header{}
	h.Set(HeaderIdempotency, m.Key)
	return s.p.post(ctx, body, h)
}

// AlertmanagerAlerts converts m's firing and resolved alerts (silenced
// ones are left out: Alertmanager resolves them after its resolve_timeout
// unless they are posted again).
func AlertmanagerAlerts(m Message) []PostableAlert {
	out := make([]PostableAlert, 0, len(m.Alerts))
	for _, a := range m.Alerts {
		if a.State != meridian.AlertFiring && a.State != meridian.AlertResolved {
			continue
		}
		pa := PostableAlert{
			Labels: map[string]string{
				"alertname":   orNone(a.Name),
				"severity":    orNone(string(a.Severity)),
				"workload":    orNone(a.Workload),
				"target":      orNone(a.Target),
				"team":        team(a),
				"source":      orNone(string(a.Source)),
				"fingerprint": orNone(a.Fingerprint),
			},
			Annotations: map[string]string{"idempotency_key": m.Key},
			StartsAt:    a.StartsAt.UTC(),
		}
		if a.RepoID != "" {
			pa.Labels["repo"] = a.RepoID
		}
		if a.Branch != "" {
			pa.Labels["branch"] = a.Branch
		}
		if m.Test {
			pa.Labels["test"] = "true"
		}
		setNonEmpty(pa.Annotations, "summary", a.Summary)
		setNonEmpty(pa.Annotations, "remediation", a.Remediation)
		setNonEmpty(pa.Annotations, "file", fileLine(a))
		setNonEmpty(pa.Annotations, "commit", a.Commit)
		setNonEmpty(pa.Annotations, "frozen", frozenText(a))
		if a.State == meridian.AlertResolved {
			pa.EndsAt = a.EndsAt.UTC()
			if a.EndsAt.IsZero() {
				// Resolved without a time: end it now, or Alertmanager
				// would keep it firing.
				pa.EndsAt = m.Created.UTC()
			}
		}
		if a.URL != "" {
			pa.GeneratorURL = a.URL
		}
		out = append(out, pa)
	}
	return out
}

func orNone(s string) string {
	if strings.TrimSpace(s) == "" {
		return meridian.AlertTarget
	}
	return s
}

// team is the alert's team tag, else its owner, else "unowned".
func team(a meridian.Alert) string {
	switch {
	case a.Team != "":
		return a.Team
	case a.Owner != "":
		return a.Owner
	}
	return meridian.Unowned
}

func setNonEmpty(m map[string]string, k, v string) {
	if v != "" {
		m[k] = v
	}
}

// fileLine is "file:line", "file" or "".
func fileLine(a meridian.Alert) string {
	if a.File == "" {
		return ""
	}
	if a.Line > 0 {
		return a.File + ":" + strconv.Itoa(a.Line)
	}
	return a.File
}

// frozenText says what a freeze holds, one sentence per frozen workload:
// "api frozen at 3 replicas on aws-eu until the finding is fixed".
func frozenText(a meridian.Alert) string {
	var parts []string
	for _, f := range a.Frozen {
		w := f.Workload
		if w == "" {
			w = a.Workload
		}
		parts = append(parts, fmt.Sprintf("%s frozen at %d replicas on %s until the finding is fixed", w, f.Replicas, a.Target))
	}
	return strings.Join(parts, "; ")
}
