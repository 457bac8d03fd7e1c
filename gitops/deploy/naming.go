package deploy

import (
	"crypto/sha256"
	"encoding/hex"
	"path"
	"regexp"
	"strings"
)

// Labels Meridian puts on everything it renders. Argo CD selects a
// workload's Applications by them; drift detection reads them back.
const (
	LabelWorkload  = "meridian.io/workload"
	LabelTarget    = "meridian.io/target"
	LabelLayer     = "meridian.io/layer"
	LabelManagedBy = "app.kubernetes.io/managed-by"
	managedBy      = "meridian"

	// LayerApp marks the Application that deploys a workload's manifests,
	// LayerInfra the one that deploys its Crossplane resources.
	LayerApp   = "app"
	LayerInfra = "infra"
)

// Folders of the deploy tree, relative to deploy.path.
const (
	rootFile = "root.yaml"
	appsDir  = "apps"
	infraDir = "infra"
)

// AppName is the stable name of a workload's Application on a target:
// workload.target. Workload and target names are DNS labels without dots, so
// the dot keeps any two pairs apart ("a-b"+"c" and "a"+"b-c" would collide
// with a dash), and the result is a valid Kubernetes object name.
func AppName(workload, target string) string { return workload + "." + target }

// InfraAppName is the name of the Application that syncs a placement's
// Crossplane resources.
func InfraAppName(workload, target string) string {
	return AppName(workload, target) + "." + LayerInfra
}

// RootAppName is the app-of-apps Application of a deploy path: "meridian",
// or "meridian-<path>" with the path made a DNS label.
func RootAppName(deployPath string) string {
	if deployPath == "" {
		return "meridian"
	}
	return dnsLabel("meridian-"+deployPath, 63)
}

// appFile, infraAppFile and infraDirOf place a placement's files. Every
// file of a placement lives under a path that names its workload and
// target, so that Owner can attribute any file without parsing it.
func appFile(w, t string) string { return path.Join(appsDir, w, t+".yaml") }

// AppFile is the deploy-tree path, relative to deploy.path, of the
// Application a placement of workload w on target t always has.
func AppFile(w, t string) string      { return appFile(w, t) }
func infraAppFile(w, t string) string { return path.Join(appsDir, w, t+"."+LayerInfra+".yaml") }
func infraDirOf(w, t string) string   { return path.Join(infraDir, w, t) }

// Owner returns the workload and target a deploy-tree path belongs to, and
// false for files that belong to no single placement (root.yaml, or files
// someone else put there).
func Owner(p string) (workload, target string, ok bool) {
	parts := strings.Split(p, "/")
	switch {
	case len(parts) == 3 && parts[0] == appsDir && parts[1] != "" && parts[1] != siteAppsDir:
		t, ok := strings.CutSuffix(parts[2], ".yaml")
		if !ok {
			return "", "", false
		}
		t = strings.TrimSuffix(t, "."+LayerInfra)
		return parts[1], t, t != "" && !strings.Contains(t, ".")
	case len(parts) == 4 && parts[0] == infraDir && parts[1] != "" && parts[2] != "" && parts[3] != "":
		return parts[1], parts[2], true
	}
	return "", "", false
}

var nonDNS = regexp.MustCompile(`[^a-z0-9-]+`)

// dnsLabel lower-cases s, turns anything else into dashes, and shortens it
// to max characters with a hash suffix so that different long inputs stay
// different.
func dnsLabel(s string, max int) string {
	out := strings.Trim(nonDNS.ReplaceAllString(strings.ToLower(s), "-"), "-")
	for strings.Contains(out, "--") {
		out = strings.ReplaceAll(out, "--", "-")
	}
	if out != "" && len(out) <= max {
		return out
	}
	h := shortHash(s, 8)
	keep := max - len(h) - 1
	if keep > len(out) {
		keep = len(out)
	}
	return strings.Trim(out[:keep], "-") + "-" + h
}

// shortHash is the first n hex digits of sha256(s).
func shortHash(s string, n int) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])[:n]
}

// globalName builds a cloud resource name that must be unique across all of
// a cloud's customers (S3 and GCS buckets, Key Vaults): base, cut to fit,
// plus a hash of workload and target. It only depends on them, so it is
// stable across renders and machines.
func globalName(base, workload, target string, max int) string {
	h := shortHash("meridian/"+workload+"/"+target, 8)
	keep := max - len(h) - 1
	b := nonDNS.ReplaceAllString(strings.ToLower(base), "-")
	for strings.Contains(b, "--") {
		b = strings.ReplaceAll(b, "--", "-")
	}
	if len(b) > keep {
		b = b[:keep]
	}
	b = strings.Trim(b, "-")
	return b + "-" + h
}
