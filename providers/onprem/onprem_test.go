package onprem_test

import (
	"testing"

	"github.com/meridianhq/meridian/providers"
	"github.com/meridianhq/meridian/providers/onprem"
	"github.com/meridianhq/meridian/providers/providertest"
)

func TestConformance(t *testing.T) {
	c, err := providers.DefaultCatalog()
	if err != nil {
		t.Fatal(err)
	}
	for name, b := range map[string]onprem.Backend{"onprem": onprem.New(), "edge": onprem.NewEdge()} {
		t.Run(name, func(t *testing.T) { providertest.Run(t, b, c) })
	}
}
