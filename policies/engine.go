package policies

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"regexp"
	"runtime"
	"slices"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"

	"github.com/meridianhq/meridian"
)

// Engine evaluates the built-in and org policies of one config repo. Its
// queries are compiled once by New; an Engine is safe for concurrent use.
//
// Policies are deterministic and offline: they are compiled without the
// builtins deniedBuiltin names (http.send, net.*, time.now_ns, ...), and
// every evaluation is bounded by a deadline (WithEvalTimeout).
type Engine struct {
	settings  ast.Value
	workload  []*unit
	placement []*unit
	// workers bounds the evaluations run at once.
	workers int
	opts    options
	// liveRemediation maps a rule ID to its METADATA's
	// custom.live_remediation, the advice for a live resource that breaks
	// it (liveRemediations).
	liveRemediation map[string]string
}

// unit is one rule package: the deny, warn and info sets it defines, the
// query that reads them, and the input paths its rules can observe.
type unit struct {
	pkg        string
	severities []meridian.Severity
	query      rego.PreparedEvalQuery
	workload   *pathSet
	target     *pathSet
	// peer says the rules read input.peer, so they also judge landed
	// pairs (CheckPeers).
	peer bool
}

// New compiles the built-in library together with the org policies (path ->
// source, as in Config.Policies; *_test.rego files are skipped) and
// prepares one query per rule package. Problems in org policies, including
// Rego parse and compile errors and calls to builtins policies may not use,
// are returned as meridian.ConfigErrors that point at file:line, as are
// invalid settings.tag_formats patterns. A pull request's head policies
// must go through New like any others: nothing else compiles Rego.
func New(ctx context.Context, settings meridian.Settings, org map[string]string, opts ...Option) (*Engine, error) {
	// Collect settings, parse and package errors together, so that one
	// problem never hides the others.
	errs := checkTagFormats(settings)
	orgFiles := map[string]string{}
	for path, src := range org {
		if !isTestFile(path) {
			orgFiles[path] = src
		}
	}
	orgMods, parseErrs := parseModules(orgFiles)
	errs = append(errs, parseErrs...)
	errs = append(errs, checkOrgPackages(orgMods)...)
	errs = append(errs, checkBuiltins(orgMods)...)
	if len(errs) > 0 {
		return nil, errs
	}
	files, err := builtinFiles(false)
	if err != nil {
		return nil, err
	}
	mods, parseErrs := parseModules(files)
	if len(parseErrs) > 0 {
		return nil, fmt.Errorf("built-in policies: %w", parseErrs)
	}
	maps.Copy(mods, orgMods)
	caps := capabilities()
	c, err := compileModules(mods, caps)
	if err != nil {
		return nil, err
	}
	if err := checkOrgRules(c, sortedKeys(orgMods)); err != nil {
		return nil, err
	}

	settingsValue, err := ast.InterfaceToValue(settingsDoc(settings))
	if err != nil {
		return nil, fmt.Errorf("settings: %w", err)
	}
	e := &Engine{settings: settingsValue, workers: runtime.GOMAXPROCS(0), opts: newOptions(opts), liveRemediation: liveRemediations(c)}
	for _, pkg := range rulePackages(c) {
		u, err := newUnit(ctx, c, caps, pkg)
		if err != nil {
			return nil, err
		}
		switch {
		case pkg.HasPrefix(builtinWorkload) || pkg.HasPrefix(orgWorkload):
			e.workload = append(e.workload, u)
		case pkg.HasPrefix(builtinPlacement) || pkg.HasPrefix(orgPlacement):
			e.placement = append(e.placement, u)
		}
	}
	return e, nil
}

// checkTagFormats compiles every tag format as the tag-format rule will
// use it, so that a bad pattern fails loudly here instead of making the
// rule silently undefined.
func checkTagFormats(s meridian.Settings) meridian.ConfigErrors {
	var errs meridian.ConfigErrors
	for _, tag := range sortedKeys(s.TagFormats) {
		if _, err := regexp.Compile("^(?:" + s.TagFormats[tag] + ")$"); err != nil {
			field := "tag_formats." + tag
			errs = append(errs, meridian.ConfigError{
				File:    s.Origin.File,
				Line:    s.Origin.LineOf(field),
				Field:   field,
				Message: fmt.Sprintf("invalid regular expression %q: %v", s.TagFormats[tag], err),
			})
		}
	}
	return errs
}

// rulePackages returns, sorted, the packages under a workload or placement
// root that define deny, warn or info.
func rulePackages(c *ast.Compiler) []ast.Ref {
	byName := map[string]ast.Ref{}
	for _, m := range c.Modules {
		p := m.Package.Path
		if !(p.HasPrefix(builtinWorkload) || p.HasPrefix(builtinPlacement) ||
			p.HasPrefix(orgWorkload) || p.HasPrefix(orgPlacement)) {
			continue
		}
		for _, r := range m.Rules {
			if _, ok := severityOf(r); ok {
				byName[p.String()] = p
			}
		}
	}
	out := make([]ast.Ref, 0, len(byName))
	for _, k := range sortedKeys(byName) {
		out = append(out, byName[k])
	}
	return out
}

