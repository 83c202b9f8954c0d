"""Channels that send a certmint access token, and what a failed call's google.rpc details say."""

import collections

import grpc
from google.rpc import error_details_pb2, status_pb2


class _CallDetails(
    collections.namedtuple(
        "_CallDetails", ("method", "timeout", "metadata", "credentials", "wait_for_ready", "compression")
    ),
    grpc.ClientCallDetails,
):
    pass


class BearerToken(grpc.UnaryUnaryClientInterceptor, grpc.UnaryStreamClientInterceptor):
    """Sends `authorization: Bearer <token>` on every unary and server-streaming call (the watch)
    of the channel it intercepts."""

    def __init__(self, token: str):
        self._header = ("authorization", f"Bearer {token}")

    def intercept_unary_unary(self, continuation, client_call_details, request):
        return continuation(self._with_token(client_call_details), request)

    def intercept_unary_stream(self, continuation, client_call_details, request):
        return continuation(self._with_token(client_call_details), request)

    def _with_token(self, client_call_details):
        return _CallDetails(
            client_call_details.method,
            client_call_details.timeout,
            [*(client_call_details.metadata or ()), self._header],
            client_call_details.credentials,
            getattr(client_call_details, "wait_for_ready", None),
            getattr(client_call_details, "compression", None),
        )


def channel(target: str, token: str) -> grpc.Channel:
    """A plaintext channel to certmint whose calls carry the access token."""
    return grpc.intercept_channel(grpc.insecure_channel(target), BearerToken(token))


def rich_status(err: grpc.RpcError) -> status_pb2.Status | None:
    """The google.rpc.Status certmint puts in the grpc-status-details-bin trailer."""
    for key, value in err.trailing_metadata() or ():
        if key == "grpc-status-details-bin":
            return status_pb2.Status.FromString(value)
    return None


def error_info(err: grpc.RpcError) -> error_details_pb2.ErrorInfo | None:
    """The ErrorInfo among a failed call's google.rpc details, if any."""
    st = rich_status(err)
    for detail in st.details if st else []:
        info = error_details_pb2.ErrorInfo()
        if detail.Unpack(info):
            return info
    return None
