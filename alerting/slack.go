package alerting

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/meridianhq/meridian"
)

// Slack's Block Kit limits (api.slack.com/reference/block-kit).
const (
	slackMaxBlocks     = 50
	slackMaxText       = 3000 // a section's or context element's text
	slackMaxFieldText  = 2000 // one section field
	slackMaxHeaderText = 150
	slackMaxFallback   = 4000 // the top-level text
)

// SlackMessage is an incoming-webhook body: a fallback text for
// notifications and Block Kit blocks for the channel.
type SlackMessage struct {
	Text   string       `json:"text"`
	Blocks []SlackBlock `json:"blocks"`
}

// SlackBlock is a header, section or context block.
type SlackBlock struct {
	Type     string       `json:"type"`
	Text     *SlackText   `json:"text,omitempty"`
	Fields   []*SlackText `json:"fields,omitempty"`
	Elements []*SlackText `json:"elements,omitempty"`
}

// SlackText is a text object: mrkdwn or plain_text.
type SlackText struct {
	Type string `json:"type"`
	Text string `json:"text"`
}

type slack struct {
	p       *poster
	baseURL string
}

// NewSlack returns a Sender posting Block Kit messages to a Slack incoming
// webhook. The URL is a secret: errors name only its host.
func NewSlack(sink, webhookURL string, opts SenderOptions) Sender {
	opts = opts.withDefaults()
	return &slack{p: newPoster(sink, webhookURL, redactURL(webhookURL), opts), baseURL: opts.BaseURL}
}

func (s *slack) Send(ctx context.Context, m Message) error {
	if !hasSendable(m) {
		return nil // only silenced alerts: nothing to show
	}
	body, err := json.Marshal(SlackBody(m, s.baseURL))
	if err != nil {
		return fmt.Errorf("sink %s: encode message: %w: %w", s.p.sink, ErrPermanent, err)
	}
	h := http.Header{}
	h.Set(HeaderIdempotency, m.Key)
	return s.p.post(ctx, body, h)
}

// SlackBody builds the message for m: a header counting firing and
// resolved alerts, one section per alert (firing first), a "+N more"
// section when they exceed Slack's 50 blocks, and a context line with the
// group, the idempotency key and a link to baseURL's alerts page when set.
func SlackBody(m Message, baseURL string) SlackMessage {
	firing, resolved := count(m.Alerts)
	var alerts []meridian.Alert
	for _, st := range []meridian.AlertState{meridian.AlertFiring, meridian.AlertResolved} {
		for _, a := range m.Alerts {
			if a.State == st {
				alerts = append(alerts, a)
			}
		}
	}
	title := slackTitle(firing, resolved, m)
	msg := SlackMessage{
		Text: clip(slackEscape(title+": "+slackFallback(alerts)), slackMaxFallback),
		Blocks: []SlackBlock{{
			Type: "header",
			Text: &SlackText{Type: "plain_text", Text: clip(title, slackMaxHeaderText)},
		}},
	}
	room := slackMaxBlocks - 2 // the header and the context
	shown := alerts
	if len(alerts) > room {
		shown = alerts[:room-1]
	}
	for _, a := range shown {
		msg.Blocks = append(msg.Blocks, slackSection(a))
	}
	if more := len(alerts) - len(shown); more > 0 {
		msg.Blocks = append(msg.Blocks, SlackBlock{
			Type: "section",
			Text: &SlackText{Type: "mrkdwn", Text: fmt.Sprintf("_+%d more alerts in this group_", more)},
		})
	}
	ctxText := "Group `" + slackEscape(m.Group) + "` · key `" + slackEscape(m.Key) + "`"
	if link := slackLink(baseURL+"/alerts", "all alerts"); baseURL != "" && link != "" {
		ctxText += " · " + link
	}
	msg.Blocks = append(msg.Blocks, SlackBlock{
		Type:     "context",
		Elements: []*SlackText{{Type: "mrkdwn", Text: clip(ctxText, slackMaxText)}},
	})
	return msg
}

func slackTitle(firing, resolved int, m Message) string {
	var b strings.Builder
	if m.Test {
		b.WriteString("[TEST] ")
	}
	switch {
	case firing > 0 && resolved > 0:
		fmt.Fprintf(&b, "%d firing, %d resolved", firing, resolved)
	case firing > 0:
		fmt.Fprintf(&b, "%d firing", firing)
	default:
		fmt.Fprintf(&b, "%d resolved", resolved)
	}
	if m.Repeat {
		b.WriteString(" (still firing)")
	}
	b.WriteString(" · Meridian alerts")
	return b.String()
}

func slackFallback(alerts []meridian.Alert) string {
	names := make([]string, 0, len(alerts))
	for _, a := range alerts {
		names = append(names, a.Name+" on "+a.Target)
	}
	return strings.Join(names, ", ")
}

func slackSection(a meridian.Alert) SlackBlock {
	state := ":red_circle: *FIRING*"
	if a.State == meridian.AlertResolved {
		state = ":large_green_circle: *RESOLVED*"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s `%s` %s", state, slackEscape(a.Name), slackEscape(a.Summary))
	if a.Remediation != "" && a.State == meridian.AlertFiring {
		b.WriteString("\n*Remediation:* " + slackEscape(a.Remediation))
	}
	if f := frozenText(a); f != "" {
		b.WriteString("\n:snowflake: " + slackEscape(f))
	}
	if link := slackLink(a.URL, "Open in Meridian"); link != "" {
		b.WriteString("\n" + link)
	}
	fields := []*SlackText{
		slackField("Severity", string(a.Severity)),
		slackField("Target", a.Target),
		slackField("Team", team(a)),
	}
	if a.Workload != "" {
		fields = append(fields, slackField("Workload", a.Workload))
	}
	if fl := fileLine(a); fl != "" {
		fields = append(fields, slackField("File", fl))
	}
	return SlackBlock{Type: "section", Text: &SlackText{Type: "mrkdwn", Text: clip(b.String(), slackMaxText)}, Fields: fields}
}

func slackField(name, value string) *SlackText {
	return &SlackText{Type: "mrkdwn", Text: clip("*"+name+"*\n"+slackEscape(value), slackMaxFieldText)}
}

// slackEscape escapes the three characters Slack's mrkdwn gives meaning
// to, so that alert text cannot forge links or mentions.
func slackEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

// slackLink is <url|text> for an absolute http(s) URL, else "".
func slackLink(raw, text string) string {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return ""
	}
	s := strings.NewReplacer("|", "%7C", "<", "%3C", ">", "%3E", "&", "&amp;").Replace(u.String())
	return "<" + s + "|" + slackEscape(text) + ">"
}

// clip shortens s to at most n bytes, on a rune boundary and never inside
// an escape such as &amp;, ending in "…".
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	const ell = "…"
	cut := n - len(ell)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	if amp := strings.LastIndexByte(s[:cut], '&'); amp >= 0 && !strings.Contains(s[amp:cut], ";") {
		cut = amp
	}
	return s[:cut] + ell
}
