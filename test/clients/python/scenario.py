"""The client scenario with the generated Python client and the `cryptography` package: CAs,
policy and profile; issue from a CSR made here and with a server-made key; renew; revoke; find
the serial in the CRL; verify the chain; then an issuer access token limited to the profile:
it issues, is refused an admin call, and once revoked is refused altogether. Returns the summary
test/clients.test.ts asserts on.
"""

import datetime
from collections.abc import Callable

import grpc
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from cryptography.x509.verification import PolicyBuilder, Store, VerificationError
from google.protobuf import duration_pb2

import rpc_support
from certmint.v1 import access_token_service_pb2 as token_pb
from certmint.v1 import access_token_service_pb2_grpc as token_grpc
from certmint.v1 import certificate_authority_service_pb2 as ca_pb
from certmint.v1 import certificate_authority_service_pb2_grpc as ca_grpc
from certmint.v1 import certificate_policy_service_pb2 as policy_pb
from certmint.v1 import certificate_policy_service_pb2_grpc as policy_grpc
from certmint.v1 import certificate_profile_service_pb2 as profile_pb
from certmint.v1 import certificate_profile_service_pb2_grpc as profile_grpc
from certmint.v1 import certificate_service_pb2 as certs_pb
from certmint.v1 import certificate_service_pb2_grpc as certs_grpc
from certmint.v1 import common_pb2

DAY = 86_400
TIMEOUT = 30

# CRLReason codes of RFC 5280 section 5.3.1, by cryptography's ReasonFlags.
REASON_CODES = {
    x509.ReasonFlags.unspecified: 0,
    x509.ReasonFlags.key_compromise: 1,
    x509.ReasonFlags.ca_compromise: 2,
    x509.ReasonFlags.affiliation_changed: 3,
    x509.ReasonFlags.superseded: 4,
    x509.ReasonFlags.cessation_of_operation: 5,
    x509.ReasonFlags.certificate_hold: 6,
    x509.ReasonFlags.remove_from_crl: 8,
    x509.ReasonFlags.privilege_withdrawn: 9,
    x509.ReasonFlags.aa_compromise: 10,
}


def spki(key) -> bytes:
    return key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def der(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.DER)


def pem_cert(text: str) -> x509.Certificate:
    return x509.load_pem_x509_certificate(text.encode())


def call_error(call: Callable[[], object]) -> tuple[str, str]:
    """Makes a call expected to fail: its status code name and ErrorInfo reason ("OK", "" if not)."""
    try:
        call()
    except grpc.RpcError as err:
        info = rpc_support.error_info(err)
        return err.code().name, info.reason if info else ""
    return "OK", ""


