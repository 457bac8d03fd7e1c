// Package terraform drives a Terraform-compatible binary (terraform or
// tofu) for Meridian through terraform-exec, with structured output from
// terraform-json; it never reads Terraform's human output.
//
// A Runner is one located, version-checked binary with the environment every
// Terraform process gets (Env is the one place that environment is built). A
// Workspace is one target's working folder: Meridian copies the target's
// root module into it, writes meridian.auto.tfvars.json, and runs init,
// plan -out, show -json and apply of the saved plan there. Sensitive values
// are redacted (Redact, LogRedactor) before anything leaves this package.
package terraform
