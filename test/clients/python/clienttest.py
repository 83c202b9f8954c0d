"""Calls a running certmint with the generated Python client and prints one JSON object;
test/clients.test.ts runs it and asserts on the result.

Usage (gen/python must be on PYTHONPATH):
  python clienttest.py <host:port> smoke              health, and an error's google.rpc details
  python clienttest.py <host:port> scenario <prefix>  the client scenario (scenario.py)
"""

import json
import sys
import traceback

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


def scenario(target: str, prefix: str) -> dict:
    import scenario as client_scenario  # needs `cryptography`; smoke does not

    with grpc.insecure_channel(target) as channel:
        try:
            return client_scenario.run(channel, prefix)
        except grpc.RpcError as err:
            # Say which call failed and why, with the google.rpc details, then exit 1.
            traceback.print_exc()
            print(f"clienttest: {err.code().name}: {err.details()}", file=sys.stderr)
            st = rich_status(err)
            for detail in st.details if st else []:
                kinds = (
                    error_details_pb2.ErrorInfo,
                    error_details_pb2.BadRequest,
                    error_details_pb2.PreconditionFailure,
                )
                for kind in kinds:
                    decoded = kind()
                    if detail.Unpack(decoded):
                        print(f"  {kind.__name__}: {decoded}", file=sys.stderr)
            sys.exit(1)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[2] == "smoke":
        print(json.dumps(smoke(sys.argv[1])))
    elif len(sys.argv) == 4 and sys.argv[2] == "scenario":
        print(json.dumps(scenario(sys.argv[1], sys.argv[3])))
    else:
        print("usage: clienttest.py <host:port> smoke | <host:port> scenario <prefix>", file=sys.stderr)
        sys.exit(2)
