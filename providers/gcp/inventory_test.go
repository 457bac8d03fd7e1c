package gcp_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"cloud.google.com/go/kms/apiv1/kmspb"
	"cloud.google.com/go/logging/apiv2/loggingpb"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/providers/gcp"
	"github.com/meridianhq/meridian/providers/gcp/gcptest"
	"google.golang.org/api/googleapi"
	"google.golang.org/api/option"
	locationpb "google.golang.org/genproto/googleapis/cloud/location"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Names of the fixture's resources.
const (
	kmsEU       = "//cloudkms.googleapis.com/projects/meridian-prod/locations/europe-west1/keyRings/"
	ledgerKey   = "projects/meridian-prod/locations/europe-west1/keyRings/payments/cryptoKeys/ledger"
	logsKey     = "projects/meridian-prod/locations/europe-west1/keyRings/platform/cryptoKeys/logs"
	logBuckets  = "//logging.googleapis.com/projects/meridian-prod/locations/"
	gcsBuckets  = "//storage.googleapis.com/projects/_/buckets/"
	payments    = "payments"
	workloadTag = "meridian-workload"
)

// wantKeys are the fixture's crypto keys as an Inventory must report them.
var wantKeys = []meridian.LiveResource{
	{
		Provider: meridian.ProviderGCP, Kind: meridian.LiveKey, Account: project,
		ID: kmsEU + "payments/cryptoKeys/archive", Name: "archive", Region: "europe-west1",
		Key: &meridian.LiveKeyInfo{Level: meridian.EncryptionCustomerManaged, CustomerManaged: true, State: "DISABLED"},
	},
	{
		Provider: meridian.ProviderGCP, Kind: meridian.LiveKey, Account: project,
		ID: "//cloudkms.googleapis.com/" + ledgerKey, Name: "ledger", Region: "europe-west1",
		Tags: map[string]string{workloadTag: payments, "meridian-target": "gcp-eu"},
		Key:  &meridian.LiveKeyInfo{Level: meridian.EncryptionHSM, CustomerManaged: true, RotationEnabled: true, State: "ENABLED"},
	},
	{
		Provider: meridian.ProviderGCP, Kind: meridian.LiveKey, Account: project,
		ID: "//cloudkms.googleapis.com/" + logsKey, Name: "logs", Region: "europe-west1",
		Tags: map[string]string{"team": "platform"},
		Key:  &meridian.LiveKeyInfo{Level: meridian.EncryptionCustomerManaged, CustomerManaged: true, RotationEnabled: true, State: "ENABLED"},
	},
	{
		// An asymmetric key has no primary version: its template says HSM.
		Provider: meridian.ProviderGCP, Kind: meridian.LiveKey, Account: project,
		ID: "//cloudkms.googleapis.com/projects/meridian-prod/locations/us-east1/keyRings/signing/cryptoKeys/release", Name: "release", Region: "us-east1",
		Tags: map[string]string{workloadTag: "release"},
		Key:  &meridian.LiveKeyInfo{Level: meridian.EncryptionHSM, CustomerManaged: true},
	},
}

// wantLogBuckets are the fixture's log buckets but the one pending deletion.
var wantLogBuckets = []meridian.LiveResource{
	{
		Provider: meridian.ProviderGCP, Kind: meridian.LiveLogStore, Account: project,
		ID: logBuckets + "europe-west1/buckets/payments-audit", Name: "payments-audit", Region: "europe-west1",
		RetentionDays: 3650,
		Encryption:    &meridian.LiveEncryption{Level: meridian.EncryptionCustomerManaged, KeyID: logsKey},
	},
	{
		Provider: meridian.ProviderGCP, Kind: meridian.LiveLogStore, Account: project,
		ID: logBuckets + "global/buckets/_Default", Name: "_Default", Region: "global",
		RetentionDays: 30, Encryption: &meridian.LiveEncryption{Level: meridian.EncryptionProviderManaged},
	},
	{
		Provider: meridian.ProviderGCP, Kind: meridian.LiveLogStore, Account: project,
		ID: logBuckets + "global/buckets/_Required", Name: "_Required", Region: "global",
		RetentionDays: 400, Encryption: &meridian.LiveEncryption{Level: meridian.EncryptionProviderManaged},
	},
}

// wantBuckets are the fixture's buckets; ledgerLevel is the level of the
// one whose key is the HSM key "ledger".
func wantBuckets(ledgerLevel meridian.EncryptionLevel) []meridian.LiveResource {
	return []meridian.LiveResource{
		{
			Provider: meridian.ProviderGCP, Kind: meridian.LiveBucket, Account: project,
			ID: gcsBuckets + "meridian-prod-exports", Name: "meridian-prod-exports", Region: "eu",
			Tags:       map[string]string{workloadTag: payments},
			Encryption: &meridian.LiveEncryption{Level: meridian.EncryptionProviderManaged},
		},
		{
			Provider: meridian.ProviderGCP, Kind: meridian.LiveBucket, Account: project,
			ID: gcsBuckets + "meridian-prod-ledger", Name: "meridian-prod-ledger", Region: "europe-west1",
			Tags:       map[string]string{workloadTag: payments, "meridian-target": "gcp-eu"},
			Encryption: &meridian.LiveEncryption{Level: ledgerLevel, KeyID: ledgerKey},
		},
		{
			Provider: meridian.ProviderGCP, Kind: meridian.LiveBucket, Account: project,
			ID: gcsBuckets + "meridian-prod-reports", Name: "meridian-prod-reports", Region: "europe-west1",
			Encryption: &meridian.LiveEncryption{Level: meridian.EncryptionCustomerManaged, KeyID: logsKey},
		},
	}
}

