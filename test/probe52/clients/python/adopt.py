"""What a team adopting certmint from Python writes, against a live server; prints one JSON
object (test/probe52/clients/adoption.test.ts asserts on it).

Environment as for ../go/main.go. gen/python is on PYTHONPATH, as the README says; nothing else
is added to sys.path.
"""

import json
import os
import sys

import grpc
from google.rpc import error_details_pb2, status_pb2

from certmint.v1 import certificate_service_pb2 as pb
from certmint.v1 import certificate_service_pb2_grpc as rpc
from certmint.v1 import common_pb2


def _from_call(call):
    """grpc_status.rpc_status.from_call (grpcio-status), which the README names as the standard
    way: the google.rpc.Status of the trailer, refused unless its code and message are the
    call's own. grpcio-status is not in `make python-tools`' virtualenv: there its check is this."""
    for key, value in call.trailing_metadata() or ():
        if key == "grpc-status-details-bin":
            st = status_pb2.Status.FromString(value)
            if st.code != call.code().value[0]:
                raise ValueError(f"Code in Status proto ({st.code}) doesn't match status code ({call.code()})")
            if st.message != call.details():
                raise ValueError(f"Message in Status proto ({st.message!r}) doesn't match status details ({call.details()!r})")
            return st
    return None


try:
    from grpc_status.rpc_status import from_call
except ImportError:
    from_call = _from_call


def details(st):
    found = {}
    for any_detail in st.details:
        for kind in (error_details_pb2.ErrorInfo, error_details_pb2.BadRequest, error_details_pb2.RetryInfo):
            msg = kind()
            if any_detail.Unpack(msg):
                found[kind.__name__] = msg
    return found


def channel(with_client_cert: bool):
    with open(os.environ["ADOPT_CA_FILE"], "rb") as f:
        ca = f.read()
    key = cert = None
    if with_client_cert:
        with open(os.environ["ADOPT_CLIENT_KEY"], "rb") as f:
            key = f.read()
        with open(os.environ["ADOPT_CLIENT_CERT"], "rb") as f:
            cert = f.read()
    creds = grpc.composite_channel_credentials(
        grpc.ssl_channel_credentials(ca, key, cert),
        grpc.access_token_call_credentials(os.environ["CERTMINT_TOKEN"]),
    )
    return grpc.secure_channel(os.environ["ADOPT_ADDR"], creds)


def issue(stub, name, metadata=()):
    return stub.IssueCertificate(
        pb.IssueCertificateRequest(
            certificate_profile=os.environ["ADOPT_PROFILE"],
            attributes=pb.CertificateAttributes(
                subject=common_pb2.Subject(common_name=name),
                subject_alternative_names=common_pb2.SubjectAlternativeNames(dns_names=[name]),
            ),
        ),
        timeout=30,
        metadata=metadata,
    )


def main():
    out = {}
    name = os.environ["ADOPT_NAME"]
    with channel(False) as tls_channel, channel(True) as mtls_channel:
        certs = rpc.CertificateServiceStub(tls_channel)
        issued = issue(certs, f"{name}-tls.example.com")
        out["tls_status"] = pb.CertificateRequestStatus.Name(issued.status)
        m = issue(rpc.CertificateServiceStub(mtls_channel), f"{name}-mtls.example.com",
                  metadata=[("x-request-id", f"{name}-mtls-call")])
        out["mtls_status"] = pb.CertificateRequestStatus.Name(m.status)

        try:
            certs.IssueCertificate(pb.IssueCertificateRequest(
                certificate_profile=os.environ["ADOPT_PROFILE"], key_usages=[99], extended_key_usages=[99]),
                timeout=30)
            sys.exit("an IssueCertificate with unknown enum values was accepted")
        except grpc.RpcError as err:
            found = details(from_call(err))
            out["bad_request_code"] = err.code().name
            out["bad_request_reason"] = found["ErrorInfo"].reason
            out["bad_request_domain"] = found["ErrorInfo"].domain
            out["bad_request_fields"] = sorted(v.field for v in found["BadRequest"].field_violations)

        err = None
        for _ in range(20):
            try:
                certs.ListCertificates(pb.ListCertificatesRequest(page_size=1), timeout=30)
            except grpc.RpcError as e:
                err = e
                break
        found = details(from_call(err))
        out["retry_code"] = err.code().name
        out["retry_reason"] = found["ErrorInfo"].reason
        out["retry_delay_positive"] = found["RetryInfo"].retry_delay.ToNanoseconds() > 0

        cid = issued.certificate.certificate_id
        scope = dict(certificate_id=cid)
        stream = certs.WatchCertificates(pb.WatchCertificatesRequest(**scope), timeout=3)
        first = next(stream)
        out["watch_first_type"] = pb.CertificateEventType.Name(first.type)
        # Resume after the last cursor received (a KEEPALIVE may follow CURRENT at the cursor of
        # the certificate's own ISSUED event, which it stands for).
        last = first.cursor
        try:
            for e in stream:
                last = e.cursor
            out["watch_deadline_code"] = "ended without an error"
        except grpc.RpcError as e:
            out["watch_deadline_code"] = e.code().name

        certs.RevokeCertificate(pb.RevokeCertificateRequest(
            certificate=cid, reason=common_pb2.REVOCATION_REASON_SUPERSEDED), timeout=30)
        resumed = certs.WatchCertificates(pb.WatchCertificatesRequest(after_cursor=last, **scope), timeout=30)
        for e in resumed:
            if e.type == pb.CERTIFICATE_EVENT_TYPE_KEEPALIVE:
                continue
            out["resumed_first_type"] = pb.CertificateEventType.Name(e.type)
            out["resumed_certificate_is_watched"] = e.certificate.id == cid
            break
        resumed.cancel()
    print(json.dumps(out))


if __name__ == "__main__":
    main()
