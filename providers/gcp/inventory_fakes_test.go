package gcp_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"cloud.google.com/go/kms/apiv1/kmspb"
	"cloud.google.com/go/logging/apiv2/loggingpb"
	"github.com/fsouza/fake-gcs-server/fakestorage"
	locationpb "google.golang.org/genproto/googleapis/cloud/location"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

// The fixtures in testdata/inventory are shaped like the documented
// examples of the services' REST list responses (Cloud KMS
// projects.locations.list, keyRings.list, cryptoKeys.list; Cloud Logging
// projects.locations.buckets.list; Cloud Storage buckets.list), with
// made-up names. The gRPC fakes below serve them in the equivalent proto
// messages; protojson reads the REST spelling.

const project = "meridian-prod"

// readFixture decodes testdata/inventory/name into m.
func readFixture(t *testing.T, name string, m proto.Message) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "inventory", name))
	if err != nil {
		t.Fatal(err)
	}
	if err := protojson.Unmarshal(b, m); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
}

// pageCounter counts the pages each list method served, so that a test can
// tell the client followed page tokens.
type pageCounter struct {
	mu    sync.Mutex
	pages map[string]int
}

func (p *pageCounter) served(method string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.pages == nil {
		p.pages = map[string]int{}
	}
	p.pages[method]++
}

func (p *pageCounter) count(method string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.pages[method]
}

// page cuts one page out of items the way Google list methods do: the page
// token is opaque to the client (here the offset), and a page size of 0
// means the server's default (here everything).
func page[T any](items []T, size int32, token string) ([]T, string, error) {
	start := 0
	if token != "" {
		var err error
		if start, err = strconv.Atoi(token); err != nil || start < 0 || start > len(items) {
			return nil, "", status.Errorf(codes.InvalidArgument, "invalid page token %q", token)
		}
	}
	end := len(items)
	if size > 0 {
		end = min(start+int(size), len(items))
	}
	next := ""
	if end < len(items) {
		next = strconv.Itoa(end)
	}
	return items[start:end], next, nil
}

// children returns the resources of items whose name is directly under
// parent/collection/.
func children[T interface{ GetName() string }](items []T, parent, collection string) []T {
	var out []T
	prefix := parent + "/" + collection + "/"
	for _, it := range items {
		if rest, ok := strings.CutPrefix(it.GetName(), prefix); ok && !strings.Contains(rest, "/") {
			out = append(out, it)
		}
	}
	return out
}

// permissionDenied is the error Google APIs return to a caller without the
// permission, worded as they word it.
func permissionDenied(permission, resource string) error {
	return status.Errorf(codes.PermissionDenied, "Permission '%s' denied on resource '%s' (or it may not exist).", permission, resource)
}

// fakeKMS implements the Cloud KMS methods an Inventory calls: locations,
// key rings and crypto keys, paginated.
type fakeKMS struct {
	kmspb.UnimplementedKeyManagementServiceServer
	locationpb.UnimplementedLocationsServer
	pageCounter
	locations []*locationpb.Location
	rings     []*kmspb.KeyRing
	keys      []*kmspb.CryptoKey
	deny      bool
}

func newFakeKMS(t *testing.T) *fakeKMS {
	var locs locationpb.ListLocationsResponse
	var rings kmspb.ListKeyRingsResponse
	var keys kmspb.ListCryptoKeysResponse
	readFixture(t, "kms-locations.json", &locs)
	readFixture(t, "kms-keyrings.json", &rings)
	readFixture(t, "kms-cryptokeys.json", &keys)
	return &fakeKMS{locations: locs.Locations, rings: rings.KeyRings, keys: keys.CryptoKeys}
}

func (f *fakeKMS) ListLocations(_ context.Context, req *locationpb.ListLocationsRequest) (*locationpb.ListLocationsResponse, error) {
	if f.deny {
		return nil, permissionDenied("cloudkms.locations.list", req.GetName())
	}
	items, next, err := page(children(f.locations, req.GetName(), "locations"), req.GetPageSize(), req.GetPageToken())
	f.served("ListLocations")
	return &locationpb.ListLocationsResponse{Locations: items, NextPageToken: next}, err
}

func (f *fakeKMS) ListKeyRings(_ context.Context, req *kmspb.ListKeyRingsRequest) (*kmspb.ListKeyRingsResponse, error) {
	all := children(f.rings, req.GetParent(), "keyRings")
	items, next, err := page(all, req.GetPageSize(), req.GetPageToken())
	f.served("ListKeyRings")
	return &kmspb.ListKeyRingsResponse{KeyRings: items, NextPageToken: next, TotalSize: int32(len(all))}, err
}

