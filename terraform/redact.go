package terraform

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"

	tfjson "github.com/hashicorp/terraform-json"
	"github.com/hashicorp/terraform-json/sanitize"
)

// Redacted replaces every sensitive value.
const Redacted = "(sensitive value)"

// Redact returns a copy of p with every sensitive value replaced by
// Redacted: resource changes and drift (by their before/after_sensitive
// masks), planned values and prior state (by the same masks and by each
// resource's own sensitive_values), outputs marked sensitive, and root
// variables declared sensitive. Terraform does not carry the mark
// everywhere a value flows (terraform_data copies a sensitive input into an
// unmarked output), so every string that is marked anywhere, and is at
// least MinSecretLen long, is then also scrubbed wherever else it appears.
// Only redacted plans leave this package.
func Redact(p *tfjson.Plan) (*tfjson.Plan, error) {
	if p == nil {
		return nil, fmt.Errorf("redact: nil plan")
	}
	secrets := Secrets(p)
	if p.Config == nil {
		p.Config = &tfjson.Config{}
	}
	if p.Config.RootModule == nil {
		p.Config.RootModule = &tfjson.ConfigModule{}
	}
	if p.PlannedValues == nil {
		p.PlannedValues = &tfjson.StateValues{}
	}
	if p.PlannedValues.RootModule == nil {
		p.PlannedValues.RootModule = &tfjson.StateModule{}
	}
	if p.PriorState != nil && p.PriorState.Values == nil {
		p.PriorState.Values = &tfjson.StateValues{RootModule: &tfjson.StateModule{}}
	}
	if p.PriorState != nil && p.PriorState.Values.RootModule == nil {
		p.PriorState.Values.RootModule = &tfjson.StateModule{}
	}
	out, err := sanitize.SanitizePlanWithValue(p, Redacted)
	if err != nil {
		return nil, fmt.Errorf("redact plan: %w", err)
	}
	// The sanitizer leaves drift alone; refresh-only plans are all drift.
	for i, rc := range out.ResourceDrift {
		if rc == nil || rc.Change == nil {
			continue
		}
		c, err := sanitize.SanitizeChange(rc.Change, Redacted)
		if err != nil {
			return nil, fmt.Errorf("redact drift %s: %w", rc.Address, err)
		}
		out.ResourceDrift[i].Change = c
	}
	redactModule(out.PlannedValues.RootModule)
	if out.PriorState != nil {
		redactModule(out.PriorState.Values.RootModule)
	}
	if len(secrets) == 0 {
		return out, nil
	}
	b, err := json.Marshal(out)
	if err != nil {
		return nil, fmt.Errorf("redact plan: %w", err)
	}
	var doc any
	if err := json.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("redact plan: %w", err)
	}
	if b, err = json.Marshal(scrub(doc, secrets)); err != nil {
		return nil, fmt.Errorf("redact plan: %w", err)
	}
	var scrubbed tfjson.Plan
	if err := json.Unmarshal(b, &scrubbed); err != nil {
		return nil, fmt.Errorf("redact plan: %w", err)
	}
	return &scrubbed, nil
}

// MinSecretLen is the shortest marked string scrubbed wherever it appears;
// shorter ones (a "1", a "true") would mangle unrelated values, and are
// redacted only where Terraform marks them.
const MinSecretLen = 6

