// Package gcptest runs in-process gRPC servers that stand in for Google
// Cloud services in tests, so that the real cloud.google.com/go clients,
// with their own serialisation, retries and pagination, can be pointed at
// them.
//
// A test implements the methods it needs of a service's generated server
// interface (embedding the generated Unimplemented server for the rest),
// registers it, and builds the real client from the returned options:
//
//	opts := gcptest.Start(t, func(s *grpc.Server) {
//		kmspb.RegisterKeyManagementServiceServer(s, fakeKMS)
//	})
//	client, err := kms.NewKeyManagementClient(ctx, opts...)
package gcptest

import (
	"net"
	"testing"

	"google.golang.org/api/option"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// Start starts a gRPC server on 127.0.0.1 with the services that register
// adds, and returns the client options that connect a cloud.google.com/go
// gRPC client to it: its endpoint, no authentication and plaintext
// transport. The server stops when the test and its subtests end.
func Start(tb testing.TB, register ...func(*grpc.Server)) []option.ClientOption {
	tb.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("gcptest: listen: %v", err)
	}
	srv := grpc.NewServer()
	for _, r := range register {
		r(srv)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(lis) }()
	tb.Cleanup(func() {
		srv.Stop()
		if err := <-done; err != nil && err != grpc.ErrServerStopped {
			tb.Errorf("gcptest: serve: %v", err)
		}
	})
	return []option.ClientOption{
		option.WithEndpoint(lis.Addr().String()),
		option.WithoutAuthentication(),
		option.WithGRPCDialOption(grpc.WithTransportCredentials(insecure.NewCredentials())),
	}
}
