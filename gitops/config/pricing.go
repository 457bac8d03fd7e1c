package config

import (
	"io/fs"
	"path"
	"strings"

	"github.com/meridianhq/meridian"
)

// maxPriceCatalogBytes caps a price catalog file. The embedded catalog is
// 15 KB; a refreshed one for every region of three clouds stays far below.
const maxPriceCatalogBytes = meridian.ByteSize(16 << 20)

// priceCatalog reads the file pricing.catalog names into cfg.PriceCatalog.
// The path is relative to the config root and must stay inside the repo,
// like a Terraform module: it is read through the repo's file system, which
// refuses links that leave it (docs/security.md). Its content is checked
// by the planner, which knows the catalog format.
func (l *loader) priceCatalog() error {
	s := &l.cfg.Settings
	p := s.Pricing.Catalog
	if p == "" {
		return nil
	}
	o := s.Origin
	if o.File == "" {
		o.File = SettingsFile
	}
	clean := path.Clean(p)
	if strings.Contains(p, `\`) || path.IsAbs(p) || !fs.ValidPath(clean) || clean == "." {
		l.at(o, "pricing.catalog", "must be a file inside the config repo, relative to its root (e.g. prices/catalog.json), got %q", p)
		return nil
	}
	b, problem, err := readCapped(l.fsys, clean, clean, maxPriceCatalogBytes, false)
	if err != nil {
		return err
	}
	if problem != "" {
		l.at(o, "pricing.catalog", "%s: %s", clean, problem)
		return nil
	}
	s.Pricing.Catalog = clean
	l.cfg.PriceCatalog = b
	return nil
}
