package config

import (
	"io/fs"
	"path"
	"regexp"
	"slices"
	"strings"

	"github.com/meridianhq/meridian"
)

// tfIdentRE is a Terraform variable name.
var tfIdentRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_-]*$`)

// reservedTFVars are the variables Meridian itself writes into
// meridian.auto.tfvars.json; a target's vars may not shadow them.
var reservedTFVars = []string{"target", "placements"}

// validateTerraform checks a target's terraform block: the module must be a
// folder of .tf files inside the config repo, because Meridian copies it into
// the target's workspace and nothing outside the repo is reproducible.
func (l *loader) validateTerraform(t *meridian.Target) {
	tf, o := t.Terraform, t.Origin
	if tf == nil {
		return
	}
	if t.Engine != meridian.EngineTerraform {
		l.at(o, "terraform", "only targets with engine: terraform take a Terraform module, got engine %q", t.Engine)
	}
	switch m := tf.Module; {
	case m == "":
		l.at(o, "terraform.module", "required: the root module's folder, relative to the config root")
	case strings.Contains(m, `\`) || path.IsAbs(m) || !fs.ValidPath(path.Clean(m)) || path.Clean(m) == ".":
		l.at(o, "terraform.module", "must be a folder inside the config repo, relative to its root (e.g. terraform/aws), got %q", m)
	default:
		l.checkModuleDir(o, path.Clean(m))
	}
	for k := range tf.BackendConfig {
		if k == "" || strings.ContainsAny(k, "= \t") {
			l.at(o, "terraform.backend_config."+k, "must be a backend setting name, got %q", k)
		}
	}
	for k := range tf.Vars {
		switch {
		case !tfIdentRE.MatchString(k):
			l.at(o, "terraform.vars."+k, "must be a Terraform variable name (letters, digits, _ and -), got %q", k)
		case slices.Contains(reservedTFVars, k):
			l.at(o, "terraform.vars."+k, "%q is set by Meridian (the placements on this target); choose another name", k)
		}
	}
}

// checkModuleDir reports a module folder that is missing or holds no
// Terraform files.
func (l *loader) checkModuleDir(o meridian.Origin, dir string) {
	entries, err := fs.ReadDir(l.fsys, dir)
	if err != nil {
		l.at(o, "terraform.module", "folder %q not found in the config repo", dir)
		return
	}
	for _, e := range entries {
		if !e.IsDir() && (strings.HasSuffix(e.Name(), ".tf") || strings.HasSuffix(e.Name(), ".tf.json")) {
			return
		}
	}
	l.at(o, "terraform.module", "folder %q holds no .tf or .tf.json files", dir)
}
