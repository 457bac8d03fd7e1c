package meridian

import "time"

// DefaultMoveGrace is how long a make-before-break move waits, without an
// Argo CD server to ask, before the old placement is removed.
const DefaultMoveGrace = 10 * time.Minute

// DeploySettings says where Meridian commits the deploy tree that Argo CD
// and Crossplane carry out.
type DeploySettings struct {
	// Repo is the deploy repository: a Git URL, or a path to a local bare
	// repository (created on first use). Empty means a bare repository
	// under Meridian's state dir, so that the example works offline.
	Repo string `json:"repo,omitempty"`
	// RepoURL is the URL Argo CD reads the deploy repository from, written
	// into the root Application. Empty means Repo (or the local repository's
	// file:// URL).
	RepoURL string `json:"repo_url,omitempty"`
	// Branch is the branch Meridian commits to (default main).
	Branch string `json:"branch,omitempty"`
	// Path is the folder Meridian owns inside the repository; everything
	// below it is rewritten on every apply, nothing outside it is touched.
	// Empty means the repository root.
	Path string `json:"path,omitempty"`
	// MoveGrace is how long the old placement of a moved workload is kept
	// when no Argo CD server is configured to confirm the new one is healthy
	// (default 10m).
	MoveGrace time.Duration `json:"move_grace,omitempty"`
}

// ArgoCDSettings describes the Argo CD instance that syncs the deploy repo.
type ArgoCDSettings struct {
	// Server is the Argo CD API base URL (https://argocd.example.com). Empty
	// means Meridian renders Applications but never asks Argo CD anything:
	// moves complete over two applies, after deploy.move_grace.
	Server string `json:"server,omitempty"`
	// TokenEnv names the environment variable holding the API bearer token
	// (default ARGOCD_AUTH_TOKEN, as the argocd CLI uses).
	TokenEnv string `json:"token_env,omitempty"`
	// Project is the Argo CD project of every rendered Application
	// (default "default").
	Project string `json:"project,omitempty"`
	// Namespace is where Argo CD reads Applications (default "argocd").
	Namespace string `json:"namespace,omitempty"`
	// SyncOptions go into every Application's syncPolicy.syncOptions
	// (default [CreateNamespace=true]).
	SyncOptions []string `json:"sync_options,omitempty"`
	// HealthTimeout bounds how long apply waits for a moved workload's new
	// Application to become Synced and Healthy (default 5m).
	HealthTimeout time.Duration `json:"health_timeout,omitempty"`
}

// Defaults for ArgoCDSettings.
const (
	DefaultArgoCDTokenEnv      = "ARGOCD_AUTH_TOKEN"
	DefaultArgoCDProject       = "default"
	DefaultArgoCDNamespace     = "argocd"
	DefaultDeployBranch        = "main"
	DefaultArgoCDHealthTimeout = 5 * time.Minute
)

// Destination is where Argo CD deploys a workload on a target: a cluster
// registered in Argo CD, by API server URL or by name, and a namespace.
type Destination struct {
	// Server is the cluster's API server URL as registered in Argo CD.
	Server string `json:"server,omitempty"`
	// Name is the cluster's name in Argo CD. Exactly one of Server and Name
	// is used; when both are empty the target's name is the cluster name.
	Name string `json:"name,omitempty"`
	// Namespace receives the workload's resources. Empty means a namespace
	// named after the workload.
	Namespace string `json:"namespace,omitempty"`
}

// CrossplaneTarget tunes how an engine: crossplane target's cloud resources
// are rendered.
type CrossplaneTarget struct {
	// ProviderConfig names the provider configuration every managed
	// resource uses (default: the ClusterProviderConfig "default").
	ProviderConfig ProviderConfigRef `json:"provider_config,omitzero"`
	// Destination is the cluster Crossplane runs in, and the namespace of
	// the managed resources (default: Argo CD's own cluster,
	// https://kubernetes.default.svc, and a namespace named after the
	// workload).
	Destination Destination `json:"destination,omitzero"`
	// TenantID is the Azure AD tenant of the Key Vaults (Azure only; the
	// Key Vault API requires it).
	TenantID string `json:"tenant_id,omitempty"`
	// Project is the GCP project of the keys and buckets (GCP only; the
	// bucket's KMS key is named by its full project path).
	Project string `json:"project,omitempty"`
	// Composite, when set, replaces the built-in managed resources by one
	// composite resource of the user's own XRD.
	Composite *CompositeRef `json:"composite,omitempty"`
	// Cluster, when set, is where Meridian reads the rendered resources
	// back for drift (engine crossplane); without it they are rendered and
	// never looked at again.
	Cluster *CrossplaneCluster `json:"cluster,omitempty"`
}

// CrossplaneCluster says how Meridian reaches the cluster that holds a
// target's managed resources, to read them. Exactly one of Kubeconfig and
// InCluster is set.
type CrossplaneCluster struct {
	// Kubeconfig is the path of a kubeconfig file on the host Meridian runs
	// on (never in the config repo: it holds credentials). Its credentials
	// are only sent to the server its context names.
	Kubeconfig string `json:"kubeconfig,omitempty"`
	// Context is the kubeconfig context to use (default: its current one).
	Context string `json:"context,omitempty"`
	// InCluster uses the service account of the pod Meridian runs in.
	InCluster bool `json:"in_cluster,omitempty"`
	// ReadyGrace is how long a managed resource may be not Ready, or
	// missing after Meridian committed it, before it counts as drift: a
	// provider needs minutes to create a bucket or a vault (default 15m).
	ReadyGrace time.Duration `json:"ready_grace,omitempty"`
}

