// Command meridian-image builds Meridian's container image without a
// container daemon (package ociimage) and writes it as an OCI image
// layout, a `docker load` tarball, or both. scripts/build-image.sh builds
// its inputs and runs it.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"time"

	"github.com/meridianhq/meridian/ociimage"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "meridian-image:", err)
		os.Exit(1)
	}
}

func run() error {
	var o ociimage.Options
	var layoutDir, tarFile, ref string
	flag.StringVar(&o.Meridian, "meridian", "", "the static meridian binary (CGO_ENABLED=0)")
	flag.StringVar(&o.Terraform, "terraform", os.Getenv("MERIDIAN_TERRAFORM"), "the Terraform binary (default $MERIDIAN_TERRAFORM)")
	flag.StringVar(&o.Git, "git", "", "the git binary to ship with its libraries (default /usr/bin/git)")
	flag.StringVar(&o.Version, "version", "dev", "the image's version label")
	flag.StringVar(&o.Revision, "revision", "", "the source revision label (a commit)")
	flag.StringVar(&o.Source, "source", "", "the source repository label")
	flag.StringVar(&layoutDir, "layout", "", "write an OCI image layout to this folder")
	flag.StringVar(&tarFile, "tarball", "", "write a docker/podman load tarball to this file")
	flag.StringVar(&ref, "tag", "ghcr.io/meridianhq/meridian:dev", "the image reference to tag it with")
	flag.Parse()
	if flag.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", flag.Args())
	}
	if layoutDir == "" && tarFile == "" {
		return fmt.Errorf("give --layout DIR, --tarball FILE or both")
	}
	// SOURCE_DATE_EPOCH (reproducible-builds.org) dates every file.
	if s := os.Getenv("SOURCE_DATE_EPOCH"); s != "" {
		sec, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return fmt.Errorf("SOURCE_DATE_EPOCH=%q: %w", s, err)
		}
		o.Created = time.Unix(sec, 0).UTC()
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	img, err := ociimage.Build(ctx, o)
	if err != nil {
		return err
	}
	if layoutDir != "" {
		if err := ociimage.WriteLayout(layoutDir, img, ref); err != nil {
			return err
		}
	}
	if tarFile != "" {
		if err := ociimage.WriteTarball(tarFile, img, ref); err != nil {
			return err
		}
	}
	d, err := img.Digest()
	if err != nil {
		return err
	}
	fmt.Println(ref + "@" + d.String())
	return nil
}
