// Package inventory audits what really runs against the config: it reads
// each audited target's account or cluster through a Reader (the AWS,
// Azure and GCP SDKs, or a Kubernetes API), resolves every resource's
// owning workload and target from its tags, judges the resources with the
// same Rego as the config (policies.Engine.CheckLive) and reports drift:
// resources that run undeclared, placements whose resources are missing,
// and resources changed out of band. docs/audit.md is the user-facing
// contract.
package inventory
