"""What a handler receives: the portal, the path's parameters, the query string and the JSON body."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .errors import invalid
from .portal import Portal


@dataclass
class Request:
    portal: Portal
    params: dict[str, str]
    query: dict[str, str]
    body: Any

    def flag(self, name: str) -> bool:
        """A boolean query parameter; the Python client sends `True`/`False` (reference §3), so case is ignored."""
        value = self.query.get(name, "false").lower()
        if value not in ("true", "false"):
            raise invalid(f"Query parameter {name} must be true or false", field=name)
        return value == "true"

    def json_object(self) -> dict[str, Any]:
        if not isinstance(self.body, dict):
            raise invalid("Invalid input JSON: expected an object", code="INVALID_JSON")
        return self.body


Reply = tuple[int, Any]   # (status, JSON body or None for 204)


def integer(body: dict[str, Any], key: str, default: int | None = None) -> int:
    """An integer field of a JSON body (booleans are not integers here)."""
    value = body.get(key, default)
    if not isinstance(value, int) or isinstance(value, bool):
        raise invalid(f"{key} must be an integer", field=key)
    return value
