package config

import (
	"regexp"

	"github.com/meridianhq/meridian"
)

var (
	awsAccountRE = regexp.MustCompile(`^[0-9]{12}$`)
	awsRoleRE    = regexp.MustCompile(`^arn:aws[a-z-]*:iam::[0-9]{12}:role/[\w+=,.@/-]{1,512}$`)
)

// validateAccount checks a target's account block against its provider:
// the ID's shape, and fields that only one provider reads.
func (l *loader) validateAccount(t *meridian.Target) {
	a, o := t.Account, t.Origin
	if a == nil {
		return
	}
	cloud := t.Provider.Cloud()
	switch t.Provider {
	case meridian.ProviderAWS:
		if !awsAccountRE.MatchString(a.ID) {
			l.at(o, "account.id", "must be a 12-digit AWS account ID, got %q", a.ID)
		}
		if a.RoleARN != "" && !awsRoleRE.MatchString(a.RoleARN) {
			l.at(o, "account.role_arn", "must be an IAM role ARN (arn:aws:iam::ACCOUNT:role/NAME), got %q", a.RoleARN)
		}
	case meridian.ProviderAzure:
		if !uuidRE.MatchString(a.ID) {
			l.at(o, "account.id", "must be an Azure subscription ID (a GUID), got %q", a.ID)
		}
	case meridian.ProviderGCP:
		if !gcpProjectRE.MatchString(a.ID) {
			l.at(o, "account.id", "must be a GCP project ID (6-30 lower-case letters, digits and hyphens, starting with a letter), got %q", a.ID)
		}
	}
	if t.Provider != meridian.ProviderAWS {
		if a.Profile != "" {
			l.at(o, "account.profile", "only aws targets read an AWS profile")
		}
		if a.RoleARN != "" {
			l.at(o, "account.role_arn", "only aws targets assume an AWS role")
		}
	}
	if cloud && a.KubeContext != "" {
		l.at(o, "account.kube_context", "only onprem and edge targets are read through a Kubernetes API")
	}
	if !cloud && a.ID != "" {
		l.at(o, "account.id", "%s targets have no cloud account: name their kubeconfig context in account.kube_context", t.Provider)
	}
	if !cloud && a.KubeContext == "" {
		l.at(o, "account.kube_context", "required for %s targets: the kubeconfig context of the target's Kubernetes API", t.Provider)
	}
}
