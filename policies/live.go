package policies

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/meridianhq/meridian"
)

// LiveSubject is one live resource as CheckLive judges it: the resource,
// and the workload and target of the config that own it (nil when its
// tags do not name them).
type LiveSubject struct {
	Resource *meridian.LiveResource
	Workload *meridian.Workload
	Target   *meridian.Target
}

// CheckLive runs the same rules that judge the config on what really runs,
// so that one policy source covers before and after deploy:
//
//   - the workload rules see the resource's own tags as input.workload.tags
//     (and its name as input.workload.name): an untagged VM breaks
//     MER-TAG-001 exactly as an untagged workload does;
//   - the placement rules, for a bucket, log store or key whose owning
//     workload and target are known, see the owning workload as declared
//     and the target as the resource really is: its encryption_level is the
//     resource's, and a log store's log_retention_max_days is its
//     retention. A bucket that lost its customer-managed key then breaks
//     MER-ENC-001 for a workload that requires one.
//
// Every input also carries input.live, the resource as the inventory read
// it (meridian.LiveResource's JSON form), so that org rules can judge live
// resources on fields the config has no word for, or tell the two apart.
// A placement violation that the declared target raises already (a
// config-level finding the plan reports) is not repeated.
//
// Findings carry Source live and the resource's ID; placement findings
// point at the workload's requirement (File and Line), tag findings at no
// file, since the tags live on the resource. Their remediation is the
// rule's own, from its METADATA block as for config findings: its
// custom.live_remediation when it has one (what to do to the resource
// rather than to the config), else its custom.remediation, prefixed with
// the resource and followed by where the config declares its owning
// workload and target (liveRemediationFor). Each list is sorted as
// CheckWorkloads sorts.
func (e *Engine) CheckLive(ctx context.Context, subjects []LiveSubject) (LiveFindings, error) {
	ctx, cancel := e.opts.withDeadline(ctx)
	defer cancel()
	// What the declared target raises depends on the owning pair only, so
	// it is evaluated once per pair however many resources the pair owns.
	declared := map[ownerPair]func() (declaredPair, error){}
	for _, s := range subjects {
		k := ownerPair{s.Workload, s.Target}
		if k.w == nil || k.t == nil || declared[k] != nil {
			continue
		}
		declared[k] = sync.OnceValues(func() (declaredPair, error) { return e.evalDeclared(ctx, k) })
	}
	results := make([]LiveFindings, len(subjects))
	err := parallel(ctx, e.workers, len(subjects), func(ctx context.Context, i int) error {
		fs, err := e.checkLive(ctx, &subjects[i], declared[ownerPair{subjects[i].Workload, subjects[i].Target}])
		if err != nil {
			return fmt.Errorf("live resource %s: %w", subjects[i].Resource.ID, err)
		}
		results[i] = fs
		return nil
	})
	if err != nil {
		return LiveFindings{}, err
	}
	var out LiveFindings
	for _, fs := range results {
		out.Workload = append(out.Workload, fs.Workload...)
		out.Placement = append(out.Placement, fs.Placement...)
	}
	sortFindings(out.Workload)
	sortFindings(out.Placement)
	return out, nil
}

// LiveFindings are CheckLive's findings by the kind of rule that raised
// them.
type LiveFindings struct {
	// Workload are the workload rules' findings on resources' tags.
	Workload []meridian.Finding
	// Placement are the placement rules' findings on resources that no
	// longer meet their workload's requirements: changed out of band.
	Placement []meridian.Finding
}

// All returns both lists in one, sorted.
func (l LiveFindings) All() []meridian.Finding {
	out := append(slices.Clone(l.Workload), l.Placement...)
	sortFindings(out)
	return out
}

// ownerPair is a live resource's owning workload and target.
type ownerPair struct {
	w *meridian.Workload
	t *meridian.Target
}

// declaredPair is an owner pair's workload as placement input, and per
// placement unit the violations (rule and message) its declared target
// raises already.
type declaredPair struct {
	workload ast.Value
	seen     []map[string]bool
}

func (e *Engine) evalDeclared(ctx context.Context, k ownerPair) (declaredPair, error) {
	var d declaredPair
	wdoc, err := workloadDoc(k.w)
	if err != nil {
		return d, err
	}
	tdoc, err := targetDoc(k.t)
	if err != nil {
		return d, err
	}
	if d.workload, err = ast.InterfaceToValue(wdoc); err != nil {
		return d, err
	}
	t, err := ast.InterfaceToValue(tdoc)
	if err != nil {
		return d, err
	}
	for _, un := range e.placement {
		vs, err := un.eval(ctx, liveInput(d.workload, t, e.settings, nil))
		if err != nil {
			return d, err
		}
		seen := map[string]bool{}
		for _, v := range vs {
			seen[v.Rule+"\x00"+v.Message] = true
		}
		d.seen = append(d.seen, seen)
	}
	return d, nil
}

