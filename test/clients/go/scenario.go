package main

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"time"

	certmintv1 "github.com/certmint/certmint/gen/go/certmint/v1"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/durationpb"
)

// summary is what every language's client test prints; test/clients.test.ts holds the field
// meanings and the expected values.
type summary struct {
	Language                         string   `json:"language"`
	RootCaStatus                     string   `json:"root_ca_status"`
	IntermediateCaStatus             string   `json:"intermediate_ca_status"`
	IntermediateParentIsRoot         bool     `json:"intermediate_parent_is_root"`
	PolicyMaxTTLSeconds              int64    `json:"policy_max_ttl_seconds"`
	ProfileIssuerIsIntermediate      bool     `json:"profile_issuer_is_intermediate"`
	CsrIssueStatus                   string   `json:"csr_issue_status"`
	CsrCertificateKeyMatches         bool     `json:"csr_certificate_key_matches"`
	CsrCertificateDNSNames           []string `json:"csr_certificate_dns_names"`
	CsrSerialMatches                 bool     `json:"csr_serial_matches"`
	IssuedChainMatchesCas            bool     `json:"issued_chain_matches_cas"`
	GeneratedIssueStatus             string   `json:"generated_issue_status"`
	GeneratedKeyMatches              bool     `json:"generated_key_matches"`
	RenewStatus                      string   `json:"renew_status"`
	RenewedSerialDiffers             bool     `json:"renewed_serial_differs"`
	RenewedKeyReused                 bool     `json:"renewed_key_reused"`
	RevokeStatus                     string   `json:"revoke_status"`
	RevocationReason                 string   `json:"revocation_reason"`
	CrlSignatureValid                bool     `json:"crl_signature_valid"`
	CrlRevokedSerialFound            bool     `json:"crl_revoked_serial_found"`
	CrlRevokedReasonCode             int      `json:"crl_revoked_reason_code"`
	CrlOriginalSerialFound           bool     `json:"crl_original_serial_found"`
	ChainVerified                    bool     `json:"chain_verified"`
	ChainLength                      int      `json:"chain_length"`
	GeneratedChainVerified           bool     `json:"generated_chain_verified"`
	ChainRejectedWithoutIntermediate bool     `json:"chain_rejected_without_intermediate"`
	IssuerTokenRole                  string   `json:"issuer_token_role"`
	IssuerTokenState                 string   `json:"issuer_token_state"`
	IssuerTokenProfilesMatch         bool     `json:"issuer_token_profiles_match"`
	IssuerTokenSecretReturned        bool     `json:"issuer_token_secret_returned"`
	IssuerIssueStatus                string   `json:"issuer_issue_status"`
	IssuerCertificateVerified        bool     `json:"issuer_certificate_verified"`
	IssuerAdminCallCode              string   `json:"issuer_admin_call_code"`
	IssuerAdminCallReason            string   `json:"issuer_admin_call_reason"`
	RevokedTokenState                string   `json:"revoked_token_state"`
	RevokedTokenCallCode             string   `json:"revoked_token_call_code"`
	RevokedTokenCallReason           string   `json:"revoked_token_call_reason"`
	// Why a verification failed; absent when both chains verified.
	ChainError string `json:"chain_error,omitempty"`
}