// DefaultCrossplaneReadyGrace is CrossplaneCluster.ReadyGrace's default.
const DefaultCrossplaneReadyGrace = 15 * time.Minute

// ProviderConfigRef names a Crossplane provider configuration.
type ProviderConfigRef struct {
	// Kind is ClusterProviderConfig (default) or ProviderConfig.
	Kind string `json:"kind,omitempty"`
	// Name defaults to "default".
	Name string `json:"name,omitempty"`
}

// CompositeRef points at a composite resource kind defined by the user's
// own CompositeResourceDefinition.
type CompositeRef struct {
	// APIVersion is the XR's group/version, e.g. platform.example.org/v1alpha1.
	APIVersion string `json:"api_version"`
	// Kind is the XR's kind, e.g. WorkloadInfra.
	Kind string `json:"kind"`
	// Composition names the Composition to use; empty lets Crossplane pick
	// the XRD's default.
	Composition string `json:"composition,omitempty"`
}

// Source kinds of a workload's manifests.
const (
	SourceHelm      = "helm"
	SourceKustomize = "kustomize"
)

// Source is where Argo CD finds a workload's manifests.
type Source struct {
	// RepoURL is the Git (or Helm) repository URL.
	RepoURL string `json:"repo_url"`
	// Path is the chart or kustomization folder inside a Git repository.
	Path string `json:"path,omitempty"`
	// Chart is the chart name in a Helm repository (instead of Path).
	Chart string `json:"chart,omitempty"`
	// Revision is the Git revision or chart version (default HEAD).
	Revision string `json:"revision,omitempty"`
	// Kind is helm or kustomize.
	Kind string `json:"kind"`
	// ReplicasKey is where the sized replica count goes: for helm the
	// dotted values key (default replicaCount), for kustomize the name of
	// the Deployment or StatefulSet (default: the workload's name).
	ReplicasKey string `json:"replicas_key,omitempty"`
}

// Actions of a DeployFile.
const (
	DeployAdd    = "add"
	DeployChange = "change"
	DeployRemove = "remove"
)

// DeploySign is the diff sign of a deploy-repo file action: + add,
// - remove, ~ change.
func DeploySign(action string) string {
	switch action {
	case DeployAdd:
		return "+"
	case DeployRemove:
		return "-"
	}
	return "~"
}

// DeployDiff is what an apply would change in the deploy repo.
type DeployDiff struct {
	// Repo is the deploy repository (credentials removed).
	Repo   string `json:"repo"`
	Branch string `json:"branch"`
	Path   string `json:"path,omitempty"`
	// Base is the deploy repo commit the diff is against; empty for a
	// repository without commits.
	Base string `json:"base,omitempty"`
	// Files lists every file the next commit adds, changes or removes, by
	// path.
	Files []DeployFile `json:"files"`
	// Held lists moves whose old placement this commit keeps running until
	// the new one is confirmed healthy.
	Held []HeldPlacement `json:"held,omitempty"`
	// Error says why the deploy repo could not be read or rendered; the
	// rest of the plan is still valid.
	Error string `json:"error,omitempty"`
}

// DeployFile is one file of a DeployDiff.
type DeployFile struct {
	Path   string `json:"path"`
	Action string `json:"action"`
	// Workload and Target are set for files that belong to one placement.
	Workload string `json:"workload,omitempty"`
	Target   string `json:"target,omitempty"`
	// Diff is the unified diff of the file (a/path, b/path headers).
	Diff string `json:"diff"`
	// Resource is set on a removed Crossplane resource: what deleting it
	// does to the cloud resource.
	Resource *DeployResource `json:"resource,omitempty"`
}

// HeldPlacement is an old placement kept during a make-before-break move.
type HeldPlacement struct {
	Workload string `json:"workload"`
	// Target is the placement being kept.
	Target string `json:"target"`
	// Until names the targets that must be healthy first.
	Until []string `json:"until"`
	// Files are the placement's files the move removes once it completes,
	// and Resources the Crossplane resources among them.
	Files     []string         `json:"files,omitempty"`
	Resources []DeployResource `json:"resources,omitempty"`
}

// Actions of Argo CD drift (DriftRecord.Action of engine argocd).
const (
	DriftMissing   = "missing"
	DriftOutOfSync = "out-of-sync"
	DriftUnhealthy = "unhealthy"
)

// Actions of Crossplane drift (DriftRecord.Action of engine crossplane),
// besides DriftMissing for a managed resource deleted out of band.
const (
	// DriftNotReady: Ready has not been True for longer than the grace.
	DriftNotReady = "not-ready"
	// DriftSyncFailed: Synced is False, with the provider's error.
	DriftSyncFailed = "sync-failed"
	// DriftSpecChanged: a field Meridian rendered holds another value.
	DriftSpecChanged = "spec-changed"
)
