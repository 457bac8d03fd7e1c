package config

import (
	"fmt"
	"net/url"
	"path"
	"regexp"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/meridianhq/meridian"
)

var (
	envNameRE   = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	syncOptRE   = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9]*=[^\s]+$`)
	subdomainRE = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`)
	// apiVersionRE is group/version with a dotted group, as CRDs require.
	apiVersionRE = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)+/v[0-9]+((alpha|beta)[0-9]+)?$`)
	kindRE       = regexp.MustCompile(`^[A-Z][A-Za-z0-9]*$`)
	// gcpProjectRE is a GCP project ID.
	gcpProjectRE = regexp.MustCompile(`^[a-z][a-z0-9-]{4,28}[a-z0-9]$`)
	uuidRE       = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
	// helmKeyRE is a dotted Helm values key (replicaCount, app.replicas).
	helmKeyRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_-]*(\.[A-Za-z_][A-Za-z0-9_-]*)*$`)
)

// validateDeploy checks the settings, target and workload fields that the
// GitOps output (gitops/deploy) reads: the deploy and argocd sections,
// destinations, crossplane blocks and workload sources.
func (l *loader) validateDeploy() {
	s := &l.cfg.Settings
	o := s.Origin
	if o.File == "" {
		o.File = SettingsFile
	}
	d := s.Deploy
	if d.Branch != "" {
		if err := plumbing.NewBranchReferenceName(d.Branch).Validate(); err != nil || strings.HasPrefix(d.Branch, "-") {
			l.at(o, "deploy.branch", "not a valid Git branch name: %q", d.Branch)
		}
	}
	if d.Path != "" {
		if p := path.Clean(d.Path); p != strings.TrimSuffix(d.Path, "/") || path.IsAbs(d.Path) || p == "." || p == ".." || strings.HasPrefix(p, "../") || strings.Contains(d.Path, `\`) {
			l.at(o, "deploy.path", "must be a relative folder with forward slashes and no . or .. parts, got %q", d.Path)
		}
	}
	if d.RepoURL != "" && !strings.Contains(d.RepoURL, "://") && !strings.Contains(d.RepoURL, "@") {
		l.at(o, "deploy.repo_url", "must be a URL Argo CD can read (https://, ssh://, git@host:path), got %q", d.RepoURL)
	}
	a := s.ArgoCD
	if a.Server != "" {
		if u, err := url.Parse(a.Server); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil {
			l.at(o, "argocd.server", "must be an http(s) URL without credentials, such as https://argocd.example.com")
		}
	}
	if a.TokenEnv != "" && !envNameRE.MatchString(a.TokenEnv) {
		l.at(o, "argocd.token_env", "must be an environment variable name, got %q", a.TokenEnv)
	}
	if a.Project != "" && !subdomainRE.MatchString(a.Project) {
		l.at(o, "argocd.project", "must be an Argo CD project name (lower-case DNS name), got %q", a.Project)
	}
	if a.Namespace != "" && !nameRE.MatchString(a.Namespace) {
		l.at(o, "argocd.namespace", "must be a namespace name (DNS label), got %q", a.Namespace)
	}
	for i, opt := range a.SyncOptions {
		if !syncOptRE.MatchString(opt) {
			l.at(o, fmt.Sprintf("argocd.sync_options.%d", i), "must be Name=value, such as CreateNamespace=true, got %q", opt)
		}
	}
	for i := range l.cfg.Targets {
		l.validateTargetDeploy(&l.cfg.Targets[i])
	}
	for i := range l.cfg.Workloads {
		l.validateSource(&l.cfg.Workloads[i])
	}
}

func (l *loader) validateDestination(o meridian.Origin, field string, d meridian.Destination) {
	if d.Server != "" && d.Name != "" {
		l.at(o, field, "give server or name, not both")
	}
	if d.Server != "" {
		if u, err := url.Parse(d.Server); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			l.at(o, field+".server", "must be the cluster's API server URL, such as https://kubernetes.default.svc, got %q", d.Server)
		}
	}
	if d.Name != "" && strings.TrimSpace(d.Name) != d.Name {
		l.at(o, field+".name", "must not start or end with spaces")
	}
	if d.Namespace != "" && (len(d.Namespace) > 63 || !nameRE.MatchString(d.Namespace)) {
		l.at(o, field+".namespace", "must be a namespace name (DNS label), got %q", d.Namespace)
	}
}

func (l *loader) validateTargetDeploy(t *meridian.Target) {
	o := t.Origin
	l.validateDestination(o, "destination", t.Destination)
	c := t.Crossplane
	if _, set := o.Lines["crossplane"]; set && t.Engine != meridian.EngineCrossplane {
		l.at(o, "crossplane", "only applies to targets with engine: crossplane")
		return
	}
	if t.Engine != meridian.EngineCrossplane {
		return
	}
	l.validateDestination(o, "crossplane.destination", c.Destination)
	if k := c.ProviderConfig.Kind; k != "" && k != "ClusterProviderConfig" && k != "ProviderConfig" {
		l.at(o, "crossplane.provider_config.kind", "must be ClusterProviderConfig or ProviderConfig, got %q", k)
	}
	if n := c.ProviderConfig.Name; n != "" && !subdomainRE.MatchString(n) {
		l.at(o, "crossplane.provider_config.name", "must be a Kubernetes object name, got %q", n)
	}
	l.validateCrossplaneCluster(o, c.Cluster)
	if x := c.Composite; x != nil {
		if !apiVersionRE.MatchString(x.APIVersion) {
			l.at(o, "crossplane.composite.api_version", "must be group/version of your XRD, such as platform.example.org/v1alpha1, got %q", x.APIVersion)
		}
		if !kindRE.MatchString(x.Kind) {
			l.at(o, "crossplane.composite.kind", "must be the XRD's kind in CamelCase, got %q", x.Kind)
		}
		if x.Composition != "" && !subdomainRE.MatchString(x.Composition) {
			l.at(o, "crossplane.composite.composition", "must be a Composition name, got %q", x.Composition)
		}
		return
	}
	switch t.Provider {
	case meridian.ProviderAzure:
		if c.TenantID == "" {
			l.at(o, "crossplane.tenant_id", "required for Azure targets with engine: crossplane: Key Vaults are bound to a tenant")
		} else if !uuidRE.MatchString(c.TenantID) {
			l.at(o, "crossplane.tenant_id", "must be the Azure tenant ID (a UUID), got %q", c.TenantID)
		}
	case meridian.ProviderGCP:
		if c.Project == "" {
			l.at(o, "crossplane.project", "required for GCP targets with engine: crossplane: bucket keys are named by project")
		} else if !gcpProjectRE.MatchString(c.Project) {
			l.at(o, "crossplane.project", "must be a GCP project ID, got %q", c.Project)
		}
	case meridian.ProviderOnPrem, meridian.ProviderEdge:
		l.at(o, "crossplane.composite", "required for %s targets with engine: crossplane: Meridian only knows the managed resources of aws, azure and gcp", t.Provider)
	}
	if c.TenantID != "" && t.Provider != meridian.ProviderAzure {
		l.at(o, "crossplane.tenant_id", "only applies to Azure targets")
	}
	if c.Project != "" && t.Provider != meridian.ProviderGCP {
		l.at(o, "crossplane.project", "only applies to GCP targets")
	}
}

// validateCrossplaneCluster checks crossplane.cluster. The kubeconfig is
// not opened here: it lives on the host that runs the drift check, which
// need not be the one validating the config.
func (l *loader) validateCrossplaneCluster(o meridian.Origin, k *meridian.CrossplaneCluster) {
	if k == nil {
		return
	}
	switch {
	case k.Kubeconfig != "" && k.InCluster:
		l.at(o, "crossplane.cluster", "give kubeconfig or in_cluster: true, not both")
	case k.Kubeconfig == "" && !k.InCluster:
		l.at(o, "crossplane.cluster", "needs kubeconfig (a file on the host running Meridian) or in_cluster: true")
	}
	if k.Kubeconfig != "" && (strings.TrimSpace(k.Kubeconfig) != k.Kubeconfig || strings.ContainsAny(k.Kubeconfig, "\x00\n")) {
		l.at(o, "crossplane.cluster.kubeconfig", "must be a file path, got %q", k.Kubeconfig)
	}
	if k.Context != "" {
		if k.InCluster {
			l.at(o, "crossplane.cluster.context", "only applies with kubeconfig")
		} else if strings.TrimSpace(k.Context) != k.Context {
			l.at(o, "crossplane.cluster.context", "must not start or end with spaces")
		}
	}
}

func (l *loader) validateSource(w *meridian.Workload) {
	s := w.Source
	if s == nil {
		return
	}
	o := w.Origin
	if s.RepoURL == "" {
		l.at(o, "source.repo_url", "required: the Git or Helm repository Argo CD reads the workload from")
	}
	switch s.Kind {
	case meridian.SourceHelm:
		if (s.Path == "") == (s.Chart == "") {
			l.at(o, "source", "a helm source needs path (chart in a Git repository) or chart (in a Helm repository), not both")
		}
		if s.ReplicasKey != "" && !helmKeyRE.MatchString(s.ReplicasKey) {
			l.at(o, "source.replicas_key", "must be a dotted Helm values key such as replicaCount, got %q", s.ReplicasKey)
		}
	case meridian.SourceKustomize:
		if s.Path == "" {
			l.at(o, "source.path", "required for a kustomize source: the folder holding kustomization.yaml")
		}
		if s.Chart != "" {
			l.at(o, "source.chart", "only applies to helm sources")
		}
		if s.ReplicasKey != "" && !subdomainRE.MatchString(s.ReplicasKey) {
			l.at(o, "source.replicas_key", "must be the name of the Deployment or StatefulSet to scale, got %q", s.ReplicasKey)
		}
	case "":
		l.at(o, "source.kind", "required: helm or kustomize")
	default:
		l.at(o, "source.kind", "must be helm or kustomize, got %q", s.Kind)
	}
	if p := s.Path; p != "" && (path.IsAbs(p) || strings.HasPrefix(path.Clean(p), "..")) {
		l.at(o, "source.path", "must be relative to the repository root, got %q", p)
	}
}
