package providers

import "flag"

// Update makes tests rewrite their generated files: data/catalog.json's
// derived rates and layout, and the catalog table in docs/pricing.md.
var Update = flag.Bool("update", false, "rewrite generated files (data/catalog.json derived rates, docs/pricing.md table)")

// EmbeddedCatalog exposes the embedded catalog file to the external tests.
func EmbeddedCatalog() []byte { return embeddedCatalog }
