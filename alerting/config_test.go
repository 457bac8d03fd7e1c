package alerting

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/meridianhq/meridian"
)

const minimal = `apiVersion: meridian/v1
kind: Alerting
sinks:
  - name: am
    type: alertmanager
    url: http://127.0.0.1:9093
routes:
  - sinks: [am]
`

func TestParseMinimal(t *testing.T) {
	c, err := Parse(FileName, []byte(minimal))
	if err != nil {
		t.Fatalf("the minimal alerting.yaml of the docs must parse: %v", err)
	}
	want := []Route{{
		Sinks: []string{"am"}, GroupBy: []string{"commit", "target"},
		GroupWait: 30 * time.Second, GroupInterval: 5 * time.Minute, RepeatInterval: 4 * time.Hour,
		ID: "routes.0", Line: 8,
	}}
	if diff := cmp.Diff(want, c.Routes); diff != "" {
		t.Errorf("routes get Alertmanager's defaults (-want +got):\n%s", diff)
	}
	if len(c.Sinks) != 1 || c.Sinks[0].Type != SinkAlertmanager || c.Sinks[0].Line != 4 {
		t.Errorf("sinks = %+v", c.Sinks)
	}
	if c.Default != nil {
		t.Errorf("no default route was declared, got %+v", c.Default)
	}
}

func parseTestdata(t *testing.T) *Config {
	t.Helper()
	b, err := os.ReadFile("testdata/alerting.yaml")
	if err != nil {
		t.Fatal(err)
	}
	c, err := Parse(FileName, b)
	if err != nil {
		t.Fatalf("testdata/alerting.yaml: %v", err)
	}
	return c
}

func TestParseFull(t *testing.T) {
	c := parseTestdata(t)
	slack, _ := c.Sink("slack-platform")
	if slack.RateLimit == nil || slack.RateLimit.PerMinute != 30 || slack.RateLimit.Burst != 5 {
		t.Errorf("rate_limit = %+v", slack.RateLimit)
	}
	if l := slack.Limiter(); l == nil || l.Burst() != 5 || l.Limit() != 0.5 {
		t.Errorf("30 a minute with burst 5 is a limiter of 0.5/s, burst 5; got %v", l)
	}
	mail, _ := c.Sink("oncall-mail")
	if !mail.RequireTLS() || mail.Port != 587 || len(mail.To) != 2 {
		t.Errorf("email sink = %+v", mail)
	}
	r := c.Routes[1]
	if r.GroupWait != 10*time.Second || r.GroupInterval != time.Minute || r.RepeatInterval != 12*time.Hour || r.Line != 28 {
		t.Errorf("route 1 = %+v", r)
	}
	if c.Default == nil || c.Default.ID != "default" || !cmp.Equal(c.Default.Sinks, []string{"slack-platform"}) {
		t.Errorf("default_sinks becomes the default route, got %+v", c.Default)
	}
}

func TestMatch(t *testing.T) {
	c := parseTestdata(t)
	tag := meridian.Alert{Name: "MER-TAG-001", Severity: meridian.SeverityDeny, Source: meridian.AlertSourceFinding, Team: "web"}
	cases := map[string]struct {
		reason string
		c      *Config
		alert  meridian.Alert
		want   []string
	}{
		"continue": {
			reason: "the first route continues, so the next matching one takes the alert too",
			c:      c, alert: tag, want: []string{"routes.0", "routes.1"},
		},
		"glob misses": {
			reason: "MER-TAG-* does not match MER-ENC-001, and the third route wants drift",
			c:      c, alert: meridian.Alert{Name: "MER-ENC-001", Severity: meridian.SeverityDeny, Source: meridian.AlertSourceFinding},
			want: []string{"routes.0"},
		},
		"severity": {
			reason: "a warn does not match a route for deny",
			c:      c, alert: meridian.Alert{Name: "MER-TAG-002", Severity: meridian.SeverityWarn},
			want: []string{"routes.0"},
		},
		"all matchers": {
			reason: "sources and teams must both match",
			c:      c, alert: meridian.Alert{Name: "drift", Source: meridian.AlertSourceDrift, Team: "payments"},
			want: []string{"routes.0", "routes.2"},
		},
		"default": {
			reason: "with no route matching, the default takes the alert",
			c: &Config{
				Routes:  []Route{{ID: "routes.0", Teams: []string{"x"}, Sinks: []string{"a"}}},
				Default: &Route{ID: "default", Sinks: []string{"a"}},
			},
			alert: tag, want: []string{"default"},
		},
		"none": {
			reason: "no route and no default: nobody is told",
			c:      &Config{Routes: []Route{{ID: "routes.0", Owners: []string{"x"}}}},
			alert:  tag, want: nil,
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			var got []string
			for _, r := range tc.c.Match(tc.alert) {
				got = append(got, r.ID)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("%s (-want +got):\n%s", tc.reason, diff)
			}
		})
	}
}

