package alerting

import (
	"fmt"
	"net/mail"
	"path"
	"regexp"
	"slices"
	"strings"

	"github.com/meridianhq/meridian"
)

// validator checks a decoded Config and fills in its defaults.
type validator struct {
	c    *Config
	errs meridian.ConfigErrors
	// bad are the fields that failed to decode: checks of them, their
	// parents and children would only repeat the problem.
	bad []string
}

func (v *validator) add(field, format string, args ...any) {
	for _, b := range v.bad {
		if related(field, b) {
			return
		}
	}
	v.errs = append(v.errs, meridian.ConfigError{
		File: v.c.Origin.File, Line: v.c.Origin.LineOf(field), Field: field, Message: fmt.Sprintf(format, args...),
	})
}

// related reports whether dotted paths a and b are equal or one holds
// the other.
func related(a, b string) bool {
	return a == b || strings.HasPrefix(a, b+".") || strings.HasPrefix(b, a+".")
}

var sinkName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$`)

var groupLabels = []string{GroupCommit, GroupTarget, GroupWorkload, GroupTeam, GroupRule, GroupSource}

func (v *validator) validate() {
	c := v.c
	if len(c.Sinks) == 0 {
		v.add("sinks", "required: at least one sink")
	}
	seen := map[string]string{}
	for i := range c.Sinks {
		s := &c.Sinks[i]
		f := fmt.Sprintf("sinks.%d", i)
		s.Line = c.Origin.LineOf(f)
		switch {
		case s.Name == "":
			v.add(f+".name", "required")
		case !sinkName.MatchString(s.Name):
			v.add(f+".name", "must be letters, digits, '.', '_' or '-' (at most 63), got %q", s.Name)
		case seen[s.Name] != "":
			v.add(f+".name", "duplicate sink name %q (also %s)", s.Name, seen[s.Name])
		default:
			seen[s.Name] = f
		}
		v.sink(f, s)
	}
	for i := range c.Routes {
		r := &c.Routes[i]
		r.ID = fmt.Sprintf("routes.%d", i)
		v.route(r.ID, r)
	}
	switch {
	case c.Default != nil && len(c.DefaultSinks) > 0:
		v.add("default_sinks", "set either default or default_sinks, not both")
	case len(c.DefaultSinks) > 0:
		c.Default = &Route{Sinks: c.DefaultSinks}
		v.route("default_sinks", c.Default)
	case c.Default != nil:
		v.route("default", c.Default)
		if c.Default.hasMatchers() || c.Default.Continue {
			v.add("default", "takes the alerts no route matched: it has only sinks and grouping, no matchers or continue")
		}
	}
	if c.Default != nil {
		c.Default.ID = "default"
	}
}

func (r *Route) hasMatchers() bool {
	return len(r.Rules)+len(r.Severities)+len(r.Sources)+len(r.Owners)+len(r.Teams) > 0
}

// notFor lists the fields set on s that its type does not use.
func notFor(s *SinkConfig) []string {
	set := map[string]bool{
		"url": s.URL != "", "url_env": s.URLEnv != "", "url_file": s.URLFile != "",
		"secret_env": s.SecretEnv != "", "secret_file": s.SecretFile != "",
		"host": s.Host != "", "port": s.Port != 0, "from": s.From != "", "to": len(s.To) > 0,
		"username": s.Username != "", "password_env": s.PasswordEnv != "", "password_file": s.PasswordFile != "",
		"starttls": s.StartTLS != nil,
	}
	uses := map[SinkType][]string{
		SinkSlack:        {"url", "url_env", "url_file"},
		SinkWebhook:      {"url", "url_env", "url_file", "secret_env", "secret_file"},
		SinkAlertmanager: {"url"},
		SinkEmail:        {"host", "port", "from", "to", "username", "password_env", "password_file", "starttls"},
	}[s.Type]
	var out []string
	for k, on := range set {
		if on && !slices.Contains(uses, k) {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}

func (v *validator) sink(f string, s *SinkConfig) {
	switch s.Type {
	case SinkSlack, SinkWebhook, SinkAlertmanager, SinkEmail:
	case "":
		v.add(f+".type", "required: one of slack, webhook, alertmanager, email")
		return
	default:
		v.add(f+".type", "must be one of slack, webhook, alertmanager, email, got %q", s.Type)
		return
	}
	// Literal secrets first: the message must say why, not "not used".
	if s.Secret != "" {
		v.add(f+".secret", "a secret must not be written in Git: name it with secret_env or secret_file")
	}
	if s.Password != "" {
		v.add(f+".password", "a password must not be written in Git: name it with password_env or password_file")
	}
	for _, k := range notFor(s) {
		if k == "url" && s.Type == SinkSlack {
			continue // reported below, with the reason
		}
		v.add(f+"."+k, "not used by a %s sink", s.Type)
	}
	if s.RateLimit != nil {
		if s.RateLimit.PerMinute <= 0 || s.RateLimit.PerMinute > 6000 {
			v.add(f+".rate_limit.per_minute", "must be between 1 and 6000, got %d", s.RateLimit.PerMinute)
		}
		if s.RateLimit.Burst < 0 || s.RateLimit.Burst > 1000 {
			v.add(f+".rate_limit.burst", "must be between 0 and 1000, got %d", s.RateLimit.Burst)
		}
	}
	switch s.Type {
	case SinkSlack:
		if s.URL != "" {
			v.add(f+".url", "a Slack webhook URL is a secret and must not be written in Git: name it with url_env or url_file")
		}
		v.oneOf(f, "url_env", s.URLEnv, "url_file", s.URLFile, s.URL != "")
	case SinkWebhook:
		switch {
		case s.URL != "" && (s.URLEnv != "" || s.URLFile != ""):
			v.add(f+".url", "set one of url, url_env, url_file")
		case s.URL != "":
			v.url(f+".url", s.URL)
		default:
			v.oneOf(f, "url_env", s.URLEnv, "url_file", s.URLFile, false)
		}
		v.oneOf(f, "secret_env", s.SecretEnv, "secret_file", s.SecretFile, s.Secret != "")
	case SinkAlertmanager:
		if s.URL == "" {
			v.add(f+".url", "required: Alertmanager's base URL, e.g. http://127.0.0.1:9093")
		} else {
			v.url(f+".url", s.URL)
		}
	case SinkEmail:
		v.email(f, s)
	}
}

// oneOf requires exactly one of an env var and a file; quiet is true when
// a more telling error was already reported.
func (v *validator) oneOf(f, envField, env, fileField, file string, quiet bool) {
	switch {
	case env != "" && file != "":
		v.add(f+"."+envField, "set %s or %s, not both", envField, fileField)
	case env == "" && file == "" && !quiet:
		v.add(f, "required: %s (an environment variable) or %s (a file) holding the secret", envField, fileField)
	}
}

func (v *validator) url(field, u string) {
	if err := checkHTTPURL(u); err != nil {
		v.add(field, "%v, got %q", err, u)
		return
	}
	if strings.Contains(strings.ToLower(u), "hooks.slack.com") {
		v.add(field, "a Slack webhook URL is a secret and must not be written in Git: name it with url_env or url_file")
	}
}

func (v *validator) email(f string, s *SinkConfig) {
	if s.Host == "" {
		v.add(f+".host", "required: the SMTP server")
	} else if strings.ContainsAny(s.Host, " /:@\r\n") {
		v.add(f+".host", "must be a host name or address, got %q", s.Host)
	}
	if s.Port < 0 || s.Port > 65535 {
		v.add(f+".port", "must be between 1 and 65535, got %d", s.Port)
	}
	if s.From == "" {
		v.add(f+".from", "required: the sender address")
	} else if a, err := mail.ParseAddress(s.From); err != nil || a.Name != "" {
		v.add(f+".from", "must be a bare e-mail address, got %q", s.From)
	}
	if len(s.To) == 0 {
		v.add(f+".to", "required: at least one recipient")
	}
	for i, to := range s.To {
		if a, err := mail.ParseAddress(to); err != nil || a.Name != "" {
			v.add(fmt.Sprintf("%s.to.%d", f, i), "must be a bare e-mail address, got %q", to)
		}
	}
	if s.PasswordEnv != "" && s.PasswordFile != "" {
		v.add(f+".password_env", "set password_env or password_file, not both")
	}
	hasPW := s.PasswordEnv != "" || s.PasswordFile != ""
	if s.Username != "" && !hasPW && s.Password == "" {
		v.add(f+".username", "needs password_env or password_file")
	}
	if s.Username == "" && hasPW {
		v.add(f+".username", "required with a password")
	}
}

func (v *validator) route(f string, r *Route) {
	if len(r.Sinks) == 0 {
		v.add(f+".sinks", "required: at least one sink")
	}
	for i, s := range r.Sinks {
		if _, ok := v.c.Sink(s); !ok {
			v.add(fmt.Sprintf("%s.sinks.%d", f, i), "no sink named %q", s)
		}
	}
	for i, g := range r.Rules {
		if _, err := path.Match(g, ""); err != nil || g == "" {
			v.add(fmt.Sprintf("%s.rules.%d", f, i), "must be a rule ID or glob such as MER-TAG-*, got %q", g)
		}
	}
	for i, s := range r.Severities {
		if !s.Valid() {
			v.add(fmt.Sprintf("%s.severities.%d", f, i), "must be deny, warn or info, got %q", s)
		}
	}
	for i, s := range r.Sources {
		if !s.Valid() {
			v.add(fmt.Sprintf("%s.sources.%d", f, i), "unknown alert source %q", s)
		}
	}
	for i, l := range r.GroupBy {
		switch {
		case !slices.Contains(groupLabels, l):
			v.add(fmt.Sprintf("%s.group_by.%d", f, i), "must be one of %s, got %q", strings.Join(groupLabels, ", "), l)
		case slices.Index(r.GroupBy, l) < i:
			v.add(fmt.Sprintf("%s.group_by.%d", f, i), "%q listed twice", l)
		}
	}
	if r.GroupBy == nil {
		r.GroupBy = slices.Clone(defaultGroupBy)
	}
	if r.GroupWait == 0 {
		r.GroupWait = DefaultGroupWait
	}
	if r.GroupInterval == 0 {
		r.GroupInterval = DefaultGroupInterval
	}
	if r.RepeatInterval == 0 {
		r.RepeatInterval = DefaultRepeatInterval
	}
	r.Line = v.c.Origin.LineOf(f)
}
