// Command watch-sidecar keeps one certificate and its key up to date on disk as certmint
// renews it (profile renewal.auto_renew). It opens CertificateService.WatchCertificates on
// the certificate's lineage and, on every certificate the watch delivers (the current one
// first, then each successor), writes
//
//	<dir>/cert.pem   the certificate, then its chain (nearest CA first)
//	<dir>/key.pem    the private key, mode 0600, when certmint generated it (sent to the owner only)
//	<dir>/cursor     the last event's cursor, so a restart resumes where it stopped
//
// each replaced atomically (written aside, then renamed). It reconnects with backoff when the
// stream ends for a reason worth retrying (the server stopping, the network) and stops on
// SIGTERM.
//
// Usage: CERTMINT_TOKEN=<access token> watch-sidecar <host:port> <certificate id> <dir>
// (the token comes from the environment, never the command line, where ps would show it).
// Plaintext for brevity; use credentials.NewTLS against a TLS listener.
package main

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	certmintv1 "github.com/certmint/certmint/gen/go/certmint/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

func main() {
	token := os.Getenv("CERTMINT_TOKEN")
	if len(os.Args) != 4 || token == "" {
		fmt.Fprintln(os.Stderr, "usage: CERTMINT_TOKEN=<token> watch-sidecar <host:port> <certificate id> <dir>")
		os.Exit(2)
	}
	address, certificateID, dir := os.Args[1], os.Args[2], os.Args[3]

	conn, err := grpc.NewClient(address, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer conn.Close()
	client := certmintv1.NewCertificateServiceClient(conn)

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	ctx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+token)

	cursor := ""
	if b, err := os.ReadFile(filepath.Join(dir, "cursor")); err == nil {
		cursor = strings.TrimSpace(string(b))
	}
	backoff := 500 * time.Millisecond
	for ctx.Err() == nil {
		err := watch(ctx, client, certificateID, dir, &cursor, func() { backoff = 500 * time.Millisecond })
		if ctx.Err() != nil {
			return
		}
		if !retryable(err) {
			fmt.Fprintf(os.Stderr, "watch refused: %v\n", err)
			os.Exit(1)
		}
		fmt.Fprintf(os.Stderr, "watch ended (%v); reconnecting in %v\n", err, backoff)
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 30*time.Second)
	}
}

// watch runs one stream until it ends, handling each event; it returns why it ended.
func watch(ctx context.Context, client certmintv1.CertificateServiceClient, certificateID, dir string, cursor *string, received func()) error {
	stream, err := client.WatchCertificates(ctx, &certmintv1.WatchCertificatesRequest{
		Scope:       &certmintv1.WatchCertificatesRequest_CertificateId{CertificateId: certificateID},
		AfterCursor: *cursor,
	})
	if err != nil {
		return err
	}
	for {
		event, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return status.Error(codes.Unavailable, "the server ended the stream")
		}
		if err != nil {
			return err
		}
		received()
		if err := handle(event, dir); err != nil {
			return err
		}
		*cursor = event.GetCursor()
	}
}

// keyOnDiskMatches says whether key.pem, if there is one (the key may live elsewhere), is the
// certificate's key.
func keyOnDiskMatches(dir, certificatePem string) error {
	key, err := os.ReadFile(filepath.Join(dir, "key.pem"))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if _, err := tls.X509KeyPair([]byte(certificatePem), key); err != nil {
		return fmt.Errorf("is not for %s (%v)", filepath.Join(dir, "key.pem"), err)
	}
	return nil
}

// handle writes what an event carries, then remembers its cursor.
func handle(event *certmintv1.WatchCertificatesResponse, dir string) error {
	cert := event.GetCertificate()
	switch event.GetType() {
	case certmintv1.CertificateEventType_CERTIFICATE_EVENT_TYPE_CURRENT,
		certmintv1.CertificateEventType_CERTIFICATE_EVENT_TYPE_RENEWED,
		certmintv1.CertificateEventType_CERTIFICATE_EVENT_TYPE_ISSUED:
		if cert != nil {
			// A certificate without its key (another token renewed it with a new key, or certmint
			// no longer holds it) that key.pem does not match is never written: the pair would
			// stop the TLS server that reloads them. Stop instead, the old pair left as it was.
			if event.GetPrivateKeyPem() == "" {
				if err := keyOnDiskMatches(dir, cert.GetCertificatePem()); err != nil {
					return fmt.Errorf("certificate %s came without its key and %w: files left as they were; renew it with this token", cert.GetSerialNumber(), err)
				}
			}
			// The key first: a reader that sees the new certificate finds its key already there.
			if key := event.GetPrivateKeyPem(); key != "" {
				if err := replaceFile(dir, "key.pem", key, 0o600); err != nil {
					return err
				}
			}
			pem := cert.GetCertificatePem() + strings.Join(cert.GetCertificateChainPem(), "")
			if err := replaceFile(dir, "cert.pem", pem, 0o644); err != nil {
				return err
			}
		}
	}
	if err := replaceFile(dir, "cursor", event.GetCursor()+"\n", 0o600); err != nil {
		return err
	}
	line, _ := json.Marshal(map[string]string{
		"type":           event.GetType().String(),
		"certificate_id": cert.GetId(),
		"cursor":         event.GetCursor(),
	})
	fmt.Println(string(line))
	return nil
}

// replaceFile writes name in dir atomically with mode.
func replaceFile(dir, name, content string, mode os.FileMode) error {
	target := filepath.Join(dir, name)
	aside := target + ".new"
	if err := os.WriteFile(aside, []byte(content), mode); err != nil {
		return err
	}
	if err := os.Chmod(aside, mode); err != nil { // WriteFile's mode is masked by the umask
		return err
	}
	return os.Rename(aside, target)
}

// retryable says whether the same watch may succeed later.
func retryable(err error) bool {
	switch status.Code(err) {
	case codes.Unavailable, codes.DeadlineExceeded, codes.ResourceExhausted, codes.Aborted, codes.Internal:
		return true
	}
	return false
}
