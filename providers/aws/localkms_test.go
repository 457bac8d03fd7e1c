package aws_test

import (
	"bufio"
	"io"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	sdkaws "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/citest"
	"github.com/meridianhq/meridian/providers/aws"
)

// startLocalKMS runs github.com/nsmithuk/local-kms (MERIDIAN_LOCAL_KMS,
// built by scripts/install-local-kms.sh) on a port the kernel picks and
// returns its endpoint. local-kms listens on every interface and has no
// address setting; the test talks to it over loopback only.
func startLocalKMS(t *testing.T, accountID, region string) string {
	t.Helper()
	bin := os.Getenv("MERIDIAN_LOCAL_KMS")
	if bin == "" {
		citest.Missing(t, "MERIDIAN_LOCAL_KMS is not set (export MERIDIAN_LOCAL_KMS=$(scripts/install-local-kms.sh | tail -n1))")
	}
	cmd := exec.Command(bin)
	// PORT=0: local-kms binds a free port and logs which, so there is no
	// window in which another process could take a port picked here. The
	// seed path names a missing file so that no seed file of the machine
	// (default /init/seed.yaml) adds keys.
	cmd.Env = append(os.Environ(), "PORT=0", "KMS_ACCOUNT_ID="+accountID, "KMS_REGION="+region,
		"KMS_DATA_PATH="+t.TempDir(), "KMS_SEED_PATH="+t.TempDir()+"/none.yaml")
	out, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout = cmd.Stderr // the same pipe: both streams are logs
	if err := cmd.Start(); err != nil {
		t.Fatalf("start local-kms %s: %v", bin, err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	started := regexp.MustCompile(`Local KMS started on [^ ]*:(\d+)`)
	var (
		mu  sync.Mutex
		log strings.Builder // what local-kms said before it started
	)
	port := make(chan string, 1)
	go func() {
		defer close(port)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if m := started.FindStringSubmatch(sc.Text()); m != nil {
				port <- m[1]
				// Keep draining so that local-kms never blocks on a full pipe.
				io.Copy(io.Discard, out)
				return
			}
			mu.Lock()
			log.WriteString(sc.Text() + "\n")
			mu.Unlock()
		}
	}()
	select {
	case p, ok := <-port:
		if ok {
			return "http://127.0.0.1:" + p
		}
	case <-time.After(30 * time.Second):
	}
	mu.Lock()
	defer mu.Unlock()
	t.Fatalf("local-kms exited or did not report its port within 30s; it said:\n%s", log.String())
	return ""
}

// TestInventoryLocalKMS reads keys created through the SDK in a real KMS
// emulator, so that the inventory's calls, pagination and error handling
// meet a server that was not written for this test. What local-kms cannot
// hold (AWS-managed keys, CloudHSM and custom key stores) stays covered by
// the replay in TestInventory.
func TestInventoryLocalKMS(t *testing.T) {
	isolate(t)
	const region = "eu-west-1"
	endpoint := startLocalKMS(t, account, region)
	ctx := t.Context()
	c := kms.New(kms.Options{Region: region, BaseEndpoint: sdkaws.String(endpoint),
		Credentials: credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", "")})

	create := func(in *kms.CreateKeyInput) string {
		t.Helper()
		out, err := c.CreateKey(ctx, in)
		if err != nil {
			t.Fatalf("create key: %v", err)
		}
		return sdkaws.ToString(out.KeyMetadata.KeyId)
	}
	tags := func(kv ...string) []kmstypes.Tag {
		var out []kmstypes.Tag
		for i := 0; i < len(kv); i += 2 {
			out = append(out, kmstypes.Tag{TagKey: sdkaws.String(kv[i]), TagValue: sdkaws.String(kv[i+1])})
		}
		return out
	}
	rotated := create(&kms.CreateKeyInput{Tags: tags("owner", "team-api", "meridian-workload", "api")})
	if _, err := c.EnableKeyRotation(ctx, &kms.EnableKeyRotationInput{KeyId: &rotated}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateAlias(ctx, &kms.CreateAliasInput{AliasName: sdkaws.String("alias/meridian/prod/api"), TargetKeyId: &rotated}); err != nil {
		t.Fatal(err)
	}
	plain := create(&kms.CreateKeyInput{Description: sdkaws.String("no rotation, no tags")})
	// Imported key material: KMS answers UnsupportedOperation to
	// GetKeyRotationStatus, which the inventory reads as "does not rotate".
	imported := create(&kms.CreateKeyInput{Origin: kmstypes.OriginTypeExternal, Tags: tags("owner", "team-sec")})
	doomed := create(&kms.CreateKeyInput{Tags: tags("owner", "team-old")})
	if _, err := c.EnableKeyRotation(ctx, &kms.EnableKeyRotationInput{KeyId: &doomed}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ScheduleKeyDeletion(ctx, &kms.ScheduleKeyDeletionInput{KeyId: &doomed, PendingWindowInDays: sdkaws.Int32(7)}); err != nil {
		t.Fatal(err)
	}

	inv, err := aws.NewInventory(ctx, aws.InventoryOptions{Region: region, AccountID: account, Endpoint: endpoint, LoadOptions: []func(*config.LoadOptions) error{static}})
	if err != nil {
		t.Fatal(err)
	}
	got, err := inv.Keys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	arn := func(id string) string { return "arn:aws:kms:" + region + ":" + account + ":key/" + id }
	key := func(id, name, state string, rotation bool, tags map[string]string) meridian.LiveResource {
		return meridian.LiveResource{Kind: meridian.LiveKey, ID: arn(id), Name: name, Account: account, Tags: tags,
			Key: &meridian.LiveKeyInfo{Level: meridian.EncryptionCustomerManaged, CustomerManaged: true, RotationEnabled: rotation, State: state}}
	}
	want := []meridian.LiveResource{
		key(rotated, "alias/meridian/prod/api", "Enabled", true, map[string]string{"owner": "team-api", "meridian-workload": "api"}),
		key(plain, plain, "Enabled", false, map[string]string{}),
		key(imported, imported, "PendingImport", false, map[string]string{"owner": "team-sec"}),
		key(doomed, doomed, "PendingDeletion", true, map[string]string{"owner": "team-old"}),
	}
	byID := cmpopts.SortSlices(func(a, b meridian.LiveResource) bool { return a.ID < b.ID })
	if diff := cmp.Diff(want, got, byID); diff != "" {
		t.Errorf("keys read from local-kms (-want +got):\n%s", diff)
	}
}
