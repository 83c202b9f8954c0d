// go-verify verifies a certificate chain with Go's crypto/x509, a second implementation
// beside OpenSSL that enforces name constraints (RFC 5280 4.2.1.10) on every name of the
// leaf. Usage: go run . ROOTS.pem INTERMEDIATES.pem LEAF.pem
// Prints {"ok":true} or {"ok":false,"error":"..."} and always exits 0 on a verdict.
package main

import (
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"os"
)

func pool(path string) (*x509.CertPool, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	p := x509.NewCertPool()
	if len(data) > 0 && !p.AppendCertsFromPEM(data) {
		return nil, fmt.Errorf("%s: no certificate", path)
	}
	return p, nil
}

func main() {
	if len(os.Args) != 4 {
		fmt.Fprintln(os.Stderr, "usage: go-verify ROOTS.pem INTERMEDIATES.pem LEAF.pem")
		os.Exit(2)
	}
	roots, err := pool(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	intermediates, err := pool(os.Args[2])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	data, err := os.ReadFile(os.Args[3])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	block, _ := pem.Decode(data)
	if block == nil {
		fmt.Fprintln(os.Stderr, "leaf: no PEM block")
		os.Exit(2)
	}
	leaf, err := x509.ParseCertificate(block.Bytes)
	result := map[string]any{"ok": err == nil}
	if err == nil {
		_, err = leaf.Verify(x509.VerifyOptions{
			Roots:         roots,
			Intermediates: intermediates,
			KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageAny},
		})
		result["ok"] = err == nil
	}
	if err != nil {
		result["error"] = err.Error()
	}
	out, _ := json.Marshal(result)
	fmt.Println(string(out))
}
