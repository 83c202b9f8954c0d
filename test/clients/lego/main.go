// lego-client: the lego ACME library (github.com/go-acme/lego/v5, pinned in go.mod) driven
// from the command line, for certmint's ACME tests (test/acme). lego's own CLI cannot be
// built from the Go module proxy here (its DNS providers need modules the proxy does not
// serve); the library is the same code the CLI runs for accounts, orders, challenges,
// renewal and revocation.
//
//	[LEGO_EAB_HMAC=B64URL] lego-client -server URL -dir DIR [-account-key ec256|ec384|rsa2048|ed25519]
//	            [-eab-kid KID [-eab-hmac B64URL]] [-domains a,b] [-http-port N] [-tls-port N]
//	            register|obtain|renew|revoke|revoke-by-cert-key|ari|rollover|deactivate
//
// The EAB HMAC key is read from $LEGO_EAB_HMAC (the variable lego's own CLI reads) when
// -eab-hmac is not given: a command line is readable by every local user (ps,
// /proc/PID/cmdline), and whoever reads the one-use key first can bind an account with it.
//
// The account (key and URL) is kept in DIR/account.json; certificates in DIR/cert.pem,
// DIR/key.pem, DIR/issuer.pem. Errors go to stderr as one line, the exit code is 1.
package main

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/go-acme/lego/v5/acme"
	"github.com/go-acme/lego/v5/acme/api"
	"github.com/go-acme/lego/v5/certcrypto"
	"github.com/go-acme/lego/v5/certificate"
	"github.com/go-acme/lego/v5/challenge/http01"
	"github.com/go-acme/lego/v5/challenge/tlsalpn01"
	"github.com/go-acme/lego/v5/lego"
	"github.com/go-acme/lego/v5/registration"
)

type user struct {
	key     crypto.Signer
	account *acme.ExtendedAccount
}

func (u *user) GetEmail() string                       { return "" }
func (u *user) GetRegistration() *acme.ExtendedAccount { return u.account }
func (u *user) GetPrivateKey() crypto.Signer           { return u.key }

type stored struct {
	KeyPem string `json:"keyPem"`
	URL    string `json:"url"`
}

func main() {
	server := flag.String("server", "", "ACME directory URL")
	dir := flag.String("dir", "", "state directory")
	keyType := flag.String("account-key", "ec256", "account key: ec256, ec384, rsa2048, ed25519")
	eabKid := flag.String("eab-kid", "", "External Account Binding key id")
	eabHmac := flag.String("eab-hmac", "", "External Account Binding HMAC key (base64url); default $LEGO_EAB_HMAC, which keeps it out of ps")
	domains := flag.String("domains", "", "comma-separated identifiers")
	httpPort := flag.String("http-port", "", "serve http-01 on this port")
	tlsPort := flag.String("tls-port", "", "serve tls-alpn-01 on this port")
	flag.Parse()
	// Not the flag's default: -help would print the key.
	if *eabHmac == "" {
		*eabHmac = os.Getenv("LEGO_EAB_HMAC")
	}
	if err := run(*server, *dir, *keyType, *eabKid, *eabHmac, *domains, *httpPort, *tlsPort, flag.Arg(0)); err != nil {
		fmt.Fprintln(os.Stderr, "error:", strings.ReplaceAll(err.Error(), "\n", " "))
		os.Exit(1)
	}
}

func newKey(kind string) (crypto.Signer, error) {
	switch kind {
	case "ec256":
		return ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case "ec384":
		return ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	case "rsa2048":
		return rsa.GenerateKey(rand.Reader, 2048)
	case "ed25519":
		_, k, err := ed25519.GenerateKey(rand.Reader)
		return k, err
	}
	return nil, fmt.Errorf("unknown key type %q", kind)
}

func pemOf(key crypto.Signer) (string, error) {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return "", err
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})), nil
}

func parseKey(p string) (crypto.Signer, error) {
	block, _ := pem.Decode([]byte(p))
	if block == nil {
		return nil, errors.New("no PEM key")
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, err
	}
	return k.(crypto.Signer), nil
}

func client(server string, u *user, httpPort, tlsPort string) (*lego.Client, error) {
	config := lego.NewConfig(u)
	config.CADirURL = server
	config.Certificate.Timeout = 120 * time.Second
	c, err := lego.NewClient(config)
	if err != nil {
		return nil, err
	}
	if httpPort != "" {
		if err := c.Challenge.SetHTTP01Provider(http01.NewProviderServer("127.0.0.1", httpPort)); err != nil {
			return nil, err
		}
	}
	if tlsPort != "" {
		if err := c.Challenge.SetTLSALPN01Provider(tlsalpn01.NewProviderServer("127.0.0.1", tlsPort)); err != nil {
			return nil, err
		}
	}
	return c, nil
}

