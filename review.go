package meridian

import (
	"maps"
	"slices"
)

// ReviewConfig returns the config a pull request is judged by: the head's
// targets, workloads and settings, but the base's policies. A change may not
// judge itself, or a PR could delete the rule it breaks. The policy inputs
// taken from base are the org policy files and the settings the built-in
// policies read (required_tags, tag_formats).
//
// policyChanged reports whether head changes any of those inputs; its new
// rules then apply only after merge, and callers preview them separately
// with head as it is.
func ReviewConfig(base, head *Config) (cfg *Config, policyChanged bool) {
	out := *head
	out.Settings.RequiredTags = slices.Clone(base.Settings.RequiredTags)
	out.Settings.TagFormats = maps.Clone(base.Settings.TagFormats)
	out.Settings.Origin.Lines = maps.Clone(head.Settings.Origin.Lines)
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
	return &out, changed
}
