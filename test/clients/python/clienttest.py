"""Calls a running certmint with the generated Python client and prints one JSON object;
test/clients.test.ts runs it and asserts on the result.

Usage: python clienttest.py <host:port> smoke   (gen/python must be on PYTHONPATH)
"""

import json
import sys

import grpc
from google.rpc import error_details_pb2, status_pb2

from certmint.v1 import certificate_service_pb2 as certs_pb
from certmint.v1 import certificate_service_pb2_grpc as certs_grpc


def rich_status(err: grpc.RpcError) -> status_pb2.Status | None:
    """The google.rpc.Status certmint puts in the grpc-status-details-bin trailer."""
    for key, value in err.trailing_metadata() or ():
        if key == "grpc-status-details-bin":
            return status_pb2.Status.FromString(value)
    return None


def smoke(target: str) -> dict:
    out = {}
    with grpc.insecure_channel(target) as channel:
        health = channel.unary_unary(
            "/grpc.health.v1.Health/Check",
            request_serializer=lambda _: b"",
            response_deserializer=lambda raw: raw,
        )
        # HealthCheckResponse{status=SERVING} encodes as field 1 varint 1: b"\x08\x01".
        out["health_raw"] = health(None, timeout=20).hex()

        stub = certs_grpc.CertificateServiceStub(channel)
        try:
            stub.GetRequestStatus(
                certs_pb.GetRequestStatusRequest(certificate_request_id="00000000-0000-0000-0000-000000000000"),
                timeout=20,
            )
            out["code"] = "OK"
        except grpc.RpcError as err:
            out["code"] = err.code().name
            st = rich_status(err)
            for detail in st.details if st else []:
                info = error_details_pb2.ErrorInfo()
                if detail.Unpack(info):
                    out["reason"] = info.reason
                    out["domain"] = info.domain
    return out


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[2] != "smoke":
        print("usage: clienttest.py <host:port> smoke", file=sys.stderr)
        sys.exit(2)
    print(json.dumps(smoke(sys.argv[1])))