func run(server, dir, keyType, eabKid, eabHmac, domains, httpPort, tlsPort, cmd string) error {
	ctx := context.Background()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	accountFile := filepath.Join(dir, "account.json")
	u := &user{}
	if raw, err := os.ReadFile(accountFile); err == nil {
		var s stored
		if err := json.Unmarshal(raw, &s); err != nil {
			return err
		}
		if u.key, err = parseKey(s.KeyPem); err != nil {
			return err
		}
		if s.URL != "" {
			u.account = &acme.ExtendedAccount{Location: s.URL}
		}
	} else {
		if u.key, err = newKey(keyType); err != nil {
			return err
		}
	}
	save := func() error {
		p, err := pemOf(u.key)
		if err != nil {
			return err
		}
		s := stored{KeyPem: p}
		if u.account != nil {
			s.URL = u.account.Location
		}
		raw, _ := json.Marshal(s)
		return os.WriteFile(accountFile, raw, 0o600)
	}
	if cmd == "find" {
		// Looked up by key alone (RFC 8555 7.3.1: newAccount with onlyReturnExisting and a jwk).
		u.account = nil
	}
	c, err := client(server, u, httpPort, tlsPort)
	if err != nil {
		return err
	}
	certFile := filepath.Join(dir, "cert.pem")
	switch cmd {
	case "register":
		var account *acme.ExtendedAccount
		if eabKid != "" {
			account, err = c.Registration.RegisterWithExternalAccountBinding(ctx, registration.RegisterEABOptions{
				TermsOfServiceAgreed: true, Kid: eabKid, HmacEncoded: eabHmac,
			})
		} else {
			account, err = c.Registration.Register(ctx, registration.RegisterOptions{TermsOfServiceAgreed: true})
		}
		if err != nil {
			return err
		}
		u.account = account
		fmt.Println(account.Location)
		return save()
	case "find":
		account, err := c.Registration.ResolveAccountByKey(ctx)
		if err != nil {
			return err
		}
		fmt.Println(account.Location)
		return nil
	case "obtain", "renew":
		var res *certificate.Resource
		if cmd == "obtain" {
			res, err = c.Certificate.Obtain(ctx, certificate.ObtainRequest{Domains: strings.Split(domains, ","), Bundle: true, KeyType: certcrypto.EC256})
		} else {
			old, errR := os.ReadFile(certFile)
			if errR != nil {
				return errR
			}
			leaf, errP := certcrypto.ParsePEMCertificate(old)
			if errP != nil {
				return errP
			}
			replaces, errA := certificateID(leaf)
			if errA != nil {
				return errA
			}
			res, err = c.Certificate.Obtain(ctx, certificate.ObtainRequest{
				Domains: certcrypto.ExtractDomains(leaf), Bundle: true, ReplacesCertID: replaces, KeyType: certcrypto.EC256,
			})
		}
		if err != nil {
			return err
		}
		if err := os.WriteFile(certFile, res.Certificate, 0o600); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, "key.pem"), res.PrivateKey, 0o600); err != nil {
			return err
		}
		fmt.Println(res.CertURL)
		return os.WriteFile(filepath.Join(dir, "issuer.pem"), res.IssuerCertificate, 0o600)
	case "revoke":
		pemBytes, err := os.ReadFile(certFile)
		if err != nil {
			return err
		}
		return c.Certificate.Revoke(ctx, pemBytes)
	case "ari":
		pemBytes, err := os.ReadFile(certFile)
		if err != nil {
			return err
		}
		leaf, err := certcrypto.ParsePEMCertificate(pemBytes)
		if err != nil {
			return err
		}
		info, err := c.Certificate.GetRenewalInfo(ctx, leaf)
		if err != nil {
			return err
		}
		out, _ := json.Marshal(info.ExtendedRenewalInfo)
		fmt.Println(string(out))
		return nil
	case "rollover":
		next, err := newKey(keyType)
		if err != nil {
			return err
		}
		if err := c.Registration.KeyRollover(ctx, next); err != nil {
			return err
		}
		u.key = next
		return save()
	case "deactivate":
		return c.Registration.DeleteRegistration(ctx)
	}
	return fmt.Errorf("unknown command %q", cmd)
}

// certificateID is the RFC 9773 4.1 identifier of a certificate (renewal replaces it).
func certificateID(leaf *x509.Certificate) (string, error) {
	return api.MakeARICertID(leaf)
}
