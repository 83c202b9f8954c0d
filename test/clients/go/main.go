// Command clienttest calls a running certmint with the generated Go client and prints what it
// saw as one JSON object; test/clients.test.ts runs it and asserts on the result.
//
// Usage:
//
//	clienttest <host:port> smoke              health, and an error's google.rpc details
//	clienttest <host:port> scenario <prefix>  the client scenario (scenario.go)
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"time"

	certmintv1 "github.com/certmint/certmint/gen/go/certmint/v1"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
)

type smokeResult struct {
	Health      string `json:"health"`
	IssueCode   string `json:"issue_code"`
	IssueReason string `json:"issue_reason"`
	IssueDomain string `json:"issue_domain"`
}

func main() {
	usage := "usage: clienttest <host:port> smoke | clienttest <host:port> scenario <prefix>"
	if len(os.Args) < 3 {
		fmt.Fprintln(os.Stderr, usage)
		os.Exit(2)
	}
	conn, err := grpc.NewClient(os.Args[1], grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		fail(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	var out any
	switch {
	case os.Args[2] == "smoke" && len(os.Args) == 3:
		out, err = smoke(ctx, conn)
	case os.Args[2] == "scenario" && len(os.Args) == 4:
		out, err = runScenario(ctx, conn, os.Args[3])
	default:
		fmt.Fprintln(os.Stderr, usage)
		os.Exit(2)
	}
	if err != nil {
		fail(err)
	}
	_ = json.NewEncoder(os.Stdout).Encode(out)
}

func smoke(ctx context.Context, conn *grpc.ClientConn) (smokeResult, error) {
	var out smokeResult
	h, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{})
	if err != nil {
		return out, err
	}
	out.Health = h.GetStatus().String()

	certs := certmintv1.NewCertificateServiceClient(conn)
	_, err = certs.IssueCertificate(ctx, &certmintv1.IssueCertificateRequest{
		CertificateProfile: "web-servers",
		RequestId:          "go-smoke-1",
		Source:             &certmintv1.IssueCertificateRequest_CsrPem{CsrPem: "-----BEGIN CERTIFICATE REQUEST-----"},
	})
	st, _ := status.FromError(err)
	out.IssueCode = st.Code().String()
	for _, d := range st.Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok {
			out.IssueReason = info.GetReason()
			out.IssueDomain = info.GetDomain()
		}
	}
	return out, nil
}

// fail prints the error, with a gRPC status's code, message and details, and exits 1.
func fail(err error) {
	fmt.Fprintln(os.Stderr, "clienttest:", err)
	if st, ok := status.FromError(err); ok && st.Code() != 0 {
		for _, d := range st.Details() {
			fmt.Fprintf(os.Stderr, "  detail: %v\n", d)
		}
	}
	os.Exit(1)
}