// Secrets returns the strings p marks sensitive anywhere: values of
// sensitive root variables and outputs, and attributes under a sensitive
// mark in resource changes, drift and state.
func Secrets(p *tfjson.Plan) []string {
	set := map[string]bool{}
	add := func(v any, mask any) { collect(v, mask, set) }
	if p.Config != nil && p.Config.RootModule != nil {
		for name, v := range p.Config.RootModule.Variables {
			if pv := p.Variables[name]; v != nil && v.Sensitive && pv != nil {
				add(pv.Value, true)
			}
		}
	}
	for _, rcs := range [][]*tfjson.ResourceChange{p.ResourceChanges, p.ResourceDrift} {
		for _, rc := range rcs {
			if rc != nil && rc.Change != nil {
				add(rc.Change.Before, rc.Change.BeforeSensitive)
				add(rc.Change.After, rc.Change.AfterSensitive)
			}
		}
	}
	for _, c := range p.OutputChanges {
		if c != nil {
			add(c.Before, c.BeforeSensitive)
			add(c.After, c.AfterSensitive)
		}
	}
	values := []*tfjson.StateValues{p.PlannedValues}
	if p.PriorState != nil {
		values = append(values, p.PriorState.Values)
	}
	for _, sv := range values {
		if sv == nil {
			continue
		}
		for _, o := range sv.Outputs {
			if o != nil && o.Sensitive {
				add(o.Value, true)
			}
		}
		collectModule(sv.RootModule, set)
	}
	out := make([]string, 0, len(set))
	for s := range set {
		out = append(out, s)
	}
	// Longest first, so that a secret containing another is replaced whole.
	sort.Slice(out, func(i, j int) bool {
		return len(out[i]) > len(out[j]) || (len(out[i]) == len(out[j]) && out[i] < out[j])
	})
	return out
}

func collectModule(m *tfjson.StateModule, set map[string]bool) {
	if m == nil {
		return
	}
	for _, r := range m.Resources {
		if r == nil || len(r.SensitiveValues) == 0 {
			continue
		}
		var mask any
		if json.Unmarshal(r.SensitiveValues, &mask) == nil {
			collect(r.AttributeValues, mask, set)
		}
	}
	for _, c := range m.ChildModules {
		collectModule(c, set)
	}
}

// collect adds the string leaves of v under a true mask to set.
func collect(v, mask any, set map[string]bool) {
	if b, ok := mask.(bool); ok && b {
		leaves(v, set)
		return
	}
	switch m := mask.(type) {
	case map[string]any:
		switch obj := v.(type) {
		case map[string]any:
			for k, x := range obj {
				collect(x, m[k], set)
			}
		}
	case []any:
		if arr, ok := v.([]any); ok {
			for i, x := range arr {
				if i < len(m) {
					collect(x, m[i], set)
				}
			}
		}
	}
}

func leaves(v any, set map[string]bool) {
	switch x := v.(type) {
	case string:
		if len(x) >= MinSecretLen && x != Redacted {
			set[x] = true
		}
	case map[string]any:
		for _, y := range x {
			leaves(y, set)
		}
	case []any:
		for _, y := range x {
			leaves(y, set)
		}
	}
}

// scrub replaces every occurrence of a secret in the strings (values and
// keys) of v.
func scrub(v any, secrets []string) any {
	switch x := v.(type) {
	case string:
		return scrubString(x, secrets)
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, y := range x {
			out[scrubString(k, secrets)] = scrub(y, secrets)
		}
		return out
	case []any:
		for i, y := range x {
			x[i] = scrub(y, secrets)
		}
		return x
	}
	return v
}

func scrubString(s string, secrets []string) string {
	for _, sec := range secrets {
		if strings.Contains(s, sec) {
			s = strings.ReplaceAll(s, sec, Redacted)
		}
	}
	return s
}

// redactModule applies each resource's own sensitive_values mask, which
// covers resources that have no entry in resource_changes.
func redactModule(m *tfjson.StateModule) {
	if m == nil {
		return
	}
	for _, r := range m.Resources {
		if r == nil || len(r.SensitiveValues) == 0 {
			continue
		}
		var mask any
		if json.Unmarshal(r.SensitiveValues, &mask) != nil {
			continue
		}
		if v, ok := mask2(r.AttributeValues, mask).(map[string]any); ok {
			r.AttributeValues = v
		}
	}
	for _, c := range m.ChildModules {
		redactModule(c)
	}
}

