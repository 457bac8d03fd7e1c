package alerting

import (
	"fmt"
	"net/url"
	"path"
	"slices"
	"strings"
	"time"

	"golang.org/x/time/rate"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/gitops/config"
)

// Kind is the kind of the alerting.yaml document.
const Kind = "Alerting"

// FileName is where the alerting config lives: the config repo's root,
// next to meridian.yaml. It is read from the tracked branch only.
const FileName = "alerting.yaml"

// MaxConfigBytes caps alerting.yaml; a larger file is an error, never read.
const MaxConfigBytes = 1 << 20

// Route defaults, as in Alertmanager.
const (
	DefaultGroupWait      = 30 * time.Second
	DefaultGroupInterval  = 5 * time.Minute
	DefaultRepeatInterval = 4 * time.Hour
)

// defaultGroupBy is a route's group_by unless set: one message per commit
// and target.
var defaultGroupBy = []string{GroupCommit, GroupTarget}

// Labels a route may group by.
const (
	GroupCommit   = "commit"
	GroupTarget   = "target"
	GroupWorkload = "workload"
	GroupTeam     = "team"
	GroupRule     = "rule"
	GroupSource   = "source"
)

// SinkType is the kind of receiver a sink delivers to.
type SinkType string

// Sink types.
const (
	SinkSlack        SinkType = "slack"
	SinkWebhook      SinkType = "webhook"
	SinkAlertmanager SinkType = "alertmanager"
	SinkEmail        SinkType = "email"
)

// Config is alerting.yaml, parsed, validated and defaulted.
type Config struct {
	// Sinks are the receivers, by unique name.
	Sinks []SinkConfig `json:"sinks"`
	// Routes are tried in order; the first that matches takes the alert,
	// and the next ones too while the matched route has continue: true.
	Routes []Route `json:"routes"`
	// Default takes an alert no route matched. DefaultSinks is shorthand
	// for a default route with only sinks; Parse turns it into Default.
	Default      *Route   `json:"default,omitempty"`
	DefaultSinks []string `json:"default_sinks,omitempty"`
	// Origin says where each field was declared.
	Origin meridian.Origin `json:"-"`
}

// SinkConfig is one entry of sinks:. Which fields apply depends on Type;
// Parse rejects the others. Secrets are named by environment variable or
// file, never written in Git: Parse rejects a literal secret.
type SinkConfig struct {
	Name string   `json:"name"`
	Type SinkType `json:"type"`
	// URL is the alertmanager's base URL or the webhook's URL (neither is
	// a secret). A Slack webhook URL is a secret: use URLEnv or URLFile.
	URL     string `json:"url,omitempty"`
	URLEnv  string `json:"url_env,omitempty"`
	URLFile string `json:"url_file,omitempty"`
	// SecretEnv or SecretFile hold the webhook's HMAC key. Secret exists
	// only so that a literal secret is a clear error, not "unknown field".
	Secret     string `json:"secret,omitempty"`
	SecretEnv  string `json:"secret_env,omitempty"`
	SecretFile string `json:"secret_file,omitempty"`
	// E-mail over SMTP.
	Host         string   `json:"host,omitempty"`
	Port         int      `json:"port,omitempty"`
	From         string   `json:"from,omitempty"`
	To           []string `json:"to,omitempty"`
	Username     string   `json:"username,omitempty"`
	Password     string   `json:"password,omitempty"`
	PasswordEnv  string   `json:"password_env,omitempty"`
	PasswordFile string   `json:"password_file,omitempty"`
	// StartTLS requires STARTTLS (the default); false allows plain SMTP.
	StartTLS *bool `json:"starttls,omitempty"`
	// RateLimit caps how often the sink is sent to; nil means no cap.
	RateLimit *RateLimit `json:"rate_limit,omitempty"`
	// Line is where the sink is declared.
	Line int `json:"-"`
}

// RequireTLS reports whether an e-mail sink must use STARTTLS.
func (s SinkConfig) RequireTLS() bool { return s.StartTLS == nil || *s.StartTLS }

// Limiter returns a token bucket for the sink's rate limit, or nil when it
// has none. The dispatcher waits on it before every send.
func (s SinkConfig) Limiter() *rate.Limiter {
	if s.RateLimit == nil {
		return nil
	}
	burst := s.RateLimit.Burst
	if burst <= 0 {
		burst = 1
	}
	return rate.NewLimiter(rate.Every(time.Minute/time.Duration(s.RateLimit.PerMinute)), burst)
}

// RateLimit is a sink's token bucket: PerMinute messages a minute on
// average, up to Burst at once (default 1).
type RateLimit struct {
	PerMinute int `json:"per_minute"`
	Burst     int `json:"burst,omitempty"`
}

