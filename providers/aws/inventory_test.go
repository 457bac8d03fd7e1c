package aws_test

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	sdkaws "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/google/go-cmp/cmp"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/providers/aws"
)

const (
	account = "111122223333"
	key1    = "1234abcd-12ab-34cd-56ef-1234567890ab"
	key2    = "0987dcba-09fe-87dc-65ba-ab0987654321"
	key3    = "aaaabbbb-cccc-dddd-eeee-ffff00001111"
)

// cloud is one local endpoint for every service the inventory reads, the
// way AWS_ENDPOINT_URL or --endpoint points all of them at one place:
//
//   - S3 is gofakes3, in-process. gofakes3 v1.2.0 has no ?encryption and
//     ?tagging subresources, so cloud keeps those documents per bucket as
//     the SDK PUTs them and serves them back;
//   - KMS, CloudWatch Logs, EC2 and EKS are replays of testdata/inventory,
//     responses built from the examples in each service's API reference.
//     KMS also runs against local-kms in TestInventoryLocalKMS; the
//     replay keeps what local-kms cannot hold (AWS-managed keys, CloudHSM
//     and custom key stores).
//
// It records the access key ID of every request, to check which
// credentials the SDK chose.
type cloud struct {
	t  *testing.T
	s3 http.Handler

	mu         sync.Mutex
	subs       map[string][]byte // bucket?sub -> document
	accessKeys map[string]bool
}

func newCloud(t *testing.T) (*httptest.Server, *cloud) {
	c := &cloud{t: t, s3: gofakes3.New(s3mem.New()).Server(), subs: map[string][]byte{}, accessKeys: map[string]bool{}}
	srv := httptest.NewServer(c)
	t.Cleanup(srv.Close)
	return srv, c
}

// signedWith returns the access key IDs seen since the last call.
func (c *cloud) signedWith() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := slices.Sorted(maps.Keys(c.accessKeys))
	c.accessKeys = map[string]bool{}
	return out
}

var credRE = regexp.MustCompile(`Credential=([A-Z0-9]+)/`)

func (c *cloud) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if m := credRE.FindStringSubmatch(r.Header.Get("Authorization")); m != nil {
		c.mu.Lock()
		c.accessKeys[m[1]] = true
		c.mu.Unlock()
	} else {
		c.t.Errorf("%s %s: unsigned request", r.Method, r.URL)
	}
	body, _ := io.ReadAll(r.Body)
	target := r.Header.Get("X-Amz-Target")
	switch {
	case strings.HasPrefix(target, "TrentService."):
		c.json(w, "kms", strings.TrimPrefix(target, "TrentService."), body)
	case strings.HasPrefix(target, "Logs_20140328."):
		c.json(w, "logs", strings.TrimPrefix(target, "Logs_20140328."), body)
	case strings.HasPrefix(r.URL.Path, "/clusters"):
		name := "eks.ListClusters.json"
		if rest := strings.TrimPrefix(r.URL.Path, "/clusters/"); rest != r.URL.Path {
			name = "eks.DescribeCluster." + rest + ".json"
		}
		c.file(w, name, "application/json")
	case r.Method == http.MethodPost && strings.Contains(string(body), "Action=DescribeInstances"):
		form, _ := url.ParseQuery(string(body))
		if form.Get("Filter.1.Name") != "instance-state-name" || form.Get("Filter.1.Value.1") != "pending" {
			c.t.Errorf("DescribeInstances without the state filter: %s", body)
		}
		c.file(w, "ec2.DescribeInstances.xml", "text/xml")
	default:
		c.serveS3(w, r, body)
	}
}

// json answers a JSON 1.1 call from testdata/inventory: paged operations
// by their page token, per-resource ones by the resource in the request.
func (c *cloud) json(w http.ResponseWriter, svc, op string, body []byte) {
	var in map[string]any
	if err := json.Unmarshal(body, &in); err != nil {
		c.t.Errorf("%s.%s: request is not JSON: %v", svc, op, err)
	}
	name := svc + "." + op
	switch op {
	case "ListKeys":
		name += map[bool]string{true: ".2", false: ".1"}[in["Marker"] == "eyJ2IjoxfQ"]
	case "DescribeLogGroups":
		name += map[bool]string{true: ".2", false: ".1"}[in["nextToken"] == "AWEiYn6Fb8QcTyPr"]
	case "DescribeKey", "GetKeyRotationStatus", "ListResourceTags":
		name += "." + fmt.Sprint(in["KeyId"])
	case "ListTagsForResource":
		arn := fmt.Sprint(in["resourceArn"])
		name += "." + arn[strings.LastIndex(arn, "/")+1:]
	}
	c.file(w, name+".json", "application/x-amz-json-1.1")
}

