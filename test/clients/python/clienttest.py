"""Calls a running certmint with the generated Python client and prints one JSON object;
test/clients.test.ts runs it and asserts on the result.

Usage (gen/python must be on PYTHONPATH; the access token, sent as `authorization: Bearer
<token>` on every call, comes from the environment, never the command line, where ps shows it):
  CERTMINT_TOKEN=<admin token> python clienttest.py <host:port> smoke
      health, and an error's google.rpc details
  CERTMINT_TOKEN=<admin token> python clienttest.py <host:port> scenario <prefix>
      the client scenario (scenario.py)
  CERTMINT_TOKEN=<token> python clienttest.py <host:port> watch <certificate id> <CA PEM file> [<cursor>]
      wait on WatchCertificates for the server to renew the certificate (watch.py)
"""

import json
import os
import sys
import traceback

import grpc
from google.rpc import error_details_pb2

import rpc_support
from certmint.v1 import certificate_service_pb2 as certs_pb
from certmint.v1 import certificate_service_pb2_grpc as certs_grpc
from rpc_support import rich_status


def smoke(target: str, token: str) -> dict:
    out = {}
    with rpc_support.channel(target, token) as channel:
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


def scenario(target: str, token: str, prefix: str) -> dict:
    import scenario as client_scenario  # needs `cryptography`; smoke does not

    return reporting_rpc_errors(
        target,
        token,
        lambda channel: client_scenario.run(channel, lambda other: rpc_support.channel(target, other), prefix),
    )


def watch(target: str, token: str, args: list[str]) -> dict:
    import watch as client_watch  # needs `cryptography`; smoke does not

    certificate_id, ca_file, cursor = (*args, "")[:3]
    return reporting_rpc_errors(target, token, lambda channel: client_watch.run(channel, certificate_id, ca_file, cursor))


def reporting_rpc_errors(target: str, token: str, run) -> dict:
    with rpc_support.channel(target, token) as channel:
        try:
            return run(channel)
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
    token = os.environ.get("CERTMINT_TOKEN", "")
    if not token:
        print("clienttest: set CERTMINT_TOKEN to an admin access token", file=sys.stderr)
        sys.exit(2)
    if len(sys.argv) == 3 and sys.argv[2] == "smoke":
        print(json.dumps(smoke(sys.argv[1], token)))
    elif len(sys.argv) == 4 and sys.argv[2] == "scenario":
        print(json.dumps(scenario(sys.argv[1], token, sys.argv[3])))
    elif len(sys.argv) in (5, 6) and sys.argv[2] == "watch":
        print(json.dumps(watch(sys.argv[1], token, sys.argv[3:])))
    else:
        print("usage: clienttest.py <host:port> smoke | <host:port> scenario <prefix> | <host:port> watch <id> <CA PEM> [<cursor>]", file=sys.stderr)
        sys.exit(2)
