package policies

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/meridianhq/meridian"
)

// Package roots. Rule packages live below the workload and placement roots;
// which root a package sits under decides the input it is evaluated with.
var (
	orgRoot          = ast.MustParseRef("data.meridian.org")
	orgWorkload      = ast.MustParseRef("data.meridian.org.workload")
	orgPlacement     = ast.MustParseRef("data.meridian.org.placement")
	builtinWorkload  = ast.MustParseRef("data.meridian.builtin.workload")
	builtinPlacement = ast.MustParseRef("data.meridian.builtin.placement")
)

// severityRules are the rule names the engine reads, in the order findings
// of one package are reported.
var severityRules = []meridian.Severity{meridian.SeverityDeny, meridian.SeverityWarn, meridian.SeverityInfo}

// parseModules parses every file as Rego v1 with METADATA annotations. It
// returns the modules that parsed and the problems of all the others, so
// one bad file never hides the others.
func parseModules(files map[string]string) (map[string]*ast.Module, meridian.ConfigErrors) {
	mods := make(map[string]*ast.Module, len(files))
	var errs meridian.ConfigErrors
	for _, path := range sortedKeys(files) {
		m, err := ast.ParseModuleWithOpts(path, files[path], ast.ParserOptions{
			ProcessAnnotation: true,
			RegoVersion:       ast.RegoV1,
		})
		if err != nil {
			errs = append(errs, configErrors(path, err)...)
			continue
		}
		if m == nil {
			errs = append(errs, meridian.ConfigError{File: path, Message: "policy file holds no package"})
			continue
		}
		mods[path] = m
	}
	return mods, errs
}

// compileModules compiles the modules together under caps, reporting Rego
// errors as file:line config errors.
func compileModules(mods map[string]*ast.Module, caps *ast.Capabilities) (*ast.Compiler, error) {
	c := newCompiler(caps)
	if c.Compile(mods); c.Failed() {
		return nil, configErrors("", c.Errors)
	}
	return c, nil
}

// configErrors turns OPA parse and compile errors into config errors that
// point at file:line. path is used when an error carries no location.
func configErrors(path string, err error) meridian.ConfigErrors {
	var ces meridian.ConfigErrors
	if errors.As(err, &ces) {
		return ces
	}
	var astErrs ast.Errors
	if !errors.As(err, &astErrs) {
		return meridian.ConfigErrors{{File: path, Message: err.Error()}}
	}
	out := make(meridian.ConfigErrors, 0, len(astErrs))
	for _, e := range astErrs {
		ce := meridian.ConfigError{File: path, Message: e.Message}
		if e.Code != "" {
			ce.Message = e.Code + ": " + e.Message
		}
		if e.Location != nil {
			if e.Location.File != "" {
				ce.File = e.Location.File
			}
			ce.Line = e.Location.Row
		}
		out = append(out, ce)
	}
	return out
}

// checkOrgPackages enforces that org policies stay under meridian.org, so
// that they can neither extend nor shadow the built-in library.
func checkOrgPackages(mods map[string]*ast.Module) meridian.ConfigErrors {
	var errs meridian.ConfigErrors
	for _, path := range sortedKeys(mods) {
		pkg := mods[path].Package
		if !pkg.Path.HasPrefix(orgRoot) {
			errs = append(errs, errorAt(path, pkg.Location, fmt.Sprintf(
				"package %s: org policies must live under package meridian.org (rules under meridian.org.workload or meridian.org.placement)",
				packageName(pkg.Path))))
		}
	}
	return errs
}

// checkOrgRules enforces the rule contract on compiled org modules: deny,
// warn and info are multi-value rules in a workload or placement package,
// and workload rules do not read input.target, which they are never given.
func checkOrgRules(c *ast.Compiler, paths []string) error {
	var errs meridian.ConfigErrors
	for _, path := range paths {
		m := c.Modules[path]
		pkg := m.Package.Path
		isWorkload, isPlacement := pkg.HasPrefix(orgWorkload), pkg.HasPrefix(orgPlacement)
		for _, r := range m.Rules {
			sev, ok := severityOf(r)
			if !ok {
				continue
			}
			switch {
			case !isWorkload && !isPlacement:
				errs = append(errs, errorAt(path, r.Location, fmt.Sprintf(
					"%s rule in package %s is never evaluated: move it to a package under meridian.org.workload or meridian.org.placement",
					sev, packageName(pkg))))
			case len(r.Head.Ref()) != 1 || len(r.Head.Args) > 0 || r.Head.RuleKind() != ast.MultiValue:
				errs = append(errs, errorAt(path, r.Location, fmt.Sprintf(
					"%s must be a multi-value rule: %s contains f if { ... }", sev, sev)))
			}
		}
		if !isWorkload {
			continue
		}
		var locs []*ast.Location
		walkInputRefs(m, func(ref ast.Ref, loc *ast.Location) {
			if len(ref) == 1 || ref[1].Value.Compare(ast.String("target")) == 0 {
				locs = append(locs, loc)
			}
		})
		if len(locs) > 0 {
			errs = append(errs, errorAt(path, locs[0], fmt.Sprintf(
				"package %s: workload rules see only input.workload and input.settings; rules that read input.target (or the whole input) belong under meridian.org.placement",
				packageName(pkg))))
		}
	}
	if len(errs) > 0 {
		return errs
	}
	return nil
}

// severityOf reports whether r defines one of the rule sets the engine
// reads, and which.
func severityOf(r *ast.Rule) (meridian.Severity, bool) {
	name, ok := r.Head.Ref()[0].Value.(ast.Var)
	if !ok {
		return "", false
	}
	sev := meridian.Severity(name)
	return sev, slices.Contains(severityRules, sev)
}

func errorAt(path string, loc *ast.Location, msg string) meridian.ConfigError {
	e := meridian.ConfigError{File: path, Message: msg}
	if loc != nil {
		e.Line = loc.Row
	}
	return e
}

// packageName spells a package path as its package statement does.
func packageName(path ast.Ref) string {
	return strings.TrimPrefix(path.String(), "data.")
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
