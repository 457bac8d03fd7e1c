package ociimage

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Paths and identity inside the image. The chart (charts/meridian) and
// the Dockerfile use the same ones.
const (
	MeridianPath  = "/usr/local/bin/meridian"
	TerraformPath = "/usr/local/bin/terraform"
	StateDir      = "/var/lib/meridian"
	HomeDir       = "/home/meridian"
	CABundle      = "/etc/ssl/certs/ca-certificates.crt"
	// UID is the unprivileged user the image runs as: 65532, the
	// "nonroot" of distroless images, so that runAsNonRoot policies and
	// volume ownership carry over.
	UID = 65532
	// Port is where `meridian serve` listens in the image.
	Port = 8080
)

// Options are the inputs of one build.
type Options struct {
	// Meridian and Terraform are the binaries to ship. Meridian must be
	// static (CGO_ENABLED=0): the image has no libc for it.
	Meridian, Terraform string
	// Git is the git binary to ship with its libraries (default
	// /usr/bin/git); GitCore is its exec path (default /usr/lib/git-core),
	// from which the HTTPS remote helper is taken.
	Git, GitCore string
	// CABundle is the host's CA certificates (default the Debian bundle).
	CABundle string
	// Version and Revision label the image (org.opencontainers.image.*);
	// Source is the repository URL.
	Version, Revision, Source string
	// Created is the time of every file and of the image (default the
	// Unix epoch, for reproducible digests; pass SOURCE_DATE_EPOCH).
	Created time.Time
}

func (o *Options) defaults() {
	if o.Git == "" {
		o.Git = "/usr/bin/git"
	}
	if o.GitCore == "" {
		o.GitCore = "/usr/lib/git-core"
	}
	if o.CABundle == "" {
		o.CABundle = CABundle
	}
	if o.Version == "" {
		o.Version = "dev"
	}
	if o.Source == "" {
		o.Source = "https://github.com/meridianhq/meridian"
	}
	if o.Created.IsZero() {
		o.Created = time.Unix(0, 0).UTC()
	}
}

// Build assembles the image from the host files opts names.
func Build(ctx context.Context, opts Options) (v1.Image, error) {
	opts.defaults()
	for _, f := range []struct{ what, path string }{{"meridian", opts.Meridian}, {"terraform", opts.Terraform}} {
		if f.path == "" {
			return nil, fmt.Errorf("image: no %s binary given", f.what)
		}
		if st, err := os.Stat(f.path); err != nil {
			return nil, fmt.Errorf("image: %s binary: %w", f.what, err)
		} else if st.Mode()&0o111 == 0 {
			return nil, fmt.Errorf("image: %s binary %s is not executable", f.what, f.path)
		}
	}
	if libs, err := sharedLibs(ctx, opts.Meridian); err != nil {
		return nil, err
	} else if len(libs) > 0 {
		return nil, fmt.Errorf("image: %s is dynamically linked (%s): build it with CGO_ENABLED=0", opts.Meridian, libs[0])
	}
	base, err := baseTree(ctx, opts)
	if err != nil {
		return nil, err
	}
	tf, mer := tree{}, tree{}
	tf.add(entry{Name: TerraformPath, Source: opts.Terraform, Mode: 0o755})
	mer.add(entry{Name: MeridianPath, Source: opts.Meridian, Mode: 0o755})

	img := empty.Image
	for _, l := range []struct {
		t       tree
		comment string
	}{
		{base, "base: git " + opts.Git + " and its libraries, CA certificates, user " + strconv.Itoa(UID)},
		{tf, "terraform " + opts.Terraform},
		{mer, "meridian " + opts.Version},
	} {
		layer, err := layerOf(l.t, opts.Created)
		if err != nil {
			return nil, err
		}
		if img, err = mutate.Append(img, mutate.Addendum{Layer: layer, MediaType: types.OCILayer,
			History: v1.History{Created: v1.Time{Time: opts.Created}, CreatedBy: "meridian-image", Comment: l.comment}}); err != nil {
			return nil, fmt.Errorf("image: %w", err)
		}
	}
	img = mutate.MediaType(img, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("image: %w", err)
	}
	cf = cf.DeepCopy()
	cf.Architecture, cf.OS = "amd64", "linux"
	cf.Created = v1.Time{Time: opts.Created}
	cf.Config = Config(opts)
	return mutate.ConfigFile(img, cf)
}

