package azure_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/meridianhq/meridian/providers/azure"
)

// TestPriceReaderBounds checks that a mirror cannot keep the reader paging
// or reading forever: a NextPageLink that points back at its own page, and
// a body past the page cap, both end in an error naming the bound.
func TestPriceReaderBounds(t *testing.T) {
	tests := []struct {
		name    string
		handler func(srv *httptest.Server, calls *atomic.Int32) http.HandlerFunc
		want    string
	}{
		{
			name: "endless pages",
			handler: func(srv *httptest.Server, calls *atomic.Int32) http.HandlerFunc {
				return func(w http.ResponseWriter, r *http.Request) {
					calls.Add(1)
					fmt.Fprintf(w, `{"Items": [], "NextPageLink": %q}`, srv.URL+"/next")
				}
			},
			want: "more than 100 pages",
		},
		{
			name: "endless body",
			handler: func(srv *httptest.Server, calls *atomic.Int32) http.HandlerFunc {
				return func(w http.ResponseWriter, r *http.Request) {
					calls.Add(1)
					w.Write([]byte(`{"Items": [`))
					chunk := []byte(strings.Repeat(" ", 1<<20))
					for range 65 {
						if _, err := w.Write(chunk); err != nil {
							return
						}
					}
				}
			},
			want: "larger than 67108864 bytes",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var calls atomic.Int32
			var srv *httptest.Server
			srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				tt.handler(srv, &calls)(w, r)
			}))
			defer srv.Close()
			_, err := azure.NewPriceReader(srv.URL, nil).Read(context.Background(), "eastus")
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Read: got error %v, want one containing %q", err, tt.want)
			}
			if n := calls.Load(); n > 101 {
				t.Errorf("server saw %d requests, want at most 101", n)
			}
		})
	}
}