// Route takes the alerts its matchers match to its sinks. Within one
// matcher list any entry may match; all non-empty lists must match. A
// route without matchers matches every alert.
type Route struct {
	Sinks []string `json:"sinks"`
	// Rules are alert names (rule IDs such as MER-TAG-001, or kinds such
	// as drift); path.Match globs such as MER-TAG-* are allowed.
	Rules      []string               `json:"rules,omitempty"`
	Severities []meridian.Severity    `json:"severities,omitempty"`
	Sources    []meridian.AlertSource `json:"sources,omitempty"`
	Owners     []string               `json:"owners,omitempty"`
	Teams      []string               `json:"teams,omitempty"`
	// Continue keeps matching the next routes after this one.
	Continue bool `json:"continue,omitempty"`
	// GroupBy are the labels (commit, target, workload, team, rule,
	// source) whose values put alerts in the same message.
	GroupBy []string `json:"group_by,omitempty"`
	// GroupWait is how long a new group waits for more alerts before its
	// first message; GroupInterval how long before a message about changes
	// to a group already notified; RepeatInterval how long before alerts
	// that still fire are sent again.
	GroupWait      time.Duration `json:"group_wait,omitempty"`
	GroupInterval  time.Duration `json:"group_interval,omitempty"`
	RepeatInterval time.Duration `json:"repeat_interval,omitempty"`
	// ID names the route for state and messages: "routes.0", "routes.1",
	// ..., or "default". It changes when routes are reordered.
	ID string `json:"-"`
	// Line is where the route is declared.
	Line int `json:"-"`
}

// Parse reads alerting.yaml. file names it in errors (normally FileName).
// Every problem is reported, each as "file:line: field: message"; the
// error is then a meridian.ConfigErrors.
func Parse(file string, data []byte) (*Config, error) {
	if len(data) > MaxConfigBytes {
		return nil, meridian.ConfigErrors{{File: file, Message: fmt.Sprintf("file is %d bytes, more than the %d-byte cap", len(data), MaxConfigBytes)}}
	}
	var c Config
	origin, errs := config.DecodeDocument(file, data, Kind, &c)
	c.Origin = origin
	// Check what decoded, so that all problems are reported at once,
	// unless the document itself is unusable (syntax, kind).
	if slices.ContainsFunc(errs, func(e meridian.ConfigError) bool {
		return e.Field == "" || e.Field == "apiVersion" || e.Field == "kind"
	}) {
		return nil, errs
	}
	v := validator{c: &c, errs: errs}
	for _, e := range errs {
		v.bad = append(v.bad, e.Field)
	}
	v.validate()
	if len(v.errs) > 0 {
		slices.SortStableFunc(v.errs, func(a, b meridian.ConfigError) int { return a.Line - b.Line })
		return nil, v.errs
	}
	return &c, nil
}

// Sink returns the sink with the given name.
func (c *Config) Sink(name string) (*SinkConfig, bool) {
	for i := range c.Sinks {
		if c.Sinks[i].Name == name {
			return &c.Sinks[i], true
		}
	}
	return nil, false
}

// Match returns the routes that take a, in order: the first matching
// route and, while a matched route has continue: true, the later ones that
// match; the default route when none matches; nil when there is no
// default either.
func (c *Config) Match(a meridian.Alert) []*Route {
	var out []*Route
	for i := range c.Routes {
		r := &c.Routes[i]
		if !r.Matches(a) {
			continue
		}
		out = append(out, r)
		if !r.Continue {
			break
		}
	}
	if len(out) == 0 && c.Default != nil {
		out = append(out, c.Default)
	}
	return out
}

// Matches reports whether r's matchers all match a.
func (r *Route) Matches(a meridian.Alert) bool {
	if len(r.Rules) > 0 && !slices.ContainsFunc(r.Rules, func(g string) bool {
		ok, err := path.Match(g, a.Name)
		return err == nil && ok
	}) {
		return false
	}
	if len(r.Severities) > 0 && !slices.Contains(r.Severities, a.Severity) {
		return false
	}
	if len(r.Sources) > 0 && !slices.Contains(r.Sources, a.Source) {
		return false
	}
	if len(r.Owners) > 0 && !slices.Contains(r.Owners, a.Owner) {
		return false
	}
	if len(r.Teams) > 0 && !slices.Contains(r.Teams, a.Team) {
		return false
	}
	return true
}

// GroupKey returns the key of a's group within r: its group_by labels and
// their values in group_by order, e.g. "commit=abc123,target=aws-eu".
// Commas and equals signs in values are escaped, so distinct groups never
// share a key.
func (r *Route) GroupKey(a meridian.Alert) string {
	var b strings.Builder
	for i, l := range r.GroupBy {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(l)
		b.WriteByte('=')
		b.WriteString(url.QueryEscape(groupValue(l, a)))
	}
	return b.String()
}

func groupValue(label string, a meridian.Alert) string {
	switch label {
	case GroupCommit:
		return a.Commit
	case GroupTarget:
		return a.Target
	case GroupWorkload:
		return a.Workload
	case GroupTeam:
		return a.Team
	case GroupRule:
		return a.Name
	case GroupSource:
		return string(a.Source)
	}
	return ""
}
