"""A second OCSP implementation (pyca/cryptography) against certmint's responder.

    python ocsp_check.py <ocsp url> <issuer pem> <cert pem> [nonce hex]

Builds a request (SHA-1 CertID, as most clients send; the nonce when given), POSTs it, verifies
the BasicOCSPResponse signature with the issuer's public key, and prints one JSON object:
response status, certificate status, revocation time and reason, thisUpdate/nextUpdate, the
echoed nonce, and whether the responder's key hash names the signer (the issuer, or a
delegated responder certificate the issuer made, which the script checks too).
"""

import json
import sys
import urllib.request

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.x509 import ocsp

url, issuer_path, cert_path = sys.argv[1:4]
nonce = bytes.fromhex(sys.argv[4]) if len(sys.argv) > 4 else None
issuer = x509.load_pem_x509_certificate(open(issuer_path, "rb").read())
cert = x509.load_pem_x509_certificate(open(cert_path, "rb").read())

builder = ocsp.OCSPRequestBuilder().add_certificate(cert, issuer, hashes.SHA1())
if nonce is not None:
    builder = builder.add_extension(x509.OCSPNonce(nonce), critical=False)
request = builder.build().public_bytes(serialization.Encoding.DER)
http = urllib.request.Request(
    url, data=request, headers={"Content-Type": "application/ocsp-request"}, method="POST"
)
with urllib.request.urlopen(http, timeout=30) as r:
    content_type = r.headers["Content-Type"]
    body = r.read()

response = ocsp.load_der_ocsp_response(body)
out = {"content_type": content_type, "response_status": response.response_status.name}
if response.response_status == ocsp.OCSPResponseStatus.SUCCESSFUL:
    # Signed by the issuer itself, or by a delegated responder the issuer certified for OCSP
    # signing (RFC 6960 4.2.2.2), whose certificate the response carries.
    signer = issuer
    if response.certificates:
        signer = response.certificates[0]
        signer.verify_directly_issued_by(issuer)
        eku = signer.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
        assert x509.oid.ExtendedKeyUsageOID.OCSP_SIGNING in eku
        signer.extensions.get_extension_for_class(x509.OCSPNoCheck)
        out["delegated_responder"] = signer.subject.rfc4514_string()
    key = signer.public_key()
    data, sig = response.tbs_response_bytes, response.signature
    if isinstance(key, ec.EllipticCurvePublicKey):
        key.verify(sig, data, ec.ECDSA(response.signature_hash_algorithm))
    elif isinstance(key, rsa.RSAPublicKey):
        key.verify(sig, data, padding.PKCS1v15(), response.signature_hash_algorithm)
    elif isinstance(key, ed25519.Ed25519PublicKey):
        key.verify(sig, data)
    # ResponderID byKey: SHA-1 of the signer's subjectPublicKey bits (RFC 6960 4.2.2.3), the
    # same digest as an RFC 5280 method (1) key identifier.
    expected_key_hash = x509.SubjectKeyIdentifier.from_public_key(key).digest
    nonce_ext = None
    for ext in response.extensions:
        if isinstance(ext.value, x509.OCSPNonce):
            nonce_ext = ext.value.nonce.hex()
    out.update(
        {
            "signature_valid": True,
            "responder_key_hash_matches": response.responder_key_hash == expected_key_hash,
            "serial": format(response.serial_number, "x"),
            "cert_status": response.certificate_status.name,
            "revocation_time": (
                response.revocation_time_utc.isoformat() if response.revocation_time_utc else None
            ),
            "revocation_reason": (
                response.revocation_reason.name if response.revocation_reason else None
            ),
            "this_update": response.this_update_utc.isoformat(),
            "next_update": response.next_update_utc.isoformat() if response.next_update_utc else None,
            "nonce": nonce_ext,
            "hash_algorithm": response.hash_algorithm.name,
        }
    )
print(json.dumps(out))
