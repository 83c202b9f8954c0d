package main

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"os"

	certmintv1 "github.com/certmint/certmint/gen/go/certmint/v1"
	"google.golang.org/grpc"
)

// watchResult is what every language's watch mode prints; test/clients.test.ts asserts on it.
type watchResult struct {
	Language  string `json:"language"`
	OldSerial string `json:"old_serial"`
	NewSerial string `json:"new_serial"`
	Verified  bool   `json:"verified"`
}

// runWatch opens WatchCertificates on the lineage of certificateID (resuming after afterCursor
// when it is set), reads events until the RENEWED event of that certificate's successor, and
// verifies the successor with crypto/x509 against the CA certificate in caFile.
func runWatch(ctx context.Context, conn *grpc.ClientConn, certificateID, caFile, afterCursor string) (watchResult, error) {
	out := watchResult{Language: "go"}
	caPem, err := os.ReadFile(caFile)
	if err != nil {
		return out, err
	}
	caCert, err := parseCert(string(caPem))
	if err != nil {
		return out, fmt.Errorf("%s: %w", caFile, err)
	}
	certs := certmintv1.NewCertificateServiceClient(conn)
	old, err := certs.GetCertificate(ctx, &certmintv1.GetCertificateRequest{Certificate: certificateID})
	if err != nil {
		return out, err
	}
	out.OldSerial = old.GetCertificate().GetSerialNumber()
	stream, err := certs.WatchCertificates(ctx, &certmintv1.WatchCertificatesRequest{
		Scope:       &certmintv1.WatchCertificatesRequest_CertificateId{CertificateId: certificateID},
		AfterCursor: afterCursor,
	})
	if err != nil {
		return out, err
	}
	for {
		event, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return out, errors.New("the watch ended before the certificate was renewed")
		}
		if err != nil {
			return out, err
		}
		if event.GetType() != certmintv1.CertificateEventType_CERTIFICATE_EVENT_TYPE_RENEWED ||
			event.GetPreviousCertificateId() != certificateID {
			continue
		}
		successor := event.GetCertificate()
		out.NewSerial = successor.GetSerialNumber()
		leaf, err := parseCert(successor.GetCertificatePem())
		if err != nil {
			return out, err
		}
		roots := x509.NewCertPool()
		roots.AddCert(caCert)
		intermediates := x509.NewCertPool()
		for _, p := range successor.GetCertificateChainPem() {
			c, err := parseCert(p)
			if err != nil {
				return out, err
			}
			intermediates.AddCert(c)
		}
		_, err = leaf.Verify(x509.VerifyOptions{
			Roots:         roots,
			Intermediates: intermediates,
			KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageAny},
		})
		if err != nil {
			return out, fmt.Errorf("the renewed certificate does not verify: %w", err)
		}
		out.Verified = true
		return out, nil
	}
}