func (c *cloud) file(w http.ResponseWriter, name, contentType string) {
	b, err := os.ReadFile(filepath.Join("testdata", "inventory", name))
	if err != nil {
		c.t.Errorf("no replay for %s", name)
		http.Error(w, err.Error(), http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", contentType)
	if strings.Contains(string(b), `"__type"`) {
		w.WriteHeader(http.StatusBadRequest)
	}
	w.Write(b)
}

func (c *cloud) serveS3(w http.ResponseWriter, r *http.Request, body []byte) {
	q := r.URL.Query()
	bucket := strings.Trim(r.URL.Path, "/")
	for sub, missing := range map[string]string{"encryption": "ServerSideEncryptionConfigurationNotFoundError", "tagging": "NoSuchTagSet"} {
		if _, ok := q[sub]; !ok || strings.Contains(bucket, "/") {
			continue
		}
		c.mu.Lock()
		defer c.mu.Unlock()
		switch r.Method {
		case http.MethodPut:
			c.subs[bucket+"?"+sub] = body
		case http.MethodGet:
			doc, ok := c.subs[bucket+"?"+sub]
			if !ok {
				w.WriteHeader(http.StatusNotFound)
				fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>%s</Code><Message>none</Message><BucketName>%s</BucketName></Error>`, missing, bucket)
				return
			}
			w.Header().Set("Content-Type", "application/xml")
			w.Write(doc)
		}
		return
	}
	r.Body = io.NopCloser(strings.NewReader(string(body)))
	c.s3.ServeHTTP(w, r)
}

// isolate keeps the developer's AWS configuration out of the test.
func isolate(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"config", "credentials"} {
		if err := os.WriteFile(filepath.Join(dir, f), nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(dir, "config"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(dir, "credentials"))
	for _, v := range []string{"AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_REGION", "AWS_DEFAULT_REGION"} {
		t.Setenv(v, "")
		os.Unsetenv(v)
	}
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
}

var static = config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", ""))

// seedBuckets creates the test's buckets through the SDK: one with SSE-KMS
// under key1 and tags, one with SSE-S3, one with no configuration.
func seedBuckets(t *testing.T, endpoint string) {
	ctx := t.Context()
	c := s3.New(s3.Options{Region: "us-east-1", BaseEndpoint: sdkaws.String(endpoint), UsePathStyle: true,
		Credentials: credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", "")})
	for _, b := range []string{"api-data", "legacy", "scratch-logs"} {
		if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: sdkaws.String(b)}); err != nil {
			t.Fatal(err)
		}
	}
	enc := map[string]s3types.ServerSideEncryptionByDefault{
		"api-data":     {SSEAlgorithm: s3types.ServerSideEncryptionAwsKms, KMSMasterKeyID: sdkaws.String("arn:aws:kms:us-east-1:" + account + ":key/" + key1)},
		"scratch-logs": {SSEAlgorithm: s3types.ServerSideEncryptionAes256},
	}
	for b, d := range enc {
		if _, err := c.PutBucketEncryption(ctx, &s3.PutBucketEncryptionInput{Bucket: sdkaws.String(b),
			ServerSideEncryptionConfiguration: &s3types.ServerSideEncryptionConfiguration{
				Rules: []s3types.ServerSideEncryptionRule{{ApplyServerSideEncryptionByDefault: &d}}}}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.PutBucketTagging(ctx, &s3.PutBucketTaggingInput{Bucket: sdkaws.String("api-data"),
		Tagging: &s3types.Tagging{TagSet: []s3types.Tag{{Key: sdkaws.String("owner"), Value: sdkaws.String("team-api")}, {Key: sdkaws.String("meridian-workload"), Value: sdkaws.String("api")}}}}); err != nil {
		t.Fatal(err)
	}
}

func keyARN(id string) string { return "arn:aws:kms:us-east-1:" + account + ":key/" + id }

// want is what the inventory must read from the seeded buckets and the
// replays.
func want() []meridian.LiveResource {
	r := func(kind, id, name string) meridian.LiveResource {
		return meridian.LiveResource{Provider: meridian.ProviderAWS, Kind: kind, ID: id, Name: name, Region: "us-east-1", Account: account}
	}
	k1 := r(meridian.LiveKey, keyARN(key1), "alias/meridian/aws-use1/api")
	k1.Tags = map[string]string{"owner": "team-api", "env": "prod"}
	k1.Key = &meridian.LiveKeyInfo{Level: meridian.EncryptionCustomerManaged, CustomerManaged: true, RotationEnabled: true, State: "Enabled"}
	k2 := r(meridian.LiveKey, keyARN(key2), "alias/meridian/aws-use1/vault")
	k2.Tags = map[string]string{}
	k2.Key = &meridian.LiveKeyInfo{Level: meridian.EncryptionHSM, CustomerManaged: true, State: "Enabled"}
	k3 := r(meridian.LiveKey, keyARN(key3), "alias/aws/s3")
	k3.Key = &meridian.LiveKeyInfo{Level: meridian.EncryptionProviderManaged, State: "Enabled"}
	b1 := r(meridian.LiveBucket, "arn:aws:s3:::api-data", "api-data")
	b1.Account = ""
	b1.Tags = map[string]string{"owner": "team-api", "meridian-workload": "api"}
	b1.Encryption = &meridian.LiveEncryption{Level: meridian.EncryptionCustomerManaged, KeyID: keyARN(key1)}
	b2 := r(meridian.LiveBucket, "arn:aws:s3:::legacy", "legacy")
	b2.Account, b2.Tags = "", map[string]string{}
	b2.Encryption = &meridian.LiveEncryption{Level: meridian.EncryptionProviderManaged}
	b3 := r(meridian.LiveBucket, "arn:aws:s3:::scratch-logs", "scratch-logs")
	b3.Account, b3.Tags = "", map[string]string{}
	b3.Encryption = &meridian.LiveEncryption{Level: meridian.EncryptionProviderManaged}
	l1 := r(meridian.LiveLogStore, "arn:aws:logs:us-east-1:"+account+":log-group:/meridian/aws-use1/api", "/meridian/aws-use1/api")
	l1.RetentionDays = 30
	l1.Tags = map[string]string{"owner": "team-api", "env": "prod", "meridian-workload": "api"}
	l1.Encryption = &meridian.LiveEncryption{Level: meridian.EncryptionCustomerManaged, KeyID: keyARN(key1)}
	l2 := r(meridian.LiveLogStore, "arn:aws:logs:us-east-1:"+account+":log-group:/aws/lambda/scratch", "/aws/lambda/scratch")
	l2.Tags = map[string]string{}
	l2.Encryption = &meridian.LiveEncryption{Level: meridian.EncryptionProviderManaged}
	v1 := r(meridian.LiveVM, "arn:aws:ec2:us-east-1:"+account+":instance/i-1234567890abcdef0", "scratch-box")
	v1.Tags = map[string]string{"Name": "scratch-box"}
	v2 := r(meridian.LiveVM, "arn:aws:ec2:us-east-1:"+account+":instance/i-0598c7d356eba48d7", "i-0598c7d356eba48d7")
	v2.Tags = map[string]string{"owner": "team-api", "meridian-workload": "api"}
	c1 := r(meridian.LiveCluster, "arn:aws:eks:us-east-1:"+account+":cluster/prod", "prod")
	c1.Tags = map[string]string{"owner": "team-platform", "env": "prod"}
	return []meridian.LiveResource{k1, k2, k3, b1, b2, b3, l1, l2, v1, v2, c1}
}

func TestInventory(t *testing.T) {
	cases := map[string]struct {
		reason string
		// setup returns the options, given the endpoint.
		setup   func(t *testing.T, endpoint string) aws.InventoryOptions
		wantErr string
		// wantKey is the access key the requests must be signed with.
		wantKey string
	}{
		"endpoint option": {
			reason: "--endpoint points every service at one place",
			setup: func(_ *testing.T, endpoint string) aws.InventoryOptions {
				return aws.InventoryOptions{Region: "us-east-1", AccountID: account, Endpoint: endpoint, LoadOptions: []func(*config.LoadOptions) error{static}}
			},
			wantKey: "AKIDTEST",
		},
		"AWS_ENDPOINT_URL and a profile": {
			reason: "the SDK's own endpoint variable works, and a shared-config profile picks the credentials",
			setup: func(t *testing.T, endpoint string) aws.InventoryOptions {
				t.Setenv("AWS_ENDPOINT_URL", endpoint)
				if err := os.WriteFile(os.Getenv("AWS_SHARED_CREDENTIALS_FILE"),
					[]byte("[default]\naws_access_key_id = AKIDDEFAULT\naws_secret_access_key = x\n[audit]\naws_access_key_id = AKIDPROFILE\naws_secret_access_key = y\n"), 0o600); err != nil {
					t.Fatal(err)
				}
				return aws.InventoryOptions{Region: "us-east-1", Profile: "audit"}
			},
			wantKey: "AKIDPROFILE",
		},
		"another account": {
			reason: "credentials for another account than the target's must not pass for an empty account",
			setup: func(_ *testing.T, endpoint string) aws.InventoryOptions {
				return aws.InventoryOptions{Region: "us-east-1", AccountID: "999999999999", Endpoint: endpoint, LoadOptions: []func(*config.LoadOptions) error{static}}
			},
			wantErr: "belongs to account 111122223333, not the target's account 999999999999",
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			isolate(t)
			srv, c := newCloud(t)
			seedBuckets(t, srv.URL)
			c.signedWith()
			inv, err := aws.NewInventory(t.Context(), tc.setup(t, srv.URL))
			if err != nil {
				t.Fatal(err)
			}
			got, err := inv.Resources(t.Context())
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("%s: err = %v, want %q", tc.reason, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("%s: %v", tc.reason, err)
			}
			if diff := cmp.Diff(want(), got); diff != "" {
				t.Errorf("%s: resources (-want +got):\n%s", tc.reason, diff)
			}
			if diff := cmp.Diff([]string{tc.wantKey}, c.signedWith()); diff != "" {
				t.Errorf("%s: access keys (-want +got):\n%s", tc.reason, diff)
			}
		})
	}
}