// mask2 replaces the parts of v that mask marks true.
func mask2(v, mask any) any {
	switch m := mask.(type) {
	case bool:
		if m {
			return Redacted
		}
		return v
	case map[string]any:
		obj, ok := v.(map[string]any)
		if !ok {
			return v
		}
		out := make(map[string]any, len(obj))
		for k, x := range obj {
			out[k] = mask2(x, m[k])
		}
		return out
	case []any:
		arr, ok := v.([]any)
		if !ok {
			return v
		}
		out := make([]any, len(arr))
		for i, x := range arr {
			if i < len(m) {
				out[i] = mask2(x, m[i])
			} else {
				out[i] = x
			}
		}
		return out
	}
	return v
}

// LogRedactor passes Terraform's machine-readable log (one JSON message a
// line) through to w, replacing the values of sensitive outputs, and keeps
// the error diagnostics so that a failure can say what went wrong.
type LogRedactor struct {
	mu      sync.Mutex
	secrets []string
	w       io.Writer
	buf     bytes.Buffer
	errors  []string
}

// NewLogRedactor returns a LogRedactor writing to w that also scrubs the
// given secrets (see Secrets) from every string in the log.
func NewLogRedactor(w io.Writer, secrets ...string) *LogRedactor {
	if w == nil {
		w = io.Discard
	}
	return &LogRedactor{w: w, secrets: secrets}
}

// Write buffers b and passes on each complete line.
func (l *LogRedactor) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf.Write(b)
	for {
		line, err := l.buf.ReadBytes('\n')
		if err != nil {
			l.buf.Write(line) // incomplete: keep for the next Write
			return len(b), nil
		}
		if err := l.line(line); err != nil {
			return len(b), err
		}
	}
}

// Flush passes on a final line that lacked a newline.
func (l *LogRedactor) Flush() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.buf.Len() == 0 {
		return nil
	}
	line := append(l.buf.Bytes(), '\n')
	l.buf.Reset()
	return l.line(line)
}

// Errors returns the error diagnostics seen so far ("summary: detail").
func (l *LogRedactor) Errors() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.errors...)
}

func (l *LogRedactor) line(line []byte) error {
	var msg map[string]any
	if err := json.Unmarshal(line, &msg); err != nil {
		// Not a JSON message (Terraform writes only JSON with -json), so it
		// cannot be checked for secrets: drop it rather than pass it on.
		_, err := fmt.Fprintf(l.w, `{"@level":"warn","@message":"meridian: dropped a non-JSON line of %d bytes"}`+"\n", len(line))
		return err
	}
	if msg["type"] == "outputs" {
		if outs, ok := msg["outputs"].(map[string]any); ok {
			for _, o := range outs {
				if om, ok := o.(map[string]any); ok && om["sensitive"] == true {
					if _, has := om["value"]; has {
						om["value"] = Redacted
					}
				}
			}
		}
	}
	if len(l.secrets) > 0 {
		msg = scrub(msg, l.secrets).(map[string]any)
	}
	if msg["@level"] == "error" {
		if d, ok := msg["diagnostic"].(map[string]any); ok {
			s, _ := d["summary"].(string)
			det, _ := d["detail"].(string)
			l.errors = append(l.errors, strings.TrimSpace(s+": "+det))
		} else if m, ok := msg["@message"].(string); ok {
			l.errors = append(l.errors, m)
		}
	}
	b, err := json.Marshal(msg)
	if err != nil {
		return err
	}
	_, err = l.w.Write(append(b, '\n'))
	return err
}

func joinLines(xs []string) string {
	var b strings.Builder
	sc := bufio.NewScanner(strings.NewReader(strings.Join(xs, "\n")))
	for sc.Scan() {
		if t := strings.TrimSpace(sc.Text()); t != "" {
			if b.Len() > 0 {
				b.WriteString("; ")
			}
			b.WriteString(t)
		}
	}
	return b.String()
}
