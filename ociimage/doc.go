// Package ociimage builds Meridian's container image without a container
// daemon: an OCI image of three layers written with go-containerregistry.
//
//   - base: what a minimal distribution gives, taken from the build
//     machine's Debian files — git (with its HTTPS helper, for Terraform's
//     git:: module sources) and the shared libraries ldd names for it, the
//     CA bundle, /etc/passwd and /etc/group naming one unprivileged user
//     (65532), and that user's home, state and temp folders;
//   - terraform: one Terraform-compatible binary;
//   - meridian: the static meridian binary, last because it changes most.
//
// No base image is pulled: the build runs with no registry. The image
// holds no shell and no package manager; the Dockerfile at the module
// root builds the same layout from Debian images for those who have
// Docker. Every file's time is Options.Created, so that two builds of the
// same inputs give the same digest.
package ociimage
