package providers

import (
	"fmt"

	"github.com/meridianhq/meridian"
)

// ForConfig returns the catalog cfg prices with: the file its
// pricing.catalog setting names, whose content the config loader read into
// cfg.PriceCatalog, or def when the setting is empty. A file that does not
// check is a meridian.EINVALID error naming the setting's file:line.
func ForConfig(cfg *meridian.Config, def *Catalog) (*Catalog, error) {
	if cfg.PriceCatalog == nil {
		return def, nil
	}
	s := cfg.Settings
	c, err := ParseCatalogFile(s.Pricing.Catalog, cfg.PriceCatalog)
	if err != nil {
		loc := s.Origin.File
		if loc == "" {
			loc = "meridian.yaml"
		}
		if l := s.Origin.LineOf("pricing.catalog"); l > 0 {
			loc = fmt.Sprintf("%s:%d", loc, l)
		}
		return nil, meridian.Errorf(meridian.EINVALID, "%s: pricing.catalog: %v", loc, err)
	}
	return c, nil
}
