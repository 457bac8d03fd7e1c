package argocd

import (
	"encoding/json"
	"fmt"
	"strconv"
)

// API group, version and kind of an Argo CD Application.
const (
	APIVersion      = "argoproj.io/v1alpha1"
	KindApplication = "Application"
)

// ResourcesFinalizer makes deleting an Application delete the resources it
// deployed, in foreground (a cascading delete). It is Argo CD's
// ForegroundPropagationPolicyFinalizer; the older unqualified spelling
// means the same but draws an API server warning, since finalizer names
// should carry a path.
const ResourcesFinalizer = "resources-finalizer.argocd.argoproj.io/foreground"

// Sync statuses (v1alpha1.SyncStatusCode).
const (
	SyncStatusSynced    = "Synced"
	SyncStatusOutOfSync = "OutOfSync"
	SyncStatusUnknown   = "Unknown"
)

// Health statuses (gitops-engine health.HealthStatusCode).
const (
	HealthHealthy     = "Healthy"
	HealthProgressing = "Progressing"
	HealthDegraded    = "Degraded"
	HealthSuspended   = "Suspended"
	HealthMissing     = "Missing"
	HealthUnknown     = "Unknown"
)

// Application is the subset of argoproj.io/v1alpha1 Application that
// Meridian writes and reads. Field order is the rendered YAML's key order.
type Application struct {
	APIVersion string             `json:"apiVersion"`
	Kind       string             `json:"kind"`
	Metadata   ObjectMeta         `json:"metadata"`
	Spec       ApplicationSpec    `json:"spec"`
	Status     *ApplicationStatus `json:"status,omitempty"`
}

