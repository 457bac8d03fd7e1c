package providers_test

import (
	"context"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/providers"
)

func TestReadInventory(t *testing.T) {
	denied := errors.New("denied")
	res := func(ids ...string) []meridian.LiveResource {
		var out []meridian.LiveResource
		for _, id := range ids {
			out = append(out, meridian.LiveResource{ID: id})
		}
		return out
	}
	service := func(name string, found []meridian.LiveResource, err error) providers.InventoryService {
		return providers.InventoryService{Name: name, Kinds: []string{name + "-kind"}, Read: func(context.Context) ([]meridian.LiveResource, error) {
			return found, err
		}}
	}
	cases := map[string]struct {
		reason   string
		services []providers.InventoryService
		want     []meridian.LiveResource
		failed   []string
	}{
		"sorted": {
			reason:   "resources of all services come back in one list sorted by ID",
			services: []providers.InventoryService{service("b", res("z", "c"), nil), service("a", res("m", "a"), nil)},
			want:     res("a", "c", "m", "z"),
		},
		"partial": {
			reason:   "a failed service keeps what it read and does not hide the others",
			services: []providers.InventoryService{service("a", res("a1"), denied), service("b", res("b1"), nil), service("c", nil, denied)},
			want:     res("a1", "b1"),
			failed:   []string{"a", "c"},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got, err := providers.ReadInventory(context.Background(), meridian.ProviderGCP, "p", tc.services)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("%s: resources (-want +got):\n%s", tc.reason, diff)
			}
			var failed []string
			for _, e := range meridian.LiveReadErrors(err) {
				if e.Provider != meridian.ProviderGCP || e.Account != "p" || !cmp.Equal(e.Kinds, []string{e.Service + "-kind"}) || !errors.Is(e, denied) {
					t.Errorf("LiveReadError %+v: wrong provider, account, kinds or cause", e)
				}
				failed = append(failed, e.Service)
			}
			if !cmp.Equal(failed, tc.failed) {
				t.Errorf("%s: failed services = %v (error %v), want %v", tc.reason, failed, err, tc.failed)
			}
		})
	}
}
