"""Watch mode: wait on WatchCertificates for the server to renew one certificate, then verify
the successor chains to a CA with cryptography's verifier (the scenario's verifier)."""

import datetime

import grpc
from cryptography import x509
from cryptography.x509.verification import PolicyBuilder, Store

from certmint.v1 import certificate_service_pb2 as certs_pb
from certmint.v1 import certificate_service_pb2_grpc as certs_grpc

# A watch waits for the server's renewal timer.
WATCH_LIMIT_SECONDS = 240


def run(channel: grpc.Channel, certificate_id: str, ca_file: str, after_cursor: str) -> dict:
    with open(ca_file, "rb") as f:
        ca = x509.load_pem_x509_certificate(f.read())
    stub = certs_grpc.CertificateServiceStub(channel)
    old = stub.GetCertificate(certs_pb.GetCertificateRequest(certificate=certificate_id), timeout=20)
    events = stub.WatchCertificates(
        certs_pb.WatchCertificatesRequest(certificate_id=certificate_id, after_cursor=after_cursor),
        timeout=WATCH_LIMIT_SECONDS,
    )
    for event in events:
        if event.type != certs_pb.CERTIFICATE_EVENT_TYPE_RENEWED:
            continue
        if event.previous_certificate_id != certificate_id:
            continue
        successor = event.certificate
        leaf = x509.load_pem_x509_certificate(successor.certificate_pem.encode())
        chain = [x509.load_pem_x509_certificate(p.encode()) for p in successor.certificate_chain_pem]
        # Web PKI server profile: the chain to the CA, the validity period and serverAuth.
        name = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        verifier = (
            PolicyBuilder()
            .store(Store([ca]))
            .time(datetime.datetime.now(datetime.timezone.utc))
            .build_server_verifier(x509.DNSName(name.get_values_for_type(x509.DNSName)[0]))
        )
        verifier.verify(leaf, chain)  # raises VerificationError when it does not chain
        return {
            "language": "python",
            "old_serial": old.certificate.serial_number,
            "new_serial": successor.serial_number,
            "verified": True,
        }
    raise RuntimeError("the watch ended before the certificate was renewed")