// runScenario: CAs, policy and profile; issue from a CSR made here and with a server-made key;
// renew; revoke; find the serial in the CRL; verify the chain with crypto/x509; then an issuer
// access token limited to the profile: it issues, is refused an admin call, and once revoked is
// refused altogether. conn sends the admin token; dial connects with another token.
func runScenario(
	ctx context.Context, conn *grpc.ClientConn, dial func(token string) (*grpc.ClientConn, error), prefix string,
) (*summary, error) {
	cas := certmintv1.NewCertificateAuthorityServiceClient(conn)
	policies := certmintv1.NewCertificatePolicyServiceClient(conn)
	profiles := certmintv1.NewCertificateProfileServiceClient(conn)
	certs := certmintv1.NewCertificateServiceClient(conn)
	tokens := certmintv1.NewAccessTokenServiceClient(conn)
	out := &summary{Language: "go"}
	day := 24 * time.Hour

	// 1. Root and intermediate CA, a TLS-server policy, a profile on the intermediate.
	rootRes, err := cas.CreateRootCertificateAuthority(ctx, &certmintv1.CreateRootCertificateAuthorityRequest{
		Slug:         prefix + "-root",
		Subject:      caSubject(prefix + " client test root"),
		KeyAlgorithm: certmintv1.KeyAlgorithm_KEY_ALGORITHM_EC_P256,
	})
	if err != nil {
		return nil, fmt.Errorf("CreateRootCertificateAuthority: %w", err)
	}
	root := rootRes.GetCertificateAuthority()
	out.RootCaStatus = root.GetStatus().String()

	interReq := &certmintv1.CreateIntermediateCertificateAuthorityRequest{
		Slug:                       prefix + "-intermediate",
		ParentCertificateAuthority: root.GetSlug(),
		Subject:                    caSubject(prefix + " client test intermediate"),
		KeyAlgorithm:               certmintv1.KeyAlgorithm_KEY_ALGORITHM_EC_P256,
	}
	interRes, err := cas.CreateIntermediateCertificateAuthority(ctx, interReq)
	if err != nil {
		return nil, fmt.Errorf("CreateIntermediateCertificateAuthority: %w", err)
	}
	inter := interRes.GetCertificateAuthority()
	out.IntermediateCaStatus = inter.GetStatus().String()
	out.IntermediateParentIsRoot = inter.GetParentCertificateAuthorityId() == root.GetId()

	policyRes, err := policies.CreateCertificatePolicy(ctx, &certmintv1.CreateCertificatePolicyRequest{
		Preset: certmintv1.CertificatePolicyPreset_CERTIFICATE_POLICY_PRESET_TLS_SERVER,
		CertificatePolicy: &certmintv1.CertificatePolicy{
			Slug:         prefix + "-tls-server",
			SubjectRules: &certmintv1.SubjectRules{CommonName: &certmintv1.ValueRule{Allowed: []string{"*"}}},
			SanRules:     &certmintv1.SanRules{Dns: &certmintv1.NameRule{Allowed: []string{"**.example.com"}}},
			MaxTtl:       durationpb.New(30 * day),
		},
	})
	if err != nil {
		return nil, fmt.Errorf("CreateCertificatePolicy: %w", err)
	}
	policy := policyRes.GetCertificatePolicy()
	out.PolicyMaxTTLSeconds = policy.GetMaxTtl().GetSeconds()

	profileRes, err := profiles.CreateCertificateProfile(ctx, &certmintv1.CreateCertificateProfileRequest{
		CertificateProfile: &certmintv1.CertificateProfile{
			Slug:              prefix + "-web",
			CertificatePolicy: policy.GetId(),
			Issuer:            &certmintv1.CertificateProfile_CertificateAuthority{CertificateAuthority: inter.GetSlug()},
			Defaults: &certmintv1.ProfileDefaults{
				Ttl:          durationpb.New(7 * day),
				KeyAlgorithm: certmintv1.KeyAlgorithm_KEY_ALGORITHM_EC_P256,
			},
		},
	})
	if err != nil {
		return nil, fmt.Errorf("CreateCertificateProfile: %w", err)
	}
	profile := profileRes.GetCertificateProfile()
	out.ProfileIssuerIsIntermediate = profile.GetCertificateAuthority() == inter.GetId()

	rootCert, err := parseCert(root.GetCertificatePem())
	if err != nil {
		return nil, fmt.Errorf("root certificate: %w", err)
	}
	interCert, err := parseCert(inter.GetCertificatePem())
	if err != nil {
		return nil, fmt.Errorf("intermediate certificate: %w", err)
	}

	// 2. Issue from a CSR: ECDSA P-256 key and PKCS #10 request made by crypto/x509.
	name := prefix + "-api.example.com"
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	csrDer, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{
		Subject:  pkix.Name{CommonName: name},
		DNSNames: []string{name},
	}, key)
	if err != nil {
		return nil, err
	}
	issued, err := certs.IssueCertificate(ctx, &certmintv1.IssueCertificateRequest{
		CertificateProfile: profile.GetSlug(),
		RequestId:          prefix + "-csr-1",
		Source: &certmintv1.IssueCertificateRequest_CsrPem{
			CsrPem: string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: csrDer})),
		},
	})
	if err != nil {
		return nil, fmt.Errorf("IssueCertificate (CSR): %w", err)
	}
	out.CsrIssueStatus = issued.GetStatus().String()
	leaf, err := parseCert(issued.GetCertificate().GetCertificatePem())
	if err != nil {
		return nil, fmt.Errorf("issued certificate: %w", err)
	}
	out.CsrCertificateKeyMatches = key.Public().(*ecdsa.PublicKey).Equal(leaf.PublicKey)
	out.CsrCertificateDNSNames = leaf.DNSNames
	out.CsrSerialMatches = serialEquals(issued.GetCertificate().GetSerialNumber(), leaf.SerialNumber)
	chain := issued.GetCertificate().GetCertificateChainPem()
	out.IssuedChainMatchesCas = len(chain) == 2 &&
		samePem(chain[0], interCert) && samePem(chain[1], rootCert) &&
		samePem(issued.GetCertificate().GetIssuingCaCertificatePem(), interCert)

	// 3. Issue with a key certmint generates; the returned PKCS #8 key must match the certificate.
	generated, err := certs.IssueCertificate(ctx, &certmintv1.IssueCertificateRequest{
		CertificateProfile: profile.GetSlug(),
		RequestId:          prefix + "-generated-1",
		Source: &certmintv1.IssueCertificateRequest_Attributes{Attributes: &certmintv1.CertificateAttributes{
			Subject:                 &certmintv1.Subject{CommonName: prefix + "-worker.example.com"},
			SubjectAlternativeNames: &certmintv1.SubjectAlternativeNames{DnsNames: []string{prefix + "-worker.example.com"}},
			KeyAlgorithm:            certmintv1.KeyAlgorithm_KEY_ALGORITHM_EC_P256,
		}},
	})
	if err != nil {
		return nil, fmt.Errorf("IssueCertificate (generated key): %w", err)
	}
	out.GeneratedIssueStatus = generated.GetStatus().String()
	genLeaf, err := parseCert(generated.GetCertificate().GetCertificatePem())
	if err != nil {
		return nil, fmt.Errorf("certificate with generated key: %w", err)
	}
	out.GeneratedKeyMatches, err = privateKeyMatches(generated.GetPrivateKeyPem(), genLeaf)
	if err != nil {
		return nil, fmt.Errorf("generated private key: %w", err)
	}

	// 4. Renew the CSR certificate (a CSR certificate's renewal reuses its key by default).
	renewed, err := certs.RenewCertificate(ctx, &certmintv1.RenewCertificateRequest{
		CertificateId: issued.GetCertificate().GetCertificateId(),
		RequestId:     prefix + "-renew-1",
	})
	if err != nil {
		return nil, fmt.Errorf("RenewCertificate: %w", err)
	}
	out.RenewStatus = renewed.GetStatus().String()
	renewedLeaf, err := parseCert(renewed.GetCertificate().GetCertificatePem())
	if err != nil {
		return nil, fmt.Errorf("renewed certificate: %w", err)
	}
	out.RenewedSerialDiffers = renewedLeaf.SerialNumber.Cmp(leaf.SerialNumber) != 0
	out.RenewedKeyReused = key.Public().(*ecdsa.PublicKey).Equal(renewedLeaf.PublicKey)

	// 5. Revoke the renewed certificate.
	revoked, err := certs.RevokeCertificate(ctx, &certmintv1.RevokeCertificateRequest{
		Certificate: renewed.GetCertificate().GetCertificateId(),
		Reason:      certmintv1.RevocationReason_REVOCATION_REASON_KEY_COMPROMISE,
	})
	if err != nil {
		return nil, fmt.Errorf("RevokeCertificate: %w", err)
	}
	out.RevokeStatus = revoked.GetCertificate().GetStatus().String()
	out.RevocationReason = revoked.GetCertificate().GetRevocationReason().String()

	// 6. The intermediate's CRL, parsed and checked with crypto/x509.
	crlRes, err := cas.GetCertificateRevocationList(ctx, &certmintv1.GetCertificateRevocationListRequest{
		CertificateAuthority: inter.GetId(),
	})
	if err != nil {
		return nil, fmt.Errorf("GetCertificateRevocationList: %w", err)
	}
	crl, err := x509.ParseRevocationList(crlRes.GetCrlDer())
	if err != nil {
		return nil, fmt.Errorf("ParseRevocationList: %w", err)
	}
	out.CrlSignatureValid = crl.CheckSignatureFrom(interCert) == nil
	for _, e := range crl.RevokedCertificateEntries {
		if e.SerialNumber.Cmp(renewedLeaf.SerialNumber) == 0 {
			out.CrlRevokedSerialFound = true
			out.CrlRevokedReasonCode = e.ReasonCode
		}
		if e.SerialNumber.Cmp(leaf.SerialNumber) == 0 {
			out.CrlOriginalSerialFound = true
		}
	}

	// 7. Verify leaf -> intermediate -> root, the root taken from CreateRootCertificateAuthority.
	roots := x509.NewCertPool()
	roots.AddCert(rootCert)
	intermediates := x509.NewCertPool()
	intermediates.AddCert(interCert)
	verify := func(c *x509.Certificate, dnsName string, inters *x509.CertPool) ([][]*x509.Certificate, error) {
		return c.Verify(x509.VerifyOptions{
			DNSName:       dnsName,
			Roots:         roots,
			Intermediates: inters,
			KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		})
	}
	chains, err := verify(leaf, name, intermediates)
	out.ChainVerified = err == nil
	if err == nil {
		out.ChainLength = len(chains[0])
	} else {
		out.ChainError = err.Error()
	}
	_, err = verify(genLeaf, prefix+"-worker.example.com", intermediates)
	out.GeneratedChainVerified = err == nil
	if err != nil {
		out.ChainError += "; generated: " + err.Error()
	}
	_, err = verify(leaf, name, x509.NewCertPool())
	var unknown x509.UnknownAuthorityError
	out.ChainRejectedWithoutIntermediate = errors.As(err, &unknown)

	// 8. An issuer token limited to the profile, made with the admin token.
	created, err := tokens.CreateAccessToken(ctx, &certmintv1.CreateAccessTokenRequest{
		AccessToken: &certmintv1.AccessToken{
			Slug:                prefix + "-issuer",
			Description:         "go client test issuer",
			Role:                certmintv1.Role_ROLE_ISSUER,
			CertificateProfiles: []string{profile.GetSlug()},
		},
		Ttl: durationpb.New(time.Hour),
	})
	if err != nil {
		return nil, fmt.Errorf("CreateAccessToken: %w", err)
	}
	token := created.GetAccessToken()
	out.IssuerTokenRole = token.GetRole().String()
	out.IssuerTokenState = token.GetState().String()
	out.IssuerTokenProfilesMatch = len(token.GetCertificateProfiles()) == 1 &&
		token.GetCertificateProfiles()[0] == profile.GetId()
	out.IssuerTokenSecretReturned = strings.HasPrefix(created.GetSecret(), "certmint_")

	issuerConn, err := dial(created.GetSecret())
	if err != nil {
		return nil, err
	}
	defer issuerConn.Close()
	issuerCerts := certmintv1.NewCertificateServiceClient(issuerConn)
	issuerPolicies := certmintv1.NewCertificatePolicyServiceClient(issuerConn)

	//    It issues on its profile...
	service := prefix + "-service.example.com"
	issueAsIssuer := func(requestID string) (*certmintv1.IssueCertificateResponse, error) {
		return issuerCerts.IssueCertificate(ctx, &certmintv1.IssueCertificateRequest{
			CertificateProfile: profile.GetSlug(),
			RequestId:          requestID,
			Source: &certmintv1.IssueCertificateRequest_Attributes{Attributes: &certmintv1.CertificateAttributes{
				Subject:                 &certmintv1.Subject{CommonName: service},
				SubjectAlternativeNames: &certmintv1.SubjectAlternativeNames{DnsNames: []string{service}},
				KeyAlgorithm:            certmintv1.KeyAlgorithm_KEY_ALGORITHM_EC_P256,
			}},
		})
	}
	byIssuer, err := issueAsIssuer(prefix + "-issuer-1")
	if err != nil {
		return nil, fmt.Errorf("IssueCertificate (issuer token): %w", err)
	}
	out.IssuerIssueStatus = byIssuer.GetStatus().String()
	issuerLeaf, err := parseCert(byIssuer.GetCertificate().GetCertificatePem())
	if err != nil {
		return nil, fmt.Errorf("certificate issued with the issuer token: %w", err)
	}
	_, err = verify(issuerLeaf, service, intermediates)
	out.IssuerCertificateVerified = err == nil
	if err != nil {
		out.ChainError += "; issuer token: " + err.Error()
	}

	//    ...but may not call an admin RPC.
	_, err = issuerPolicies.CreateCertificatePolicy(ctx, &certmintv1.CreateCertificatePolicyRequest{
		Preset: certmintv1.CertificatePolicyPreset_CERTIFICATE_POLICY_PRESET_TLS_SERVER,
		CertificatePolicy: &certmintv1.CertificatePolicy{
			Slug:   prefix + "-issuer-policy",
			MaxTtl: durationpb.New(day),
		},
	})
	out.IssuerAdminCallCode, out.IssuerAdminCallReason = rpcError(err)

	//    Revoked with the admin token, it authenticates nothing any more.
	revokedToken, err := tokens.RevokeAccessToken(ctx, &certmintv1.RevokeAccessTokenRequest{
		AccessToken: token.GetId(),
	})
	if err != nil {
		return nil, fmt.Errorf("RevokeAccessToken: %w", err)
	}
	out.RevokedTokenState = revokedToken.GetAccessToken().GetState().String()
	_, err = issueAsIssuer(prefix + "-issuer-2")
	out.RevokedTokenCallCode, out.RevokedTokenCallReason = rpcError(err)
	return out, nil
}