// checkLive judges s; declared gives its owner pair's declaredPair (nil
// when the pair is unknown).
func (e *Engine) checkLive(ctx context.Context, s *LiveSubject, declared func() (declaredPair, error)) (LiveFindings, error) {
	var out LiveFindings
	r := s.Resource
	liveDoc, err := jsonDoc(r)
	if err != nil {
		return out, err
	}
	live, err := ast.InterfaceToValue(liveDoc)
	if err != nil {
		return out, err
	}
	if tagged(r.Kind) {
		tags := make(map[string]any, len(r.Tags))
		for k, v := range r.Tags {
			tags[k] = v
		}
		w, err := ast.InterfaceToValue(map[string]any{"name": r.Name, "tags": tags})
		if err != nil {
			return out, err
		}
		for _, un := range e.workload {
			vs, err := un.eval(ctx, liveInput(w, nil, e.settings, live))
			if err != nil {
				return out, err
			}
			for _, v := range vs {
				out.Workload = append(out.Workload, e.liveFinding(v, s))
			}
		}
	}
	if declared == nil || !judgedByPlacement(r) {
		return out, nil
	}
	d, err := declared()
	if err != nil {
		return out, err
	}
	actual, err := targetDoc(s.Target)
	if err != nil {
		return out, err
	}
	if enc := levelOf(r); enc != "" {
		actual["encryption_level"] = enc
	}
	if r.Kind == meridian.LiveLogStore && r.RetentionDays > 0 {
		actual["log_retention_max_days"] = r.RetentionDays
	}
	t, err := ast.InterfaceToValue(actual)
	if err != nil {
		return out, err
	}
	for i, un := range e.placement {
		vs, err := un.eval(ctx, liveInput(d.workload, t, e.settings, live))
		if err != nil {
			return out, err
		}
		for _, v := range vs {
			if d.seen[i][v.Rule+"\x00"+v.Message] {
				continue
			}
			f := e.liveFinding(v, s)
			if !strings.HasPrefix(v.Field, "target") {
				f.File, f.Line = s.Workload.Origin.File, s.Workload.Origin.LineOf(v.Field)
			}
			out.Placement = append(out.Placement, f)
		}
	}
	return out, nil
}

// tagged reports whether resources of kind carry the cloud tags that the
// tag rules judge: cloud resources do; what Meridian deployed into a
// Kubernetes cluster carries Meridian's labels instead, and is judged as
// drift only.
func tagged(kind string) bool {
	return kind != meridian.LiveNamespace && kind != meridian.LiveWorkload
}

// judgedByPlacement reports whether the placement rules have something to
// say about r: its data's encryption, its key, or its log retention.
func judgedByPlacement(r *meridian.LiveResource) bool {
	return r.Encryption != nil || r.Key != nil || r.Kind == meridian.LiveLogStore
}

// levelOf is the encryption level r offers its data, or "" when the
// inventory could not tell.
func levelOf(r *meridian.LiveResource) string {
	switch {
	case r.Encryption != nil:
		return r.Encryption.Level.String()
	case r.Key != nil && r.Key.CustomerManaged:
		return r.Key.Level.String()
	}
	return ""
}

// liveInput is inputObject plus input.live.
func liveInput(w, t, s, live ast.Value) ast.Value {
	obj := inputObject(w, t, s).(ast.Object)
	if live != nil {
		obj.Insert(ast.StringTerm("live"), ast.NewTerm(live))
	}
	return obj
}

// liveFinding turns a violation on s's resource into a finding that
// names the resource and says what to do about it.
func (e *Engine) liveFinding(v meridian.Violation, s *LiveSubject) meridian.Finding {
	r := s.Resource
	f := meridian.Finding{
		Rule:        v.Rule,
		Severity:    v.Severity,
		Field:       v.Field,
		Message:     fmt.Sprintf("%s %s: %s", r.Kind, r.Name, v.Message),
		Remediation: v.Remediation,
		Source:      meridian.FindingSourceLive,
		Resource:    r.ID,
	}
	if live := e.liveRemediation[v.Rule]; live != "" {
		f.Remediation = live
	}
	if s.Workload != nil {
		f.Workload = s.Workload.Name
	}
	if s.Target != nil {
		f.Target = s.Target.Name
	}
	f.Remediation = liveRemediationFor(f.Remediation, s)
	return f
}

// liveRemediationFor adapts a rule's remediation text to s's resource: it
// names the resource (its ID or ARN is what a console or CLI finds it by)
// and the config files that declare its owning workload and target, where
// those are known. A rule without a remediation gets none: the resource
// alone is no advice.
func liveRemediationFor(text string, s *LiveSubject) string {
	text = strings.TrimSpace(text)
	if text == "" {
		return ""
	}
	r := s.Resource
	var b strings.Builder
	fmt.Fprintf(&b, "On %s %s (%s): %s", r.Kind, r.Name, r.ID, text)
	if w := s.Workload; w != nil {
		fmt.Fprintf(&b, " Owning workload %s: %s.", w.Name, originText(w.Origin))
	}
	if t := s.Target; t != nil {
		fmt.Fprintf(&b, " Target %s: %s.", t.Name, originText(t.Origin))
	}
	return b.String()
}

// originText is where an entity is declared, as file:line.
func originText(o meridian.Origin) string {
	switch {
	case o.File == "":
		return "declared in the config"
	case o.Line > 0:
		return fmt.Sprintf("declared in %s:%d", o.File, o.Line)
	}
	return "declared in " + o.File
}

// liveRemediations collects custom.live_remediation by custom.id from the
// METADATA blocks of c's modules, built-in and org alike, so that a rule
// states its advice for live resources once, beside its remediation.
func liveRemediations(c *ast.Compiler) map[string]string {
	out := map[string]string{}
	for _, path := range sortedKeys(c.Modules) {
		for _, a := range c.Modules[path].Annotations {
			id, _ := a.Custom["id"].(string)
			text, _ := a.Custom["live_remediation"].(string)
			if id != "" && strings.TrimSpace(text) != "" {
				out[id] = strings.TrimSpace(text)
			}
		}
	}
	return out
}