func (f *fakeKMS) ListCryptoKeys(_ context.Context, req *kmspb.ListCryptoKeysRequest) (*kmspb.ListCryptoKeysResponse, error) {
	all := children(f.keys, req.GetParent(), "cryptoKeys")
	items, next, err := page(all, req.GetPageSize(), req.GetPageToken())
	f.served("ListCryptoKeys")
	return &kmspb.ListCryptoKeysResponse{CryptoKeys: items, NextPageToken: next, TotalSize: int32(len(all))}, err
}

// fakeLogging implements ConfigServiceV2.ListBuckets, paginated, for the
// "-" location wildcard the Inventory asks for.
type fakeLogging struct {
	loggingpb.UnimplementedConfigServiceV2Server
	pageCounter
	buckets []*loggingpb.LogBucket
	deny    bool
}

func newFakeLogging(t *testing.T) *fakeLogging {
	var resp loggingpb.ListBucketsResponse
	readFixture(t, "logging-buckets.json", &resp)
	return &fakeLogging{buckets: resp.Buckets}
}

func (f *fakeLogging) ListBuckets(_ context.Context, req *loggingpb.ListBucketsRequest) (*loggingpb.ListBucketsResponse, error) {
	if f.deny {
		return nil, permissionDenied("logging.buckets.list", req.GetParent())
	}
	proj, ok := strings.CutSuffix(req.GetParent(), "/locations/-")
	if !ok {
		return nil, status.Errorf(codes.InvalidArgument, "parent %q: the fake serves the - location only", req.GetParent())
	}
	var all []*loggingpb.LogBucket
	for _, b := range f.buckets {
		if strings.HasPrefix(b.GetName(), proj+"/locations/") {
			all = append(all, b)
		}
	}
	items, next, err := page(all, req.GetPageSize(), req.GetPageToken())
	f.served("ListBuckets")
	return &loggingpb.ListBucketsResponse{Buckets: items, NextPageToken: next}, err
}

// storageServer is fake-gcs-server with the buckets of
// storage-buckets.json. fake-gcs-server v1.56.1 keeps neither bucket
// labels nor default KMS keys, so a thin handler in front of it adds the
// fixture's labels, location and encryption to the buckets.list responses
// it pages out; listing, paging and errors stay fake-gcs-server's.
type storageServer struct {
	pageCounter
	*httptest.Server
	deny bool
}

func newStorageServer(t *testing.T) *storageServer {
	b, err := os.ReadFile(filepath.Join("testdata", "inventory", "storage-buckets.json"))
	if err != nil {
		t.Fatal(err)
	}
	var fixture struct {
		Items []map[string]any `json:"items"`
	}
	if err := json.Unmarshal(b, &fixture); err != nil {
		t.Fatalf("storage-buckets.json: %v", err)
	}
	gcs, err := fakestorage.NewServerWithOptions(fakestorage.Options{NoListener: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(gcs.Stop)
	extra := map[string]map[string]any{}
	for _, item := range fixture.Items {
		name := item["name"].(string)
		gcs.CreateBucket(name)
		extra[name] = item
	}
	s := &storageServer{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet || r.URL.Path != "/storage/v1/b" {
			gcs.HTTPHandler().ServeHTTP(w, r)
			return
		}
		if p := r.URL.Query().Get("project"); p != project {
			http.Error(w, `{"error":{"code":400,"message":"wrong project `+p+`"}}`, http.StatusBadRequest)
			return
		}
		if s.deny {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusForbidden)
			w.Write([]byte(`{"error":{"code":403,"message":"meridian-audit@meridian-prod.iam.gserviceaccount.com does not have storage.buckets.list access to the Google Cloud project. Permission 'storage.buckets.list' denied on resource (or it may not exist).","errors":[{"message":"meridian-audit@meridian-prod.iam.gserviceaccount.com does not have storage.buckets.list access to the Google Cloud project.","domain":"global","reason":"forbidden"}]}}`))
			return
		}
		rec := httptest.NewRecorder()
		gcs.HTTPHandler().ServeHTTP(rec, r)
		var resp map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &resp); err != nil || rec.Code != http.StatusOK {
			t.Errorf("fake-gcs-server answered buckets.list with %d %s", rec.Code, rec.Body)
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		items, _ := resp["items"].([]any)
		for _, it := range items {
			bucket := it.(map[string]any)
			for _, field := range []string{"labels", "location", "locationType", "encryption"} {
				if v, ok := extra[bucket["name"].(string)][field]; ok {
					bucket[field] = v
				}
			}
		}
		s.served("buckets.list")
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(resp)
	}))
	t.Cleanup(s.Close)
	return s
}