func caSubject(commonName string) *certmintv1.Subject {
	return &certmintv1.Subject{CommonName: commonName, Organization: []string{"certmint"}}
}

func parseCert(pemText string) (*x509.Certificate, error) {
	block, _ := pem.Decode([]byte(pemText))
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, errors.New("no PEM CERTIFICATE block")
	}
	return x509.ParseCertificate(block.Bytes)
}

// samePem: the PEM text holds exactly the DER of want.
func samePem(pemText string, want *x509.Certificate) bool {
	block, _ := pem.Decode([]byte(pemText))
	return block != nil && bytes.Equal(block.Bytes, want.Raw)
}

// serialEquals compares the API's lower-case hex serial with the certificate's.
func serialEquals(hex string, serial *big.Int) bool {
	n, ok := new(big.Int).SetString(hex, 16)
	return ok && n.Cmp(serial) == 0
}

// privateKeyMatches parses a PKCS #8 PEM key and compares its public half with the certificate's.
func privateKeyMatches(pemText string, cert *x509.Certificate) (bool, error) {
	block, _ := pem.Decode([]byte(pemText))
	if block == nil || block.Type != "PRIVATE KEY" {
		return false, errors.New("no PEM PRIVATE KEY (PKCS #8) block")
	}
	key, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return false, err
	}
	pub := key.(crypto.Signer).Public().(interface{ Equal(crypto.PublicKey) bool })
	return pub.Equal(cert.PublicKey), nil
}