// ObjectMeta is the subset of Kubernetes object metadata Meridian uses.
type ObjectMeta struct {
	Name        string            `json:"name"`
	Namespace   string            `json:"namespace,omitempty"`
	Labels      map[string]string `json:"labels,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
	Finalizers  []string          `json:"finalizers,omitempty"`
}

// ApplicationSpec is v1alpha1ApplicationSpec.
type ApplicationSpec struct {
	Project     string                 `json:"project"`
	Source      *ApplicationSource     `json:"source,omitempty"`
	Sources     []ApplicationSource    `json:"sources,omitempty"`
	Destination ApplicationDestination `json:"destination"`
	SyncPolicy  *SyncPolicy            `json:"syncPolicy,omitempty"`
}

// ApplicationSource is v1alpha1ApplicationSource: a Git path or a Helm chart.
type ApplicationSource struct {
	RepoURL        string                      `json:"repoURL"`
	Path           string                      `json:"path,omitempty"`
	Chart          string                      `json:"chart,omitempty"`
	TargetRevision string                      `json:"targetRevision,omitempty"`
	Helm           *ApplicationSourceHelm      `json:"helm,omitempty"`
	Kustomize      *ApplicationSourceKustomize `json:"kustomize,omitempty"`
	Directory      *ApplicationSourceDirectory `json:"directory,omitempty"`
}

// ApplicationSourceHelm is v1alpha1ApplicationSourceHelm.
type ApplicationSourceHelm struct {
	ReleaseName string          `json:"releaseName,omitempty"`
	Parameters  []HelmParameter `json:"parameters,omitempty"`
	// ValuesObject is free-form Helm values (a runtime.RawExtension in Argo
	// CD). It is kept raw so that rendering controls its bytes.
	ValuesObject json.RawMessage `json:"valuesObject,omitempty"`
}

// HelmParameter is one --set value.
type HelmParameter struct {
	Name        string `json:"name"`
	Value       string `json:"value"`
	ForceString bool   `json:"forceString,omitempty"`
}

// ApplicationSourceKustomize is v1alpha1ApplicationSourceKustomize.
type ApplicationSourceKustomize struct {
	Replicas []KustomizeReplica `json:"replicas,omitempty"`
}

// KustomizeReplica overrides the replica count of one Deployment or
// StatefulSet.
type KustomizeReplica struct {
	Name  string    `json:"name"`
	Count IntOrText `json:"count"`
}

// IntOrText is an int-or-string field (count of a KustomizeReplica). Meridian
// writes integers; Argo CD may return either form.
type IntOrText int64

// UnmarshalJSON accepts 3 and "3".
func (n *IntOrText) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		v, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return fmt.Errorf("count %q is not an integer", s)
		}
		*n = IntOrText(v)
		return nil
	}
	var v int64
	if err := json.Unmarshal(b, &v); err != nil {
		return fmt.Errorf("count must be an integer or a string: %w", err)
	}
	*n = IntOrText(v)
	return nil
}

// ApplicationSourceDirectory is v1alpha1ApplicationSourceDirectory.
type ApplicationSourceDirectory struct {
	Recurse bool   `json:"recurse,omitempty"`
	Include string `json:"include,omitempty"`
	Exclude string `json:"exclude,omitempty"`
}

// ApplicationDestination is v1alpha1ApplicationDestination: a cluster by
// server URL or by name, and a namespace.
type ApplicationDestination struct {
	Server    string `json:"server,omitempty"`
	Name      string `json:"name,omitempty"`
	Namespace string `json:"namespace,omitempty"`
}

// SyncPolicy is v1alpha1SyncPolicy.
type SyncPolicy struct {
	Automated   *SyncPolicyAutomated `json:"automated,omitempty"`
	SyncOptions []string             `json:"syncOptions,omitempty"`
	Retry       *RetryStrategy       `json:"retry,omitempty"`
}

// SyncPolicyAutomated is v1alpha1SyncPolicyAutomated.
type SyncPolicyAutomated struct {
	Prune    bool `json:"prune,omitempty"`
	SelfHeal bool `json:"selfHeal,omitempty"`
}

// RetryStrategy is v1alpha1RetryStrategy.
type RetryStrategy struct {
	Limit   int64    `json:"limit,omitempty"`
	Backoff *Backoff `json:"backoff,omitempty"`
}

// Backoff is v1alpha1Backoff.
type Backoff struct {
	Duration    string `json:"duration,omitempty"`
	Factor      int64  `json:"factor,omitempty"`
	MaxDuration string `json:"maxDuration,omitempty"`
}

// ApplicationStatus is the part of v1alpha1ApplicationStatus Meridian reads.
type ApplicationStatus struct {
	Sync           SyncStatus             `json:"sync"`
	Health         HealthStatus           `json:"health"`
	Resources      []ResourceStatus       `json:"resources,omitempty"`
	OperationState *OperationState        `json:"operationState,omitempty"`
	Conditions     []ApplicationCondition `json:"conditions,omitempty"`
	ReconciledAt   string                 `json:"reconciledAt,omitempty"`
}

// SyncStatus is v1alpha1SyncStatus.
type SyncStatus struct {
	// Status is one of the SyncStatus constants.
	Status   string `json:"status"`
	Revision string `json:"revision,omitempty"`
}

// HealthStatus is v1alpha1HealthStatus (and AppHealthStatus).
type HealthStatus struct {
	// Status is one of the Health constants.
	Status  string `json:"status,omitempty"`
	Message string `json:"message,omitempty"`
}

// ResourceStatus is applicationv1alpha1ResourceStatus: one resource the
// Application manages.
type ResourceStatus struct {
	Group     string        `json:"group,omitempty"`
	Version   string        `json:"version,omitempty"`
	Kind      string        `json:"kind,omitempty"`
	Namespace string        `json:"namespace,omitempty"`
	Name      string        `json:"name,omitempty"`
	Status    string        `json:"status,omitempty"`
	Health    *HealthStatus `json:"health,omitempty"`
	// RequiresPruning is set for live resources no longer in Git.
	RequiresPruning bool `json:"requiresPruning,omitempty"`
}

// OperationState is the part of v1alpha1OperationState Meridian reports.
type OperationState struct {
	// Phase is Running, Terminating, Failed, Error or Succeeded.
	Phase      string `json:"phase,omitempty"`
	Message    string `json:"message,omitempty"`
	StartedAt  string `json:"startedAt,omitempty"`
	FinishedAt string `json:"finishedAt,omitempty"`
}

// ApplicationCondition is v1alpha1ApplicationCondition (usually an error or
// a warning).
type ApplicationCondition struct {
	Type    string `json:"type"`
	Message string `json:"message"`
}

// ApplicationList is v1alpha1ApplicationList.
type ApplicationList struct {
	Items []Application `json:"items"`
}

// SyncRequest is applicationApplicationSyncRequest.
type SyncRequest struct {
	Name         string `json:"name"`
	AppNamespace string `json:"appNamespace,omitempty"`
	Revision     string `json:"revision,omitempty"`
	Prune        bool   `json:"prune,omitempty"`
	DryRun       bool   `json:"dryRun,omitempty"`
}

// Ready reports whether Argo CD reports the Application Synced and Healthy:
// the condition a make-before-break move waits for.
func (a *Application) Ready() bool {
	return a.Status != nil && a.Status.Sync.Status == SyncStatusSynced && a.Status.Health.Status == HealthHealthy
}

// Summary is "Synced/Healthy"-style text for messages.
func (a *Application) Summary() string {
	if a.Status == nil {
		return "no status yet"
	}
	sync, health := a.Status.Sync.Status, a.Status.Health.Status
	if sync == "" {
		sync = SyncStatusUnknown
	}
	if health == "" {
		health = HealthUnknown
	}
	s := sync + "/" + health
	if m := a.Status.Health.Message; m != "" {
		s += ": " + m
	}
	if op := a.Status.OperationState; op != nil && (op.Phase == "Failed" || op.Phase == "Error") {
		s += fmt.Sprintf(" (last sync %s: %s)", op.Phase, op.Message)
	}
	return s
}

// Unhealthy returns the resources that are out of sync, need pruning, or
// are not healthy, in the order Argo CD lists them.
func (a *Application) Unhealthy() []ResourceStatus {
	if a.Status == nil {
		return nil
	}
	var out []ResourceStatus
	for _, r := range a.Status.Resources {
		bad := r.Status != "" && r.Status != SyncStatusSynced
		bad = bad || r.RequiresPruning
		bad = bad || (r.Health != nil && r.Health.Status != "" && r.Health.Status != HealthHealthy)
		if bad {
			out = append(out, r)
		}
	}
	return out
}

// Ref is group/Kind namespace/name, the way Argo CD's UI names a resource.
func (r ResourceStatus) Ref() string {
	gk := r.Kind
	if r.Group != "" {
		gk = r.Group + "/" + r.Kind
	}
	if r.Namespace != "" {
		return gk + " " + r.Namespace + "/" + r.Name
	}
	return gk + " " + r.Name
}
