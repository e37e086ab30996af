"""Errors of gather_client: every failed call raises a GatherError subclass.

A GatherError carries the gRPC status code and gatherd's message, which names the request field
at fault (e.g. "spec.url_template: scheme must be http or https"). Per-key failures are not
errors: they are rows whose `status` is not "OK".
"""
from __future__ import annotations

from typing import Dict, Optional, Type

import grpc


class GatherError(Exception):
    """A call to gatherd failed as a whole.

    Attributes:
        code: the gRPC status code (grpc.StatusCode), or None when no call was made (e.g. the
            private gatherd could not be started).
        message: gatherd's message (names the field for INVALID_ARGUMENT).
    """

    def __init__(self, message: str, code: Optional[grpc.StatusCode] = None) -> None:
        self.code = code
        self.message = message
        prefix = f"{code.name}: " if code is not None else ""
        super().__init__(prefix + message)


class InvalidArgument(GatherError):
    """The request was refused; the message names the field (INVALID_ARGUMENT)."""


class Unavailable(GatherError):
    """gatherd could not be reached, or is shutting down (UNAVAILABLE)."""


class DeadlineExceeded(GatherError):
    """The call's deadline passed before it ended (DEADLINE_EXCEEDED)."""


class PermissionDenied(GatherError):
    """The token does not allow this call or credential profile (PERMISSION_DENIED)."""


class Unauthenticated(GatherError):
    """No token, or a token gatherd does not know (UNAUTHENTICATED)."""


class ResourceExhausted(GatherError):
    """gatherd is at its limit of calls or queued jobs (RESOURCE_EXHAUSTED)."""


class Cancelled(GatherError):
    """The call was cancelled (CANCELLED)."""


class ServerNotFound(GatherError):
    """No address was given and no gatherd binary was found to start a private one."""


_BY_CODE: Dict[grpc.StatusCode, Type[GatherError]] = {
    grpc.StatusCode.INVALID_ARGUMENT: InvalidArgument,
    grpc.StatusCode.UNAVAILABLE: Unavailable,
    grpc.StatusCode.DEADLINE_EXCEEDED: DeadlineExceeded,
    grpc.StatusCode.PERMISSION_DENIED: PermissionDenied,
    grpc.StatusCode.UNAUTHENTICATED: Unauthenticated,
    grpc.StatusCode.RESOURCE_EXHAUSTED: ResourceExhausted,
    grpc.StatusCode.CANCELLED: Cancelled,
}


def error_for(code: grpc.StatusCode, message: str) -> GatherError:
    """The GatherError subclass for a gRPC status."""
    return _BY_CODE.get(code, GatherError)(message, code)


def from_rpc_error(error: grpc.RpcError) -> GatherError:
    """Translates a grpc.RpcError (sync or asyncio) into a GatherError."""
    code = error.code() if hasattr(error, "code") else grpc.StatusCode.UNKNOWN
    details = error.details() if hasattr(error, "details") else str(error)
    return error_for(code, details or "")
