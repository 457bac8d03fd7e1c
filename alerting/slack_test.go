package alerting

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"

	"github.com/meridianhq/meridian"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// shape describes a JSON value's structure: object keys with the shapes of
// their values, arrays by their elements' shapes, scalars by type. Block
// types are kept, since they are structure too.
func shape(v any) string {
	switch v := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		parts := make([]string, len(keys))
		for i, k := range keys {
			if k == "type" {
				parts[i] = fmt.Sprintf("type=%v", v[k])
				continue
			}
			parts[i] = k + ":" + shape(v[k])
		}
		return "{" + strings.Join(parts, ",") + "}"
	case []any:
		var elems []string
		for _, e := range v {
			if s := shape(e); !slices.Contains(elems, s) {
				elems = append(elems, s)
			}
		}
		sort.Strings(elems)
		return "[" + strings.Join(elems, "|") + "]"
	case string:
		return "string"
	}
	return fmt.Sprintf("%T", v)
}

func decodeJSON(t *testing.T, b []byte) map[string]any {
	t.Helper()
	var v map[string]any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

func sampleMessage() Message {
	starts := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	alerts := amAlerts(starts)
	alerts[0].Summary = "api lacks the cost-center tag <!channel> & <https://evil.example|click>"
	alerts[1].State, alerts[1].EndsAt = meridian.AlertResolved, starts.Add(time.Hour)
	return Message{Key: "key-1", Sink: "slack", Group: "commit=abc123,target=aws-eu", Alerts: alerts, Created: starts}
}

func TestSlackBodyStructureMatchesFixture(t *testing.T) {
	fixture := decodeJSON(t, mustRead(t, "testdata/slack/incoming-webhook.blocks.json"))
	body, err := json.Marshal(SlackBody(sampleMessage(), "https://meridian.example.com"))
	if err != nil {
		t.Fatal(err)
	}
	got := decodeJSON(t, body)

	var topWant, topGot []string
	for k := range fixture {
		topWant = append(topWant, k)
	}
	for k := range got {
		topGot = append(topGot, k)
	}
	sort.Strings(topWant)
	sort.Strings(topGot)
	if diff := cmp.Diff(topWant, topGot); diff != "" {
		t.Errorf("top-level keys differ from the fixture (-want +got):\n%s", diff)
	}

	// Every key of our section blocks has the shape a fixture section
	// gives it (text: a mrkdwn text object; fields: mrkdwn text objects).
	sectionKeys := map[string][]string{}
	for _, b := range fixture["blocks"].([]any) {
		b := b.(map[string]any)
		if b["type"] != "section" {
			continue
		}
		for k, v := range b {
			sectionKeys[k] = append(sectionKeys[k], shape(v))
		}
	}
	types := map[string]int{}
	for _, b := range got["blocks"].([]any) {
		b := b.(map[string]any)
		typ, _ := b["type"].(string)
		types[typ]++
		switch typ {
		case "section":
			for k, v := range b {
				if !slices.Contains(sectionKeys[k], shape(v)) {
					t.Errorf("section key %q has shape %s; the fixture's sections have %v", k, shape(v), sectionKeys[k])
				}
			}
		case "header":
			if s := shape(b); s != "{text:{text:string,type=plain_text},type=header}" {
				t.Errorf("header block shape %s: a header holds one plain_text", s)
			}
		case "context":
			if s := shape(b); s != "{elements:[{text:string,type=mrkdwn}],type=context}" {
				t.Errorf("context block shape %s", s)
			}
		default:
			t.Errorf("unexpected block type %q", typ)
		}
	}
	if want := map[string]int{"header": 1, "section": 2, "context": 1}; !cmp.Equal(want, types) {
		t.Errorf("blocks %v, want a header, a section per alert and a context", types)
	}

	golden := "testdata/slack/message.golden.json"
	pretty, _ := json.MarshalIndent(got, "", "  ")
	if *update {
		if err := os.WriteFile(golden, append(pretty, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if diff := cmp.Diff(string(mustRead(t, golden)), string(pretty)+"\n"); diff != "" {
		t.Errorf("Slack body differs from %s (run with -update to accept) (-want +got):\n%s", golden, diff)
	}
}

func mustRead(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestSlackBodyContent(t *testing.T) {
	m := sampleMessage()
	body := SlackBody(m, "")
	all, _ := json.Marshal(body)
	text := string(all)
	for _, want := range []string{
		"1 firing, 1 resolved",
		"api frozen at 3 replicas on aws-eu until the finding is fixed",
		"\\u003chttps://meridian.example.com/findings/fp1|Open in Meridian\\u003e",
		"workloads/api.yaml:14",
		"add tags.cost-center",
		":large_green_circle: *RESOLVED*",
		"key `key-1`",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("body lacks %q:\n%s", want, text)
		}
	}
	sec := body.Blocks[1].Text.Text
	if strings.Contains(sec, "<!channel>") || strings.Contains(sec, "<https://evil") {
		t.Errorf("alert text was not escaped: %s", sec)
	}
	if !strings.Contains(sec, "&lt;!channel&gt; &amp; &lt;https://evil.example|click&gt;") {
		t.Errorf("alert text escaped wrongly: %s", sec)
	}
}

func TestSlackBodyLimits(t *testing.T) {
	base := amAlerts(time.Unix(1_700_000_000, 0))[0]
	base.Summary = strings.Repeat("é<", 2000)
	var alerts []meridian.Alert
	for i := range 120 {
		a := base
		a.Name = fmt.Sprintf("MER-TAG-%03d", i)
		alerts = append(alerts, a)
	}
	body := SlackBody(Message{Key: "k", Group: strings.Repeat("g", 5000), Alerts: alerts}, "")
	if len(body.Blocks) != slackMaxBlocks {
		t.Errorf("%d blocks, want Slack's cap of %d", len(body.Blocks), slackMaxBlocks)
	}
	more := body.Blocks[len(body.Blocks)-2].Text.Text
	if want := fmt.Sprintf("+%d more", 120-(slackMaxBlocks-3)); !strings.Contains(more, want) {
		t.Errorf("the block before the context says %q, want %q", more, want)
	}
	for i, b := range body.Blocks {
		texts := append([]*SlackText{b.Text}, append(b.Fields, b.Elements...)...)
		for _, tx := range texts {
			if tx == nil {
				continue
			}
			if len(tx.Text) > slackMaxText || !utf8.ValidString(tx.Text) {
				t.Errorf("block %d: text of %d bytes (valid UTF-8: %v)", i, len(tx.Text), utf8.ValidString(tx.Text))
			}
			if strings.Contains(tx.Text, "<") && !strings.Contains(tx.Text, "|") {
				t.Errorf("block %d: unescaped <", i)
			}
		}
	}
	if len(body.Blocks[0].Text.Text) > slackMaxHeaderText {
		t.Errorf("header of %d bytes", len(body.Blocks[0].Text.Text))
	}
}

func TestSlackSend(t *testing.T) {
	srv, got := recorder(t, 200)
	snd := NewSlack("s", srv.URL+"/services/T/B/X", SenderOptions{})
	if err := snd.Send(context.Background(), sampleMessage()); err != nil {
		t.Fatal(err)
	}
	reqs := got()
	if len(reqs) != 1 || reqs[0].header.Get(HeaderIdempotency) != "key-1" || reqs[0].header.Get("Content-Type") != "application/json" {
		t.Fatalf("requests %+v", reqs)
	}
	var m SlackMessage
	if err := json.Unmarshal(reqs[0].body, &m); err != nil || len(m.Blocks) != 4 {
		t.Errorf("posted body: %v %s", err, reqs[0].body)
	}
}