func TestGroupKey(t *testing.T) {
	a := meridian.Alert{Commit: "abc123", Target: "aws-eu", Workload: "api", Team: "web", Name: "MER-TAG-001", Source: meridian.AlertSourceFinding}
	cases := map[string]struct {
		groupBy []string
		alert   meridian.Alert
		want    string
	}{
		"default":  {groupBy: defaultGroupBy, alert: a, want: "commit=abc123,target=aws-eu"},
		"all":      {groupBy: groupLabels, alert: a, want: "commit=abc123,target=aws-eu,workload=api,team=web,rule=MER-TAG-001,source=finding"},
		"empty":    {groupBy: []string{}, alert: a, want: ""},
		"escaping": {groupBy: []string{"workload", "team"}, alert: meridian.Alert{Workload: "a,team=b", Team: "c"}, want: "workload=a%2Cteam%3Db,team=c"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			r := Route{GroupBy: tc.groupBy}
			if got := r.GroupKey(tc.alert); got != tc.want {
				t.Errorf("GroupKey = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	cases := map[string]struct {
		reason string
		yaml   string
		want   []string
	}{
		"literal secrets": {
			reason: "secrets in Git are errors naming file:line, all reported together",
			yaml: `apiVersion: meridian/v1
kind: Alerting
sinks:
  - name: s
    type: slack
    url: https://hooks.slack.com/services/T0/B0/XXXX
  - name: w
    type: webhook
    url: https://hooks.slack.com/services/T0/B0/YYYY
    secret: hunter2
  - name: m
    type: email
    host: smtp.example.com
    from: a@example.com
    to: [b@example.com]
    username: u
    password: hunter2
routes:
  - sinks: [s]
`,
			want: []string{
				"alerting.yaml:6: sinks.0.url: a Slack webhook URL is a secret and must not be written in Git: name it with url_env or url_file",
				"alerting.yaml:9: sinks.1.url: a Slack webhook URL is a secret and must not be written in Git: name it with url_env or url_file",
				"alerting.yaml:10: sinks.1.secret: a secret must not be written in Git: name it with secret_env or secret_file",
				"alerting.yaml:17: sinks.2.password: a password must not be written in Git: name it with password_env or password_file",
			},
		},
		"strict": {
			reason: "unknown fields are errors, with a suggestion for a typo",
			yaml: `apiVersion: meridian/v1
kind: Alerting
sinks:
  - name: am
    type: alertmanager
    url: http://127.0.0.1:9093
routes:
  - sinks: [am]
    group_wiat: 10s
base_url: https://meridian.example.com
`,
			want: []string{
				`alerting.yaml:9: routes.0.group_wiat: unknown field (did you mean "group_wait"?)`,
				"alerting.yaml:10: base_url: unknown field",
			},
		},
		"references and values": {
			reason: "names unique, routes name existing sinks, durations positive, URLs absolute, email has from and to",
			yaml: `apiVersion: meridian/v1
kind: Alerting
sinks:
  - name: am
    type: alertmanager
    url: /api
  - name: am
    type: email
    host: smtp.example.com
  - name: x
    type: pager
routes:
  - sinks: [am, nope]
    group_wait: -5s
    group_by: [commit, colour]
    severities: [critical]
default_sinks: [am]
default:
  sinks: [am]
`,
			want: []string{
				`alerting.yaml:6: sinks.0.url: must be an absolute http(s) URL, got "/api"`,
				`alerting.yaml:7: sinks.1.name: duplicate sink name "am" (also sinks.0)`,
				"alerting.yaml:7: sinks.1.from: required: the sender address",
				"alerting.yaml:7: sinks.1.to: required: at least one recipient",
				`alerting.yaml:11: sinks.2.type: must be one of slack, webhook, alertmanager, email, got "pager"`,
				`alerting.yaml:13: routes.0.sinks.1: no sink named "nope"`,
				`alerting.yaml:14: routes.0.group_wait: must be a positive duration such as 4h or 30m, got "-5s"`,
				`alerting.yaml:15: routes.0.group_by.1: must be one of commit, target, workload, team, rule, source, got "colour"`,
				`alerting.yaml:16: routes.0.severities.0: must be deny, warn or info, got "critical"`,
				"alerting.yaml:17: default_sinks: set either default or default_sinks, not both",
			},
		},
		"too big": {
			reason: "the file is capped before it is parsed",
			yaml:   minimal + "# " + strings.Repeat("x", MaxConfigBytes),
			want:   []string{fmt.Sprintf("alerting.yaml: file is %d bytes, more than the %d-byte cap", len(minimal)+2+MaxConfigBytes, MaxConfigBytes)},
		},
		"wrong shapes": {
			reason: "a field of the wrong shape is reported once, not again as missing",
			yaml:   "apiVersion: meridian/v1\nkind: Alerting\nsinks: am\nroutes:\n  - sinks: am\n",
			want: []string{
				`alerting.yaml:3: sinks: must be a list, got "am"`,
				`alerting.yaml:5: routes.0.sinks: must be a list, got "am"`,
			},
		},
		"two documents": {
			reason: "alerting.yaml holds one document; a second one is not silently ignored",
			yaml:   minimal + "---\n" + minimal,
			want:   []string{"alerting.yaml:10: expected one Alerting document, found another"},
		},
		"kind": {
			reason: "the document must say what it is",
			yaml:   "apiVersion: meridian/v1\nkind: Settings\n",
			want:   []string{`alerting.yaml:2: kind: must be "Alerting", got "Settings"`},
		},
		"syntax": {
			reason: "a YAML syntax error names its line",
			yaml:   "apiVersion: meridian/v1\nkind: Alerting\nsinks: [\n",
			want:   []string{"alerting.yaml:3: YAML syntax error: did not find expected node content"},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			c, err := Parse(FileName, []byte(tc.yaml))
			if err == nil {
				t.Fatalf("%s: Parse accepted it: %+v", tc.reason, c)
			}
			var ce meridian.ConfigErrors
			if !errors.As(err, &ce) {
				t.Fatalf("error is %T, want meridian.ConfigErrors: %v", err, err)
			}
			var got []string
			for _, e := range ce {
				got = append(got, e.Error())
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("%s (-want +got):\n%s", tc.reason, diff)
			}
		})
	}
}