def run(channel: grpc.Channel, connect: Callable[[str], grpc.Channel], prefix: str) -> dict:
    """channel sends the admin token; connect(token) opens a channel that sends another one."""
    cas = ca_grpc.CertificateAuthorityServiceStub(channel)
    policies = policy_grpc.CertificatePolicyServiceStub(channel)
    profiles = profile_grpc.CertificateProfileServiceStub(channel)
    certs = certs_grpc.CertificateServiceStub(channel)
    tokens = token_grpc.AccessTokenServiceStub(channel)
    out: dict = {"language": "python"}

    # 1. Root (P-384) and intermediate (P-256) CA, a TLS-server policy, a profile on the intermediate.
    root = cas.CreateRootCertificateAuthority(
        ca_pb.CreateRootCertificateAuthorityRequest(
            slug=f"{prefix}-root",
            subject=common_pb2.Subject(common_name=f"{prefix} client test root", organization=["certmint"]),
            key_algorithm=common_pb2.KEY_ALGORITHM_EC_P384,
        ),
        timeout=TIMEOUT,
    ).certificate_authority
    out["root_ca_status"] = ca_pb.CertificateAuthorityStatus.Name(root.status)

    inter = cas.CreateIntermediateCertificateAuthority(
        ca_pb.CreateIntermediateCertificateAuthorityRequest(
            slug=f"{prefix}-intermediate",
            parent_certificate_authority=root.slug,
            subject=common_pb2.Subject(
                common_name=f"{prefix} client test intermediate", organization=["certmint"]
            ),
            key_algorithm=common_pb2.KEY_ALGORITHM_EC_P256,
        ),
        timeout=TIMEOUT,
    ).certificate_authority
    out["intermediate_ca_status"] = ca_pb.CertificateAuthorityStatus.Name(inter.status)
    out["intermediate_parent_is_root"] = inter.parent_certificate_authority_id == root.id

    policy = policies.CreateCertificatePolicy(
        policy_pb.CreateCertificatePolicyRequest(
            preset=policy_pb.CERTIFICATE_POLICY_PRESET_TLS_SERVER,
            certificate_policy=policy_pb.CertificatePolicy(
                slug=f"{prefix}-tls-server",
                subject_rules=policy_pb.SubjectRules(common_name=policy_pb.ValueRule(allowed=["*"])),
                san_rules=policy_pb.SanRules(dns=policy_pb.NameRule(allowed=["**.example.com"])),
                max_ttl=duration_pb2.Duration(seconds=30 * DAY),
            ),
        ),
        timeout=TIMEOUT,
    ).certificate_policy
    out["policy_max_ttl_seconds"] = policy.max_ttl.seconds

    profile = profiles.CreateCertificateProfile(
        profile_pb.CreateCertificateProfileRequest(
            certificate_profile=profile_pb.CertificateProfile(
                slug=f"{prefix}-web",
                certificate_policy=policy.id,
                certificate_authority=inter.slug,
                defaults=profile_pb.ProfileDefaults(
                    ttl=duration_pb2.Duration(seconds=7 * DAY),
                    key_algorithm=common_pb2.KEY_ALGORITHM_EC_P256,
                ),
            )
        ),
        timeout=TIMEOUT,
    ).certificate_profile
    out["profile_issuer_is_intermediate"] = profile.certificate_authority == inter.id

    root_cert = pem_cert(root.certificate_pem)
    inter_cert = pem_cert(inter.certificate_pem)

    # 2. Issue from a CSR: P-384 key and PKCS #10 request made by `cryptography`.
    name = f"{prefix}-api.example.com"
    key = ec.generate_private_key(ec.SECP384R1())
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .sign(key, hashes.SHA384())
    )
    issued = certs.IssueCertificate(
        certs_pb.IssueCertificateRequest(
            certificate_profile=profile.slug,
            request_id=f"{prefix}-csr-1",
            csr_pem=csr.public_bytes(serialization.Encoding.PEM).decode(),
        ),
        timeout=TIMEOUT,
    )
    out["csr_issue_status"] = certs_pb.CertificateRequestStatus.Name(issued.status)
    leaf = pem_cert(issued.certificate.certificate_pem)
    out["csr_certificate_key_matches"] = spki(leaf.public_key()) == spki(key.public_key())
    out["csr_certificate_dns_names"] = leaf.extensions.get_extension_for_class(
        x509.SubjectAlternativeName
    ).value.get_values_for_type(x509.DNSName)
    out["csr_serial_matches"] = int(issued.certificate.serial_number, 16) == leaf.serial_number
    chain = [der(pem_cert(p)) for p in issued.certificate.certificate_chain_pem]
    out["issued_chain_matches_cas"] = chain == [der(inter_cert), der(root_cert)] and der(
        pem_cert(issued.certificate.issuing_ca_certificate_pem)
    ) == der(inter_cert)

    # 3. Issue with a key certmint generates (RSA-2048); the PKCS #8 key must match the certificate.
    worker = f"{prefix}-worker.example.com"
    generated = certs.IssueCertificate(
        certs_pb.IssueCertificateRequest(
            certificate_profile=profile.slug,
            request_id=f"{prefix}-generated-1",
            attributes=certs_pb.CertificateAttributes(
                subject=common_pb2.Subject(common_name=worker),
                subject_alternative_names=common_pb2.SubjectAlternativeNames(dns_names=[worker]),
                key_algorithm=common_pb2.KEY_ALGORITHM_RSA_2048,
            ),
        ),
        timeout=TIMEOUT,
    )
    out["generated_issue_status"] = certs_pb.CertificateRequestStatus.Name(generated.status)
    gen_leaf = pem_cert(generated.certificate.certificate_pem)
    gen_key = serialization.load_pem_private_key(generated.private_key_pem.encode(), password=None)
    out["generated_key_matches"] = generated.private_key_pem.startswith(
        "-----BEGIN PRIVATE KEY-----"
    ) and spki(gen_key.public_key()) == spki(gen_leaf.public_key())

    # 4. Renew the CSR certificate (a CSR certificate's renewal reuses its key by default).
    renewed = certs.RenewCertificate(
        certs_pb.RenewCertificateRequest(
            certificate_id=issued.certificate.certificate_id, request_id=f"{prefix}-renew-1"
        ),
        timeout=TIMEOUT,
    )
    out["renew_status"] = certs_pb.CertificateRequestStatus.Name(renewed.status)
    renewed_leaf = pem_cert(renewed.certificate.certificate_pem)
    out["renewed_serial_differs"] = renewed_leaf.serial_number != leaf.serial_number
    out["renewed_key_reused"] = spki(renewed_leaf.public_key()) == spki(key.public_key())

    # 5. Revoke the renewed certificate.
    revoked = certs.RevokeCertificate(
        certs_pb.RevokeCertificateRequest(
            certificate=renewed.certificate.certificate_id,
            reason=common_pb2.REVOCATION_REASON_KEY_COMPROMISE,
        ),
        timeout=TIMEOUT,
    ).certificate
    out["revoke_status"] = certs_pb.CertificateStatus.Name(revoked.status)
    out["revocation_reason"] = common_pb2.RevocationReason.Name(revoked.revocation_reason)

    # 6. The intermediate's CRL, parsed and checked with `cryptography`.
    crl_res = cas.GetCertificateRevocationList(
        ca_pb.GetCertificateRevocationListRequest(certificate_authority=inter.id), timeout=TIMEOUT
    )
    crl = x509.load_der_x509_crl(crl_res.crl_der)
    out["crl_signature_valid"] = crl.is_signature_valid(inter_cert.public_key())
    entry = crl.get_revoked_certificate_by_serial_number(renewed_leaf.serial_number)
    out["crl_revoked_serial_found"] = entry is not None
    if entry is not None:
        reason = entry.extensions.get_extension_for_class(x509.CRLReason).value.reason
        out["crl_revoked_reason_code"] = REASON_CODES[reason]
    out["crl_original_serial_found"] = (
        crl.get_revoked_certificate_by_serial_number(leaf.serial_number) is not None
    )

    # 7. Verify leaf -> intermediate -> root with cryptography's verifier (Web PKI profile,
    #    server name and serverAuth checked); the root taken from CreateRootCertificateAuthority.
    def verify(cert: x509.Certificate, dns_name: str, intermediates: list) -> list:
        verifier = (
            PolicyBuilder()
            .store(Store([root_cert]))
            .time(datetime.datetime.now(datetime.timezone.utc))
            .build_server_verifier(x509.DNSName(dns_name))
        )
        return verifier.verify(cert, intermediates)

    errors = []
    try:
        path = verify(leaf, name, [inter_cert])
        out["chain_verified"] = [der(c) for c in path] == [der(leaf), der(inter_cert), der(root_cert)]
        out["chain_length"] = len(path)
    except VerificationError as err:
        out["chain_verified"] = False
        errors.append(str(err))
    try:
        verify(gen_leaf, worker, [inter_cert])
        out["generated_chain_verified"] = True
    except VerificationError as err:
        out["generated_chain_verified"] = False
        errors.append(f"generated: {err}")
    try:
        verify(leaf, name, [])
        out["chain_rejected_without_intermediate"] = False
    except VerificationError:
        out["chain_rejected_without_intermediate"] = True

    # 8. An issuer token limited to the profile, made with the admin token.
    created = tokens.CreateAccessToken(
        token_pb.CreateAccessTokenRequest(
            access_token=token_pb.AccessToken(
                slug=f"{prefix}-issuer",
                description="python client test issuer",
                role=token_pb.ROLE_ISSUER,
                certificate_profiles=[profile.slug],
            ),
            ttl=duration_pb2.Duration(seconds=3600),
        ),
        timeout=TIMEOUT,
    )
    token = created.access_token
    out["issuer_token_role"] = token_pb.Role.Name(token.role)
    out["issuer_token_state"] = token_pb.AccessTokenState.Name(token.state)
    out["issuer_token_profiles_match"] = list(token.certificate_profiles) == [profile.id]
    out["issuer_token_secret_returned"] = created.secret.startswith("certmint_")

    service = f"{prefix}-service.example.com"
    with connect(created.secret) as issuer_channel:
        issuer_certs = certs_grpc.CertificateServiceStub(issuer_channel)
        issuer_policies = policy_grpc.CertificatePolicyServiceStub(issuer_channel)

        def issue_as_issuer(request_id: str):
            return issuer_certs.IssueCertificate(
                certs_pb.IssueCertificateRequest(
                    certificate_profile=profile.slug,
                    request_id=request_id,
                    attributes=certs_pb.CertificateAttributes(
                        subject=common_pb2.Subject(common_name=service),
                        subject_alternative_names=common_pb2.SubjectAlternativeNames(dns_names=[service]),
                        key_algorithm=common_pb2.KEY_ALGORITHM_EC_P256,
                    ),
                ),
                timeout=TIMEOUT,
            )

        #    It issues on its profile...
        by_issuer = issue_as_issuer(f"{prefix}-issuer-1")
        out["issuer_issue_status"] = certs_pb.CertificateRequestStatus.Name(by_issuer.status)
        try:
            verify(pem_cert(by_issuer.certificate.certificate_pem), service, [inter_cert])
            out["issuer_certificate_verified"] = True
        except VerificationError as err:
            out["issuer_certificate_verified"] = False
            errors.append(f"issuer token: {err}")

        #    ...but may not call an admin RPC.
        code, reason = call_error(
            lambda: issuer_policies.CreateCertificatePolicy(
                policy_pb.CreateCertificatePolicyRequest(
                    preset=policy_pb.CERTIFICATE_POLICY_PRESET_TLS_SERVER,
                    certificate_policy=policy_pb.CertificatePolicy(
                        slug=f"{prefix}-issuer-policy", max_ttl=duration_pb2.Duration(seconds=DAY)
                    ),
                ),
                timeout=TIMEOUT,
            )
        )
        out["issuer_admin_call_code"] = code
        out["issuer_admin_call_reason"] = reason

        #    Revoked with the admin token, it authenticates nothing any more.
        revoked_token = tokens.RevokeAccessToken(
            token_pb.RevokeAccessTokenRequest(access_token=token.id), timeout=TIMEOUT
        ).access_token
        out["revoked_token_state"] = token_pb.AccessTokenState.Name(revoked_token.state)
        code, reason = call_error(lambda: issue_as_issuer(f"{prefix}-issuer-2"))
        out["revoked_token_call_code"] = code
        out["revoked_token_call_reason"] = reason

    if errors:
        out["chain_error"] = "; ".join(errors)
    return out
