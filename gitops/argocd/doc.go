// Package argocd is a small typed client for the Argo CD REST API, and the
// Application type Meridian renders into the deploy repo.
//
// It covers what Meridian needs and nothing more: listing Applications by
// label selector, reading one Application's sync and health status, and
// asking Argo CD to sync one. The types are a subset of Argo CD's
// v1alpha1.Application, checked field by field against the API's
// swagger.json (definitions v1alpha1Application, v1alpha1ApplicationList,
// applicationApplicationSyncRequest) and against the Application CRD's
// openAPIV3Schema. Argo CD's own Go module is deliberately not imported: it
// conflicts with the Kubernetes libraries Meridian uses and would double the
// binary.
package argocd
