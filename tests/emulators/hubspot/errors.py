"""HubSpot's error JSON (reference §9; the `Error` schema of HubSpot's public OpenAPI specs,
github.com/HubSpot/HubSpot-public-api-spec-collection, PublicApiSpecs/CRM/Pipelines/.../v3/pipelines.json):
`{status: "error", message, correlationId, category, subCategory?, errors?: [{message, code?, in?, context?}],
context?, links?}`. Message wordings are ours unless a comment quotes HubSpot."""

from __future__ import annotations

import uuid
from typing import Any


class ApiError(Exception):
    """A refusal the handler raises; the server turns it into HubSpot's error JSON."""

    def __init__(self, status: int, category: str, message: str, *, errors: list[dict[str, Any]] | None = None,
                 sub_category: str | None = None, context: dict[str, list[str]] | None = None,
                 links: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.category = category
        self.message = message
        self.errors = errors
        self.sub_category = sub_category
        self.context = context
        self.links = links

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"status": "error", "message": self.message, "correlationId": str(uuid.uuid4()),
                                "category": self.category}
        for key, value in (("subCategory", self.sub_category), ("errors", self.errors), ("context", self.context),
                           ("links", self.links)):
            if value is not None:
                body[key] = value
        return body


def invalid(message: str, *, field: str | None = None, code: str = "INVALID_INPUT") -> ApiError:
    """400 VALIDATION_ERROR naming the offending input field in `errors[0].in`."""
    detail: dict[str, Any] = {"message": message, "code": code}
    if field is not None:
        detail["in"] = field
    return ApiError(400, "VALIDATION_ERROR", message, errors=[detail])


def required(field: str) -> ApiError:
    return invalid(f"{field} is required", field=field, code="REQUIRED_FIELD")


def not_found(message: str) -> ApiError:
    return ApiError(404, "OBJECT_NOT_FOUND", message)


def already_exists(message: str) -> ApiError:
    # 409 OBJECT_ALREADY_EXISTS: legacy docs give 409 for a duplicate property; the category is UNVERIFIED.
    return ApiError(409, "OBJECT_ALREADY_EXISTS", message)


def conflict(message: str) -> ApiError:
    # 409 CONFLICT is the category HubSpot answers a duplicate contact with; for the other refusals it is UNVERIFIED.
    return ApiError(409, "CONFLICT", message)
