// Command clienttest calls a running certmint with the generated Go client and prints what it
// saw as one JSON object; test/clients.test.ts runs it and asserts on the result.
//
// Usage (the access token, sent as `authorization: Bearer <token>` on every call, comes from
// the environment, never the command line, where ps would show it):
//
//	CERTMINT_TOKEN=<admin token> clienttest <host:port> smoke              health, and an error's google.rpc details
//	CERTMINT_TOKEN=<admin token> clienttest <host:port> scenario <prefix>  the client scenario (scenario.go)
//	CERTMINT_TOKEN=<token> clienttest <host:port> watch <certificate id> <CA PEM file> [<after cursor>]
//	                                                                    wait for the server to renew it (watch.go)
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"time"

	certmintv1 "github.com/certmint/certmint/gen/go/certmint/v1"
	"google.golang.org/genproto/googleapis/rpc/code"
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
	usage := "usage: clienttest <host:port> smoke | clienttest <host:port> scenario <prefix>" +
		" | clienttest <host:port> watch <certificate id> <CA PEM file> [<after cursor>]"
	if len(os.Args) < 3 {
		fmt.Fprintln(os.Stderr, usage)
		os.Exit(2)
	}
	token := os.Getenv("CERTMINT_TOKEN")
	if token == "" {
		fmt.Fprintln(os.Stderr, "clienttest: set CERTMINT_TOKEN to an admin access token")
		os.Exit(2)
	}
	address := os.Args[1]
	conn, err := dial(address, token)
	if err != nil {
		fail(err)
	}
	defer conn.Close()
	// A watch waits for the server's renewal timer; everything else is quick.
	limit := 60 * time.Second
	if os.Args[2] == "watch" {
		limit = 240 * time.Second
	}
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()

	var out any
	switch {
	case os.Args[2] == "smoke" && len(os.Args) == 3:
		out, err = smoke(ctx, conn)
	case os.Args[2] == "scenario" && len(os.Args) == 4:
		out, err = runScenario(ctx, conn, func(token string) (*grpc.ClientConn, error) {
			return dial(address, token)
		}, os.Args[3])
	case os.Args[2] == "watch" && (len(os.Args) == 5 || len(os.Args) == 6):
		cursor := ""
		if len(os.Args) == 6 {
			cursor = os.Args[5]
		}
		out, err = runWatch(ctx, conn, os.Args[3], os.Args[4], cursor)
	default:
		fmt.Fprintln(os.Stderr, usage)
		os.Exit(2)
	}
	if err != nil {
		fail(err)
	}
	_ = json.NewEncoder(os.Stdout).Encode(out)
}

// bearerToken is a credentials.PerRPCCredentials sending `authorization: Bearer <token>` on
// every call of the connection.
type bearerToken string

func (t bearerToken) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{"authorization": "Bearer " + string(t)}, nil
}

// RequireTransportSecurity is false: the tests speak plaintext to a loopback server, and grpc-go
// refuses per-RPC credentials that require transport security on an insecure connection.
func (bearerToken) RequireTransportSecurity() bool { return false }

// dial connects to certmint in plaintext, sending token on every call.
func dial(address, token string) (*grpc.ClientConn, error) {
	return grpc.NewClient(address,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithPerRPCCredentials(bearerToken(token)))
}

// rpcError is a failed call's canonical code name (google.rpc.Code, e.g. "PERMISSION_DENIED")
// and its ErrorInfo reason; "OK" when err is nil.
func rpcError(err error) (codeName, reason string) {
	st, _ := status.FromError(err)
	for _, d := range st.Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok {
			reason = info.GetReason()
		}
	}
	return code.Code(st.Code()).String(), reason
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