// Config is the image's run configuration: the user, entry point, port,
// environment, health check and labels, shared with the Dockerfile's.
func Config(opts Options) v1.Config {
	opts.defaults()
	uid := strconv.Itoa(UID)
	return v1.Config{
		User:       uid + ":" + uid,
		Entrypoint: []string{MeridianPath},
		Cmd:        []string{"serve", "--listen=:" + strconv.Itoa(Port)},
		WorkingDir: HomeDir,
		Env: []string{
			"PATH=/usr/local/bin:/usr/bin:/bin",
			"HOME=" + HomeDir,
			"MERIDIAN_STATE_DIR=" + StateDir,
			"MERIDIAN_TERRAFORM=" + TerraformPath,
			"SSL_CERT_FILE=" + CABundle,
		},
		ExposedPorts: map[string]struct{}{strconv.Itoa(Port) + "/tcp": {}},
		Volumes:      map[string]struct{}{StateDir: {}},
		Healthcheck: &v1.HealthConfig{
			Test:     []string{"CMD", MeridianPath, "healthcheck", "--url=http://127.0.0.1:" + strconv.Itoa(Port) + "/healthz"},
			Interval: 30 * time.Second, Timeout: 5 * time.Second, StartPeriod: 30 * time.Second, Retries: 3,
		},
		StopSignal: "SIGTERM",
		Labels: map[string]string{
			"org.opencontainers.image.title":       "meridian",
			"org.opencontainers.image.description": "GitOps control plane and policy engine for hybrid clouds",
			"org.opencontainers.image.version":     opts.Version,
			"org.opencontainers.image.revision":    opts.Revision,
			"org.opencontainers.image.source":      opts.Source,
			"org.opencontainers.image.created":     opts.Created.UTC().Format(time.RFC3339),
		},
	}
}

// baseTree is the minimal distribution: git and its libraries, CA
// certificates, one user and its folders.
func baseTree(ctx context.Context, opts Options) (tree, error) {
	t := tree{}
	t.addHostDirLinks()
	for _, b := range []string{opts.Git, opts.GitCore + "/git-remote-http", opts.GitCore + "/git-remote-https"} {
		if err := t.addHost(b); err != nil {
			return nil, fmt.Errorf("image: git: %w", err)
		}
	}
	// A Terraform built with cgo (as `go install` does by default) needs
	// libc too: its libraries go in the base with git's.
	for _, b := range []string{opts.Git, opts.GitCore + "/git-remote-http", opts.Terraform} {
		libs, err := sharedLibs(ctx, b)
		if err != nil {
			return nil, fmt.Errorf("image: %w", err)
		}
		for _, l := range libs {
			if err := t.addHost(l); err != nil {
				return nil, fmt.Errorf("image: library of %s: %w", b, err)
			}
		}
	}
	if err := t.addHost(opts.CABundle); err != nil {
		return nil, fmt.Errorf("image: CA certificates (Debian ca-certificates): %w", err)
	}
	uid := strconv.Itoa(UID)
	t.add(entry{Name: "/etc/passwd", Mode: 0o644, Data: []byte("root:x:0:0:root:/root:/sbin/nologin\n" +
		"meridian:x:" + uid + ":" + uid + ":meridian:" + HomeDir + ":/sbin/nologin\n")})
	t.add(entry{Name: "/etc/group", Mode: 0o644, Data: []byte("root:x:0:\nmeridian:x:" + uid + ":\n")})
	t.add(entry{Name: "/etc/nsswitch.conf", Mode: 0o644, Data: []byte("passwd: files\ngroup: files\nhosts: files dns\n")})
	// Git looks for its templates when it creates a repository; an empty
	// folder keeps it from warning.
	t.add(entry{Name: "/usr/share/git-core/templates", Dir: true, Mode: 0o755})
	t.add(entry{Name: "/tmp", Dir: true, Mode: 0o1777})
	for _, d := range []string{HomeDir, StateDir} {
		t.add(entry{Name: d, Dir: true, Mode: 0o750, UID: UID, GID: UID})
	}
	return t, nil
}

// layerOf turns a tree into a gzip-compressed OCI layer. The tar is made
// once, in memory, so that digest and content cannot disagree.
func layerOf(t tree, mtime time.Time) (v1.Layer, error) {
	var buf bytes.Buffer
	if err := t.writeTar(&buf, mtime); err != nil {
		return nil, fmt.Errorf("image: %w", err)
	}
	data := buf.Bytes()
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil },
		tarball.WithMediaType(types.OCILayer), tarball.WithCompressedCaching)
	if err != nil {
		return nil, fmt.Errorf("image: %w", err)
	}
	return l, nil
}

// WriteLayout writes img into the OCI image layout at dir (created when
// missing), tagged ref (the org.opencontainers.image.ref.name
// annotation), replacing an image of the same ref.
func WriteLayout(dir string, img v1.Image, ref string) error {
	p, err := layout.FromPath(dir)
	if err != nil {
		if p, err = layout.Write(dir, empty.Index); err != nil {
			return fmt.Errorf("image layout %s: %w", dir, err)
		}
	}
	ann := map[string]string{"org.opencontainers.image.ref.name": ref}
	if err := p.ReplaceImage(img, func(d v1.Descriptor) bool {
		return d.Annotations["org.opencontainers.image.ref.name"] == ref
	}, layout.WithAnnotations(ann)); err != nil {
		return fmt.Errorf("image layout %s: %w", dir, err)
	}
	return nil
}

// WriteTarball writes img as a `docker load` / `podman load` tarball
// tagged ref.
func WriteTarball(file string, img v1.Image, ref string) error {
	tag, err := name.NewTag(ref)
	if err != nil {
		return fmt.Errorf("image tarball: tag %q: %w", ref, err)
	}
	if err := tarball.WriteToFile(file, tag, img); err != nil {
		return errors.Join(fmt.Errorf("image tarball %s: %w", file, err), os.Remove(file))
	}
	return nil
}
