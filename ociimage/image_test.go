package ociimage

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/meridianhq/meridian/citest"
)

// need returns the binary a test needs from the environment; without it
// the test skips, and fails under CI=true.
func need(t *testing.T, env, why string) string {
	t.Helper()
	p := os.Getenv(env)
	if p == "" {
		citest.Missing(t, "no "+env+": "+why)
	}
	return p
}

// buildMeridian builds the static meridian the image ships, as
// scripts/build-image.sh does but without -trimpath, which would
// recompile every package rather than reuse the tests' build cache.
func buildMeridian(t *testing.T) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "meridian")
	cmd := exec.Command("go", "build", "-ldflags", "-X main.version=v9.9.9-imagetest", "-o", out, "../cmd/meridian")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build meridian: %v\n%s", err, b)
	}
	return out
}

// openLayout reads the one image of ref back from an OCI layout, as a
// registry client or runtime would.
func openLayout(t *testing.T, dir, ref string) v1.Image {
	t.Helper()
	idx, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		t.Fatal(err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	var found []v1.Descriptor
	for _, d := range im.Manifests {
		if d.Annotations["org.opencontainers.image.ref.name"] == ref {
			found = append(found, d)
		}
	}
	if len(found) != 1 {
		t.Fatalf("layout %s: %d images tagged %s, want 1 (%+v)", dir, len(found), ref, im.Manifests)
	}
	if found[0].MediaType != types.OCIManifestSchema1 {
		t.Errorf("manifest media type %s, want OCI", found[0].MediaType)
	}
	img, err := idx.Image(found[0].Digest)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// secretName matches files that hold credentials by their name.
var secretName = regexp.MustCompile(`(^|/)(\.git-credentials|\.netrc|\.npmrc|\.pypirc|id_(rsa|ecdsa|ed25519|dsa)|\.docker/config\.json|\.aws/credentials|\.terraformrc|terraform\.rc|credentials\.tfrc\.json|[^/]*\.(key|p12|pfx))$`)

// secretContent matches credentials in file contents: PEM private keys
// with a body, and the token formats of GitHub, AWS, Slack and GitLab.
var secretContent = regexp.MustCompile(`-----BEGIN [A-Z ]*PRIVATE KEY-----\s*[A-Za-z0-9+/=\s]{64}|` +
	`\bgh[pousr]_[A-Za-z0-9]{36}\b|\bgithub_pat_[A-Za-z0-9_]{50,}|\bAKIA[0-9A-Z]{16}\b|\bxox[abprs]-[0-9A-Za-z-]{10,}|\bglpat-[0-9A-Za-z_-]{20}`)

// publicTestKey names the Debian libraries known to embed a private key
// that is public test data: GnuTLS carries the keys of its FIPS 140
// self-tests (lib/crypto-selftests-pk.c), linked in through libcurl.
var publicTestKey = regexp.MustCompile(`^usr/lib/[^/]+/libgnutls\.so\.[0-9.]+$`)

// scanLayers reads every layer's files and reports those that look like
// credentials, and paths from a build machine's home.
func scanLayers(t *testing.T, img v1.Image) (files int) {
	t.Helper()
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	for i, l := range layers {
		rc, err := l.Uncompressed()
		if err != nil {
			t.Fatal(err)
		}
		tr := tar.NewReader(rc)
		for {
			h, err := tr.Next()
			if errors.Is(err, io.EOF) {
				break
			} else if err != nil {
				t.Fatalf("layer %d: %v", i, err)
			}
			files++
			if secretName.MatchString(h.Name) {
				t.Errorf("layer %d holds %s, a credentials file", i, h.Name)
			}
			if strings.HasPrefix(h.Name, "root/") || strings.HasPrefix(h.Name, "home/") && h.Name != "home/" && !strings.HasPrefix(h.Name, "home/meridian") {
				t.Errorf("layer %d holds %s, from a home folder", i, h.Name)
			}
			if h.Typeflag != tar.TypeReg {
				continue
			}
			b, err := io.ReadAll(tr)
			if err != nil {
				t.Fatal(err)
			}
			if m := secretContent.Find(b); m != nil && !publicTestKey.MatchString(h.Name) {
				t.Errorf("layer %d: %s holds what looks like a credential: %.40q…", i, h.Name, m)
			}
		}
		rc.Close()
	}
	return files
}

// extract writes the image's flattened file system to dir, keeping
// modes, owners and symlinks, as a container runtime would unpack it.
func extract(t *testing.T, img v1.Image, dir string) {
	t.Helper()
	rc := mutate.Extract(img)
	defer rc.Close()
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return
		} else if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, filepath.FromSlash(h.Name))
		switch h.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(p, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(p, os.FileMode(h.Mode&0o777)|modeBits(h.Mode)); err != nil {
				t.Fatal(err)
			}
		case tar.TypeSymlink:
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(h.Linkname, p); err != nil {
				t.Fatal(err)
			}
			continue
		case tar.TypeReg:
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			f, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, os.FileMode(h.Mode&0o777))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := io.Copy(f, tr); err != nil {
				t.Fatal(err)
			}
			if err := f.Close(); err != nil {
				t.Fatal(err)
			}
		default:
			t.Fatalf("%s: unexpected tar type %c", h.Name, h.Typeflag)
		}
		if os.Geteuid() == 0 {
			if err := os.Lchown(p, h.Uid, h.Gid); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func modeBits(m int64) os.FileMode {
	if m&0o1000 != 0 {
		return os.ModeSticky
	}
	return 0
}

// TestImage builds the image from a fresh static meridian, the Terraform
// of the end-to-end tests and this machine's git, writes it as an OCI
// layout, and checks what a runtime would read back: the config, every
// layer's files for credentials, and the binaries running from the
// unpacked file system.
func TestImage(t *testing.T) {
	terraform := need(t, "MERIDIAN_TERRAFORM", "the image ships a Terraform binary (scripts/install-terraform.sh)")
	if _, err := exec.LookPath("ldd"); err != nil {
		t.Fatal("no ldd: the image's git libraries are found with it (Debian libc-bin)")
	}
	meridian := buildMeridian(t)
	ctx := context.Background()
	created := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	start := time.Now()
	img, err := Build(ctx, Options{Meridian: meridian, Terraform: terraform, Version: "v9.9.9-imagetest",
		Revision: "0123456789abcdef0123456789abcdef01234567", Created: created})
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "layout")
	const ref = "ghcr.io/meridianhq/meridian:v9.9.9-imagetest"
	if err := WriteLayout(dir, img, ref); err != nil {
		t.Fatal(err)
	}
	// A second write of the same tag replaces, not adds.
	if err := WriteLayout(dir, img, ref); err != nil {
		t.Fatal(err)
	}
	t.Logf("built and wrote the layout in %s", time.Since(start).Round(time.Millisecond))
	got := openLayout(t, dir, ref)

	cf, err := got.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	c := cf.Config
	if c.User == "" || c.User == "0" || strings.HasPrefix(c.User, "0:") || strings.HasPrefix(c.User, "root") {
		t.Errorf("user %q: the image must not run as root", c.User)
	}
	if !slices.Equal(c.Entrypoint, []string{MeridianPath}) {
		t.Errorf("entrypoint %q, want [%s]", c.Entrypoint, MeridianPath)
	}
	if _, ok := c.ExposedPorts["8080/tcp"]; !ok {
		t.Errorf("exposed ports %v lack 8080/tcp", c.ExposedPorts)
	}
	for k, want := range map[string]string{
		"org.opencontainers.image.version":  "v9.9.9-imagetest",
		"org.opencontainers.image.revision": "0123456789abcdef0123456789abcdef01234567",
		"org.opencontainers.image.source":   "https://github.com/meridianhq/meridian",
		"org.opencontainers.image.created":  "2026-01-02T03:04:05Z",
		"org.opencontainers.image.title":    "meridian",
	} {
		if c.Labels[k] != want {
			t.Errorf("label %s = %q, want %q", k, c.Labels[k], want)
		}
	}
	if c.Healthcheck == nil || len(c.Healthcheck.Test) < 3 || c.Healthcheck.Test[0] != "CMD" || c.Healthcheck.Test[1] != MeridianPath {
		t.Errorf("healthcheck %+v, want the meridian binary probing itself", c.Healthcheck)
	}
	for _, e := range c.Env {
		if k, _, _ := strings.Cut(e, "="); strings.Contains(k, "TOKEN") || strings.Contains(k, "SECRET") || strings.Contains(k, "PASSWORD") {
			t.Errorf("env %s: credentials never go in the image", k)
		}
	}
	if cf.OS != "linux" || cf.Architecture != "amd64" || !cf.Created.Time.Equal(created) {
		t.Errorf("config os/arch/created = %s/%s/%s", cf.OS, cf.Architecture, cf.Created.Time)
	}
	layers, err := got.Layers()
	if err != nil {
		t.Fatal(err)
	}
	if len(layers) != 3 || len(cf.History) != 3 {
		t.Errorf("%d layers, %d history entries: want base, terraform, meridian", len(layers), len(cf.History))
	}
	t.Logf("%d files in the layers", scanLayers(t, got))

	root := t.TempDir()
	extract(t, got, root)
	for _, p := range []string{"etc/passwd", "etc/ssl/certs/ca-certificates.crt", "usr/bin/git", "usr/lib/git-core/git-remote-https",
		"usr/local/bin/terraform", "usr/local/bin/meridian"} {
		if _, err := os.Stat(filepath.Join(root, p)); err != nil {
			t.Errorf("the image lacks /%s: %v", p, err)
		}
	}
	for _, d := range []string{HomeDir, StateDir} {
		st, err := os.Stat(filepath.Join(root, d))
		if err != nil {
			t.Fatal(err)
		}
		if sys := st.Sys().(*syscall.Stat_t); os.Geteuid() == 0 && int(sys.Uid) != UID {
			t.Errorf("%s is owned by %d, want the image's user %d", d, sys.Uid, UID)
		}
	}

	bin := filepath.Join(root, "usr", "local", "bin", "meridian")
	out, err := exec.Command(bin, "version").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "v9.9.9-imagetest") {
		t.Errorf("meridian version from the image: %v\n%s", err, out)
	}
	example, err := filepath.Abs(filepath.Join("..", "examples", "hybrid"))
	if err != nil {
		t.Fatal(err)
	}
	if os.Geteuid() != 0 {
		// Without root there is no chroot: run the extracted binary here,
		// without Terraform.
		runPlan(t, exec.Command(bin, "plan", "--repo", example, "--terraform=false"))
		return
	}
	// As root: run inside the unpacked file system, as the image's user
	// with the image's environment, as a container runtime would (less
	// the namespaces): this proves git's library closure and the static
	// meridian work on nothing but the image's files.
	devNull(t, root)
	if err := os.CopyFS(filepath.Join(root, "tmp", "hybrid"), os.DirFS(example)); err != nil {
		t.Fatal(err)
	}
	inImage := func(args ...string) *exec.Cmd {
		cmd := exec.Command(args[0], args[1:]...)
		cmd.Env, cmd.Dir = c.Env, "/"
		cmd.SysProcAttr = &syscall.SysProcAttr{Chroot: root, Credential: &syscall.Credential{Uid: UID, Gid: UID}}
		return cmd
	}
	for _, args := range [][]string{{"/usr/bin/git", "--version"}, {"/usr/bin/git", "init", "-q", "/tmp/repo"}, {TerraformPath, "version"}} {
		if out, err := inImage(args...).CombinedOutput(); err != nil {
			t.Errorf("%s in the image: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	runPlan(t, inImage(MeridianPath, "plan", "--repo", "/tmp/hybrid"))
}

// devNull makes the /dev/null a runtime would mount: Go's os/exec opens
// it for a child's missing stdin.
func devNull(t *testing.T, root string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Join(root, "dev"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mknod(filepath.Join(root, "dev", "null"), syscall.S_IFCHR|0o666, 1<<8|3); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(filepath.Join(root, "dev", "null"), 0o666); err != nil {
		t.Fatal(err)
	}
}

// runPlan runs `meridian plan` on the example: exit 0 (clean) or 2 (a
// deny finding or an unplaceable workload) with a placement per workload.
func runPlan(t *testing.T, cmd *exec.Cmd) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	if err != nil && !(errors.As(err, &ee) && ee.ExitCode() == 2) {
		t.Fatalf("%s: %v\nstdout:\n%s\nstderr:\n%s", cmd, err, stdout.String(), stderr.String())
	}
	for _, w := range []string{"checkout-web", "payments-api", "search-api"} {
		if !strings.Contains(stdout.String(), w) {
			t.Errorf("the plan does not place %s:\n%s", w, stdout.String())
		}
	}
}

// TestBaseLayerReproducible checks that two builds of the base layer from
// the same files give the same digest: nothing of the build's time or
// order leaks in.
func TestBaseLayerReproducible(t *testing.T) {
	terraform := need(t, "MERIDIAN_TERRAFORM", "the base layer holds Terraform's libraries")
	opts := Options{Terraform: terraform}
	opts.defaults()
	var digests []v1.Hash
	for range 2 {
		tr, err := baseTree(context.Background(), opts)
		if err != nil {
			t.Fatal(err)
		}
		l, err := layerOf(tr, opts.Created)
		if err != nil {
			t.Fatal(err)
		}
		d, err := l.Digest()
		if err != nil {
			t.Fatal(err)
		}
		digests = append(digests, d)
	}
	if digests[0] != digests[1] {
		t.Errorf("base layer digests differ: %s, %s", digests[0], digests[1])
	}
}

// TestBuildRefuses checks the inputs a build must refuse.
func TestBuildRefuses(t *testing.T) {
	dir := t.TempDir()
	notExec := filepath.Join(dir, "meridian")
	if err := os.WriteFile(notExec, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	dynamic, err := exec.LookPath("git") // a dynamically linked binary
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string]struct {
		opts Options
		want string
	}{
		"no meridian":       {Options{Terraform: dynamic}, "no meridian binary"},
		"missing terraform": {Options{Meridian: dynamic, Terraform: filepath.Join(dir, "nope")}, "terraform binary"},
		"not executable":    {Options{Meridian: notExec, Terraform: dynamic}, "not executable"},
		"dynamic meridian":  {Options{Meridian: dynamic, Terraform: dynamic}, "CGO_ENABLED=0"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := Build(context.Background(), tc.opts)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Build: %v, want an error naming %q", err, tc.want)
			}
		})
	}
}
