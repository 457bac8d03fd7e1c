package gcptest_test

import (
	"context"
	"testing"
	"time"

	kms "cloud.google.com/go/kms/apiv1"
	"cloud.google.com/go/kms/apiv1/kmspb"
	"github.com/meridianhq/meridian/providers/gcp/gcptest"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// keyRings answers GetKeyRing for one ring name and leaves the rest of the
// service unimplemented.
type keyRings struct {
	kmspb.UnimplementedKeyManagementServiceServer
	name string
}

func (k keyRings) GetKeyRing(_ context.Context, req *kmspb.GetKeyRingRequest) (*kmspb.KeyRing, error) {
	if req.GetName() != k.name {
		return nil, status.Errorf(codes.NotFound, "key ring %s not found", req.GetName())
	}
	return &kmspb.KeyRing{Name: k.name}, nil
}

func TestStart(t *testing.T) {
	const ring = "projects/p/locations/europe-west1/keyRings/r"
	ctx := context.Background()
	var client *kms.KeyManagementClient
	t.Run("serves", func(t *testing.T) {
		opts := gcptest.Start(t, func(s *grpc.Server) {
			kmspb.RegisterKeyManagementServiceServer(s, keyRings{name: ring})
		})
		var err error
		client, err = kms.NewKeyManagementClient(ctx, opts...)
		if err != nil {
			t.Fatal(err)
		}
		got, err := client.GetKeyRing(ctx, &kmspb.GetKeyRingRequest{Name: ring})
		if err != nil {
			t.Fatalf("GetKeyRing through the real client: %v", err)
		}
		if got.GetName() != ring {
			t.Errorf("GetKeyRing name = %q, want %q", got.GetName(), ring)
		}
		// Methods the fake leaves out answer Unimplemented, not a hang.
		_, err = client.GetCryptoKey(ctx, &kmspb.GetCryptoKeyRequest{Name: ring + "/cryptoKeys/k"})
		if status.Code(err) != codes.Unimplemented {
			t.Errorf("GetCryptoKey error = %v, want code Unimplemented", err)
		}
	})
	t.Cleanup(func() { client.Close() })
	// The subtest's cleanup stopped the server: the same client now fails
	// (after retrying Unavailable until the deadline, as KMS clients do).
	cctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	if _, err := client.GetKeyRing(cctx, &kmspb.GetKeyRingRequest{Name: ring}); err == nil {
		t.Error("GetKeyRing succeeded after the test that started the server ended")
	}
}
