package meridian

import (
	"maps"
	"slices"
)

// ReviewConfig returns the config a pull request is judged by: the head's
// targets, workloads and settings, but the base's policies and the base's
// outward settings (see TrustedOutward). A change may not judge itself, or
// a PR could delete the rule it breaks. The policy inputs taken from base
// are the org policy files and the settings the built-in policies read
// (required_tags, tag_formats).
//
// policyChanged reports whether head changes any of those inputs; its new
// rules then apply only after merge, and callers preview them separately
// with PreviewConfig.
func ReviewConfig(base, head *Config) (cfg *Config, policyChanged bool) {
	out := TrustedOutward(base, head)
	out.Settings.RequiredTags = slices.Clone(base.Settings.RequiredTags)
	out.Settings.TagFormats = maps.Clone(base.Settings.TagFormats)
	// Findings about tag settings point at the base's meridian.yaml lines.
	for _, f := range []string{"required_tags", "tag_formats"} {
		delete(out.Settings.Origin.Lines, f)
		for k, l := range base.Settings.Origin.Lines {
			if k == f || len(k) > len(f) && k[:len(f)+1] == f+"." {
				if out.Settings.Origin.Lines == nil {
					out.Settings.Origin.Lines = map[string]int{}
				}
				out.Settings.Origin.Lines[k] = l
			}
		}
	}
	out.Policies = maps.Clone(base.Policies)
	changed := !slices.Equal(base.Settings.RequiredTags, head.Settings.RequiredTags) ||
		!maps.Equal(base.Settings.TagFormats, head.Settings.TagFormats) ||
		!maps.Equal(base.Policies, head.Policies)
	return out, changed
}

// PreviewConfig is what a pull request's own policies are previewed on:
// the head's policies and tag settings, still with the base's outward
// settings, so that even the preview never reaches a host the head names.
func PreviewConfig(base, head *Config) *Config {
	return TrustedOutward(base, head)
}

// TrustedOutward returns a copy of head whose settings that make Meridian
// reach out to other hosts, or that bound how much work it does, come from
// base: a pull request head is untrusted data, and only what reviewers
// merged may choose where the server sends requests and credentials. These
// are the deploy repository, Argo CD, Prometheus, the input limits and
// each Terraform target's backend configuration (a target new in head gets
// none, so its backend is the module's own local default until merged).
func TrustedOutward(base, head *Config) *Config {
	out := *head
	out.Settings.Origin.Lines = maps.Clone(head.Settings.Origin.Lines)
	out.Settings.Prometheus = base.Settings.Prometheus
	out.Settings.Deploy = base.Settings.Deploy
	out.Settings.ArgoCD = base.Settings.ArgoCD
	out.Settings.ArgoCD.SyncOptions = slices.Clone(base.Settings.ArgoCD.SyncOptions)
	out.Settings.Limits = base.Settings.Limits
	out.Settings.AutoApply = base.Settings.AutoApply
	out.Settings.DriftInterval = base.Settings.DriftInterval
	out.Targets = slices.Clone(head.Targets)
	for i := range out.Targets {
		t := &out.Targets[i]
		if t.Terraform == nil {
			continue
		}
		m := *t.Terraform
		m.BackendConfig = nil
		if bt, ok := base.Target(t.Name); ok && bt.Terraform != nil {
			m.BackendConfig = maps.Clone(bt.Terraform.BackendConfig)
		}
		t.Terraform = &m
	}
	return &out
}
