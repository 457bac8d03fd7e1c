package meridian

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestReviewConfig(t *testing.T) {
	base := &Config{
		Settings: Settings{RequiredTags: []string{"owner"}, TagFormats: map[string]string{"env": "^prod$"}, Currency: "USD",
			Origin: Origin{File: "meridian.yaml", Lines: map[string]int{"required_tags": 3, "tag_formats.env": 5}}},
		Policies: map[string]string{"policies/a.rego": "package a"},
	}
	cases := map[string]struct {
		reason      string
		head        func(c *Config)
		wantChanged bool
	}{
		"Unchanged": {
			reason: "A head with the base's policies changes nothing.",
			head:   func(*Config) {},
		},
		"PolicyDeleted": {
			reason:      "Deleting a policy file is a policy change, and the base's file still applies.",
			head:        func(c *Config) { c.Policies = map[string]string{} },
			wantChanged: true,
		},
		"PolicyEdited": {
			reason:      "Editing a policy is a policy change.",
			head:        func(c *Config) { c.Policies = map[string]string{"policies/a.rego": "package a # weaker"} },
			wantChanged: true,
		},
		"RequiredTagDropped": {
			reason:      "required_tags feeds the built-in tag policy: dropping a tag is a policy change.",
			head:        func(c *Config) { c.Settings.RequiredTags = nil },
			wantChanged: true,
		},
		"TagFormatLoosened": {
			reason:      "tag_formats feeds the built-in tag policy too.",
			head:        func(c *Config) { c.Settings.TagFormats = map[string]string{"env": ".*"} },
			wantChanged: true,
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			head := &Config{
				Settings: Settings{RequiredTags: []string{"owner"}, TagFormats: map[string]string{"env": "^prod$"}, Currency: "EUR",
					Origin: Origin{File: "meridian.yaml", Lines: map[string]int{"currency": 9}}},
				Policies:  map[string]string{"policies/a.rego": "package a"},
				Workloads: []Workload{{Name: "w"}},
			}
			tc.head(head)
			got, changed := ReviewConfig(base, head)
			if changed != tc.wantChanged {
				t.Errorf("%s changed = %v, want %v", tc.reason, changed, tc.wantChanged)
			}
			if diff := cmp.Diff(base.Policies, got.Policies); diff != "" {
				t.Errorf("policies must be the base's (-base +got):\n%s", diff)
			}
			if diff := cmp.Diff(base.Settings.RequiredTags, got.Settings.RequiredTags); diff != "" {
				t.Errorf("required_tags must be the base's:\n%s", diff)
			}
			if got.Settings.Currency != "EUR" || len(got.Workloads) != 1 {
				t.Errorf("everything else must be the head's: %+v", got.Settings)
			}
			if got.Settings.Origin.Lines["required_tags"] != 3 || got.Settings.Origin.Lines["currency"] != 9 {
				t.Errorf("lines: %v", got.Settings.Origin.Lines)
			}
		})
	}
	// The inputs are not modified.
	if len(base.Settings.Origin.Lines) != 2 {
		t.Errorf("base modified: %v", base.Settings.Origin.Lines)
	}
}

// TestReviewConfigOutwardFromBase: settings that make the server reach out
// (and carry its credentials) are the base's, never a pull request head's.
func TestReviewConfigOutwardFromBase(t *testing.T) {
	base := &Config{
		Settings: Settings{
			Prometheus: PrometheusSettings{URL: "https://prom.internal"},
			Deploy:     DeploySettings{Repo: "https://git.internal/deploy.git"},
			ArgoCD:     ArgoCDSettings{Server: "https://argocd.internal", TokenEnv: "ARGOCD_AUTH_TOKEN"},
		},
		Targets: []Target{{Name: "aws-eu", Terraform: &TerraformModule{Module: "modules/aws", BackendConfig: map[string]string{"bucket": "state-internal"}}}},
	}
	head := &Config{
		Settings: Settings{
			Prometheus: PrometheusSettings{URL: "http://attacker.example:9090"},
			Deploy:     DeploySettings{Repo: "https://attacker.example/x.git"},
			ArgoCD:     ArgoCDSettings{Server: "https://attacker.example", TokenEnv: "GITHUB_TOKEN"},
			AutoApply:  true,
			Limits:     Limits{LoadHistoryBytes: 1 << 40},
		},
		Targets: []Target{
			{Name: "aws-eu", Terraform: &TerraformModule{Module: "modules/aws", BackendConfig: map[string]string{"bucket": "attacker"}}},
			{Name: "new", Terraform: &TerraformModule{Module: "modules/new", BackendConfig: map[string]string{"address": "https://attacker.example"}}},
		},
	}
	for name, cfg := range map[string]*Config{"review": must(ReviewConfig(base, head)), "preview": PreviewConfig(base, head)} {
		t.Run(name, func(t *testing.T) {
			if cfg.Settings.Prometheus != base.Settings.Prometheus {
				t.Errorf("prometheus = %+v, want the base's", cfg.Settings.Prometheus)
			}
			if cfg.Settings.Deploy != base.Settings.Deploy {
				t.Errorf("deploy = %+v, want the base's", cfg.Settings.Deploy)
			}
			if cfg.Settings.ArgoCD.Server != base.Settings.ArgoCD.Server || cfg.Settings.ArgoCD.TokenEnv != base.Settings.ArgoCD.TokenEnv {
				t.Errorf("argocd = %+v, want the base's", cfg.Settings.ArgoCD)
			}
			if cfg.Settings.Limits != base.Settings.Limits {
				t.Errorf("limits = %+v, want the base's", cfg.Settings.Limits)
			}
			if cfg.Settings.AutoApply {
				t.Error("auto_apply came from the head")
			}
			if got := cfg.Targets[0].Terraform.BackendConfig["bucket"]; got != "state-internal" {
				t.Errorf("existing target's backend bucket = %q, want the base's", got)
			}
			if got := cfg.Targets[1].Terraform.BackendConfig; got != nil {
				t.Errorf("a target new in the head kept its own backend config %v", got)
			}
			if head.Targets[0].Terraform.BackendConfig["bucket"] != "attacker" {
				t.Error("TrustedOutward modified the head it was given")
			}
		})
	}
}

func must(c *Config, _ bool) *Config { return c }