// newUnit prepares the query [data.<pkg>.deny, data.<pkg>.warn, ...] over
// the severities pkg defines, and records the input paths it can observe.
func newUnit(ctx context.Context, c *ast.Compiler, caps *ast.Capabilities, pkg ast.Ref) (*unit, error) {
	u := &unit{pkg: packageName(pkg)}
	defined := map[meridian.Severity]bool{}
	for _, m := range c.Modules {
		if !m.Package.Path.Equal(pkg) {
			continue
		}
		for _, r := range m.Rules {
			if sev, ok := severityOf(r); ok {
				defined[sev] = true
			}
		}
	}
	var refs []*ast.Term
	for _, sev := range severityRules {
		if defined[sev] {
			u.severities = append(u.severities, sev)
			refs = append(refs, ast.NewTerm(pkg.Append(ast.StringTerm(string(sev)))))
		}
	}
	// The modules are compiled already, under caps; the query's own
	// compilation gets the same capabilities. No store, bundle or runtime is
	// given, so evaluation sees only its input.
	q, err := rego.New(
		rego.Compiler(c),
		rego.Capabilities(caps),
		rego.ParsedQuery(ast.NewBody(ast.NewExpr(ast.ArrayTerm(refs...)))),
	).PrepareForEval(ctx)
	if err != nil {
		return nil, fmt.Errorf("prepare %s: %w", u.pkg, err)
	}
	u.query = q
	deps := dependencies(c, pkg)
	u.workload, u.target = inputPaths(deps)
	u.peer = readsPeer(deps)
	return u, nil
}

// eval runs the unit's query on one input and returns its findings in a
// deterministic order. ctx must carry the evaluation's deadline
// (options.withDeadline); OPA halts the query when it is done.
func (u *unit) eval(ctx context.Context, input ast.Value) ([]meridian.Violation, error) {
	rs, err := u.query.Eval(ctx, rego.EvalParsedInput(input))
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("evaluate %s: %w", u.pkg, stopped(ctx))
		}
		return nil, fmt.Errorf("evaluate %s: %w", u.pkg, err)
	}
	if len(rs) != 1 || len(rs[0].Expressions) != 1 {
		return nil, fmt.Errorf("evaluate %s: undefined result", u.pkg)
	}
	sets, ok := rs[0].Expressions[0].Value.([]any)
	if !ok || len(sets) != len(u.severities) {
		return nil, fmt.Errorf("evaluate %s: unexpected result %v", u.pkg, rs[0].Expressions[0].Value)
	}
	var out []meridian.Violation
	for i, sev := range u.severities {
		set, ok := sets[i].([]any)
		if !ok {
			return nil, fmt.Errorf("%s.%s: must be a set of findings, got %v", u.pkg, sev, sets[i])
		}
		if n := len(out) + len(set); n > maxFindings {
			return nil, fmt.Errorf("evaluate %s: %d findings for one input, more than the %d allowed", u.pkg, n, maxFindings)
		}
		for _, f := range set {
			v, err := decodeFinding(f)
			if err != nil {
				return nil, fmt.Errorf("%s.%s: %w", u.pkg, sev, err)
			}
			v.Severity = sev
			out = append(out, v)
		}
	}
	sortViolations(out)
	return out, nil
}

// decodeFinding reads a finding object {"id", "msg", "field",
// "remediation"}; id and msg are required strings.
func decodeFinding(f any) (meridian.Violation, error) {
	obj, ok := f.(map[string]any)
	if !ok {
		return meridian.Violation{}, fmt.Errorf(`finding must be an object {"id", "msg", "field", "remediation"}, got %v`, f)
	}
	str := func(key string, required bool) (string, error) {
		v, ok := obj[key]
		if !ok && !required {
			return "", nil
		}
		s, isStr := v.(string)
		if !isStr || (required && s == "") {
			return "", fmt.Errorf("finding %v: %s must be a non-empty string", f, key)
		}
		return s, nil
	}
	var v meridian.Violation
	var err error
	if v.Rule, err = str("id", true); err != nil {
		return v, err
	}
	if v.Message, err = str("msg", true); err != nil {
		return v, err
	}
	if v.Field, err = str("field", false); err != nil {
		return v, err
	}
	if v.Remediation, err = str("remediation", false); err != nil {
		return v, err
	}
	return v, nil
}

// severityRank orders deny before warn before info.
func severityRank(s meridian.Severity) int { return slices.Index(severityRules, s) }

// sortViolations orders by rule, field, message, severity.
func sortViolations(vs []meridian.Violation) {
	slices.SortFunc(vs, func(a, b meridian.Violation) int {
		return cmp.Or(
			cmp.Compare(a.Rule, b.Rule),
			cmp.Compare(a.Field, b.Field),
			cmp.Compare(a.Message, b.Message),
			cmp.Compare(severityRank(a.Severity), severityRank(b.Severity)),
		)
	})
}