// denial is what a test expects of the one service the fake denies.
type denial struct {
	service string
	kinds   []string
	// is tells the error carries the service's own status.
	is func(error) bool
}

func grpcPermissionDenied(err error) bool { return status.Code(err) == codes.PermissionDenied }

func httpForbidden(err error) bool {
	var g *googleapi.Error
	return errors.As(err, &g) && g.Code == 403
}

func TestInventoryResources(t *testing.T) {
	cases := map[string]struct {
		reason   string
		pageSize int
		deny     string
		want     []meridian.LiveResource
		denied   *denial
	}{
		"one item per page": {
			reason:   "every list is read page by page to its end",
			pageSize: 1,
			want:     slices.Concat(wantKeys, wantLogBuckets, wantBuckets(meridian.EncryptionHSM)),
		},
		"service page size": {
			reason: "page size 0 leaves the services' defaults",
			want:   slices.Concat(wantKeys, wantLogBuckets, wantBuckets(meridian.EncryptionHSM)),
		},
		"kms denied": {
			reason:   "without KMS the rest is still read; a bucket's key is then not known to be an HSM key",
			pageSize: 2,
			deny:     "kms",
			want:     slices.Concat(wantLogBuckets, wantBuckets(meridian.EncryptionCustomerManaged)),
			denied:   &denial{service: "cloudkms.googleapis.com", kinds: []string{meridian.LiveKey}, is: grpcPermissionDenied},
		},
		"storage denied": {
			reason:   "a JSON API 403 is reported like a gRPC PermissionDenied",
			pageSize: 2,
			deny:     "storage",
			want:     slices.Concat(wantKeys, wantLogBuckets),
			denied:   &denial{service: "storage.googleapis.com", kinds: []string{meridian.LiveBucket}, is: httpForbidden},
		},
		"logging denied": {
			reason:   "without Logging the rest is still read",
			pageSize: 2,
			deny:     "logging",
			want:     slices.Concat(wantKeys, wantBuckets(meridian.EncryptionHSM)),
			denied:   &denial{service: "logging.googleapis.com", kinds: []string{meridian.LiveLogStore}, is: grpcPermissionDenied},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			kmsFake, logFake, gcs := newFakeKMS(t), newFakeLogging(t), newStorageServer(t)
			kmsFake.deny, gcs.deny, logFake.deny = tc.deny == "kms", tc.deny == "storage", tc.deny == "logging"
			inv, err := gcp.NewInventoryWithOptions(ctx, project, gcp.InventoryOptions{
				KMS: gcptest.Start(t, func(s *grpc.Server) {
					kmspb.RegisterKeyManagementServiceServer(s, kmsFake)
					locationpb.RegisterLocationsServer(s, kmsFake)
				}),
				Logging:  gcptest.Start(t, func(s *grpc.Server) { loggingpb.RegisterConfigServiceV2Server(s, logFake) }),
				Storage:  []option.ClientOption{option.WithEndpoint(gcs.URL + "/storage/v1/"), option.WithoutAuthentication()},
				PageSize: tc.pageSize,
			})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { inv.Close() })

			got, err := inv.Resources(ctx)
			if diff := cmp.Diff(tc.want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("%s: Resources (-want +got):\n%s", tc.reason, diff)
			}
			checkDenial(t, err, tc.denied)
			if tc.pageSize == 1 {
				for method, min := range map[string]int{"ListLocations": 3, "ListKeyRings": 3, "ListCryptoKeys": 4} {
					if n := kmsFake.count(method); n < min {
						t.Errorf("KMS %s served %d pages, want at least %d", method, n, min)
					}
				}
				if n := logFake.count("ListBuckets"); n < 4 {
					t.Errorf("Logging ListBuckets served %d pages, want at least 4", n)
				}
				if n := gcs.count("buckets.list"); n < 3 {
					t.Errorf("Storage buckets.list served %d pages, want at least 3", n)
				}
			}
		})
	}
}

// checkDenial checks err against the expected denial, or that it is nil.
func checkDenial(t *testing.T, err error, want *denial) {
	t.Helper()
	if want == nil {
		if err != nil {
			t.Errorf("Resources error = %v, want nil", err)
		}
		return
	}
	failed := meridian.LiveReadErrors(err)
	if len(failed) != 1 {
		t.Fatalf("Resources error = %v, want one LiveReadError for %s", err, want.service)
	}
	f := failed[0]
	if f.Provider != meridian.ProviderGCP || f.Account != project || f.Service != want.service || !cmp.Equal(f.Kinds, want.kinds) {
		t.Errorf("LiveReadError = {%s %s %s %v}, want {gcp %s %s %v}", f.Provider, f.Account, f.Service, f.Kinds, project, want.service, want.kinds)
	}
	if !want.is(err) {
		t.Errorf("Resources error %v does not carry the service's permission error", err)
	}
	for _, part := range []string{project, want.service, "denied"} {
		if !strings.Contains(err.Error(), part) {
			t.Errorf("Resources error %q does not name %q", err, part)
		}
	}
}

func TestNewInventoryRejects(t *testing.T) {
	cases := map[string]struct {
		project string
		opts    gcp.InventoryOptions
		want    string
	}{
		"no project":         {want: "project ID is empty"},
		"negative page size": {project: project, opts: gcp.InventoryOptions{PageSize: -1}, want: "page size -1 is out of range"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := gcp.NewInventoryWithOptions(context.Background(), tc.project, tc.opts)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("NewInventoryWithOptions error = %v, want one containing %q", err, tc.want)
			}
		})
	}
}
