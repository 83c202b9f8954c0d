// Command adopt is what a team adopting certmint from Go writes: it depends on the generated
// package (github.com/certmint/certmint/gen/go) from a module of its own, and prints one JSON
// object of what it saw; test/probe52/clients/adoption.test.ts copies it outside the repository
// and runs it against a live server.
//
// Environment: ADOPT_ADDR, ADOPT_CA_FILE (the server's CA), ADOPT_CLIENT_CERT and
// ADOPT_CLIENT_KEY (for mTLS), CERTMINT_TOKEN, ADOPT_PROFILE, ADOPT_NAME.
package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"os"
	"sort"
	"time"

	certmintv1 "github.com/certmint/certmint/gen/go/certmint/v1"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

type bearer string

func (b bearer) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{"authorization": "Bearer " + string(b)}, nil
}
func (bearer) RequireTransportSecurity() bool { return true }

func dial(withClientCert bool) *grpc.ClientConn {
	caPem, err := os.ReadFile(os.Getenv("ADOPT_CA_FILE"))
	if err != nil {
		log.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPem)
	cfg := &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	if withClientCert {
		pair, err := tls.LoadX509KeyPair(os.Getenv("ADOPT_CLIENT_CERT"), os.Getenv("ADOPT_CLIENT_KEY"))
		if err != nil {
			log.Fatal(err)
		}
		cfg.Certificates = []tls.Certificate{pair}
	}
	conn, err := grpc.NewClient(os.Getenv("ADOPT_ADDR"),
		grpc.WithTransportCredentials(credentials.NewTLS(cfg)),
		grpc.WithPerRPCCredentials(bearer(os.Getenv("CERTMINT_TOKEN"))))
	if err != nil {
		log.Fatal(err)
	}
	return conn
}

func issue(ctx context.Context, c certmintv1.CertificateServiceClient, name string) (*certmintv1.IssueCertificateResponse, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	return c.IssueCertificate(ctx, &certmintv1.IssueCertificateRequest{
		CertificateProfile: os.Getenv("ADOPT_PROFILE"),
		Source: &certmintv1.IssueCertificateRequest_Attributes{Attributes: &certmintv1.CertificateAttributes{
			Subject:                 &certmintv1.Subject{CommonName: name},
			SubjectAlternativeNames: &certmintv1.SubjectAlternativeNames{DnsNames: []string{name}},
		}},
	})
}

func main() {
	out := map[string]any{}
	name := os.Getenv("ADOPT_NAME")
	ctx := context.Background()
	tlsConn, mtlsConn := dial(false), dial(true)
	defer tlsConn.Close()
	defer mtlsConn.Close()
	certs := certmintv1.NewCertificateServiceClient(tlsConn)

	issued, err := issue(ctx, certs, name+"-tls.example.com")
	if err != nil {
		log.Fatal(err)
	}
	out["tls_status"] = issued.GetStatus().String()
	mctx := metadata.AppendToOutgoingContext(ctx, "x-request-id", name+"-mtls-call")
	mIssued, err := issue(mctx, certmintv1.NewCertificateServiceClient(mtlsConn), name+"-mtls.example.com")
	if err != nil {
		log.Fatal(err)
	}
	out["mtls_status"] = mIssued.GetStatus().String()

	// A refused call's details, decoded with status.FromError and Status.Details.
	_, err = certs.IssueCertificate(ctx, &certmintv1.IssueCertificateRequest{
		CertificateProfile: os.Getenv("ADOPT_PROFILE"),
		KeyUsages:          []certmintv1.KeyUsage{99},
		ExtendedKeyUsages:  []certmintv1.ExtendedKeyUsage{99},
	})
	st, _ := status.FromError(err)
	out["bad_request_code"] = st.Code().String()
	fields := []string{}
	for _, d := range st.Details() {
		switch d := d.(type) {
		case *errdetails.ErrorInfo:
			out["bad_request_reason"] = d.GetReason()
			out["bad_request_domain"] = d.GetDomain()
		case *errdetails.BadRequest:
			for _, v := range d.GetFieldViolations() {
				fields = append(fields, v.GetField())
			}
		}
	}
	sort.Strings(fields)
	out["bad_request_fields"] = fields

	// RetryInfo: lists until the token's row budget is spent (the server runs with a tiny one).
	for i := 0; i < 20; i++ {
		_, err = certs.ListCertificates(ctx, &certmintv1.ListCertificatesRequest{PageSize: 1})
		if err != nil {
			break
		}
	}
	st, _ = status.FromError(err)
	out["retry_code"] = st.Code().String()
	for _, d := range st.Details() {
		switch d := d.(type) {
		case *errdetails.ErrorInfo:
			out["retry_reason"] = d.GetReason()
		case *errdetails.RetryInfo:
			out["retry_delay_positive"] = d.GetRetryDelay().AsDuration() > 0
		}
	}

	// A watch with a deadline: its CURRENT event, then DEADLINE_EXCEEDED.
	id := issued.GetCertificate().GetCertificateId()
	wctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	stream, err := certs.WatchCertificates(wctx, &certmintv1.WatchCertificatesRequest{
		Scope: &certmintv1.WatchCertificatesRequest_CertificateId{CertificateId: id},
	})
	if err != nil {
		log.Fatal(err)
	}
	first, err := stream.Recv()
	if err != nil {
		log.Fatal(err)
	}
	out["watch_first_type"] = first.GetType().String()
	// Resume after the last cursor received: the README's rule (a KEEPALIVE may follow CURRENT
	// at the cursor of the certificate's own ISSUED event).
	last := first.GetCursor()
	for err == nil {
		var e *certmintv1.WatchCertificatesResponse
		if e, err = stream.Recv(); err == nil {
			last = e.GetCursor()
		}
	}
	cancel()
	out["watch_deadline_code"] = status.Code(err).String()

	// Revoked while no watch runs; the watch resumed after the CURRENT event's cursor sees it.
	if _, err := certs.RevokeCertificate(ctx, &certmintv1.RevokeCertificateRequest{
		Certificate: id, Reason: certmintv1.RevocationReason_REVOCATION_REASON_SUPERSEDED,
	}); err != nil {
		log.Fatal(err)
	}
	rctx, rcancel := context.WithTimeout(ctx, 30*time.Second)
	defer rcancel()
	resumed, err := certs.WatchCertificates(rctx, &certmintv1.WatchCertificatesRequest{
		Scope:       &certmintv1.WatchCertificatesRequest_CertificateId{CertificateId: id},
		AfterCursor: last,
	})
	if err != nil {
		log.Fatal(err)
	}
	for {
		e, err := resumed.Recv()
		if err != nil {
			log.Fatal(errors.Join(errors.New("resumed watch"), err))
		}
		if e.GetType() == certmintv1.CertificateEventType_CERTIFICATE_EVENT_TYPE_KEEPALIVE {
			continue
		}
		out["resumed_first_type"] = e.GetType().String()
		out["resumed_certificate_is_watched"] = e.GetCertificate().GetId() == id
		break
	}
	b, _ := json.Marshal(out)
	fmt.Println(string(b))
}
