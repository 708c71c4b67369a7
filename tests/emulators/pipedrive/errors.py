"""The error envelope (reference/pipedrive.md §3) and the exception handlers raise to answer with it.

The shape is the reference's; the wording of validation messages is documented only for a few cases ("Name must be
given.", "Invalid field(s) in the payload: …", "Scope and URL mismatch", "unauthorized access"), so the other
messages are ours (UNVERIFIED) and name the offending key.
"""

from __future__ import annotations

from typing import Any

ERROR_INFO = "Please check developers.pipedrive.com for more information about Pipedrive API."
GATEWAY_INFO = "Please check developers.pipedrive.com"


class ApiError(Exception):
    def __init__(self, status: int, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.extra = extra

    def body(self) -> dict[str, Any]:
        return {"success": False, "error": self.message, "error_info": ERROR_INFO, "data": None,
                "additional_data": None, **self.extra}


def bad_request(message: str, **extra: Any) -> ApiError:
    return ApiError(400, message, **extra)


def not_found(what: str) -> ApiError:
    return ApiError(404, f"{what} not found")


def gateway(status: int, message: str) -> dict[str, Any]:
    """The API gateway's own body (401, 403 scope, 429): `errorCode` and the short `error_info`, no envelope data."""
    return {"success": False, "error": message, "errorCode": status, "error_info": GATEWAY_INFO}
