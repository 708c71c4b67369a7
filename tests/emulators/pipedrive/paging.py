"""Requests as handlers see them, and the two ways Pipedrive pages lists (reference/pipedrive.md §3).

v2: `limit` (default 100, max 500) and an opaque `cursor`; `additional_data.next_cursor` is null on the last page.
v1: `start` and `limit` (max 500); `additional_data.pagination {start, limit, more_items_in_collection, next_start}`.
"""

from __future__ import annotations

import base64
import binascii
import json
from datetime import datetime
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from .errors import bad_request

T = TypeVar("T")
DEFAULT_LIMIT = 100
MAX_LIMIT = 500


@dataclass
class Request:
    method: str
    version: int
    params: dict[str, str]
    body: Any
    ids: tuple[str, ...]          # the variable parts of the path, in order

    def object(self) -> dict[str, Any]:
        if not isinstance(self.body, dict):
            raise bad_request("The request body must be a JSON object")
        return self.body


@dataclass
class Reply:
    data: Any
    additional_data: Any = None
    status: int = 200


def integer(params: dict[str, str], key: str, default: int | None = None) -> int | None:
    value = params.get(key)
    if value is None or value == "":
        return default
    if not value.isdigit():
        raise bad_request(f"{key} must be an integer")
    return int(value)


def path_id(value: str, what: str) -> int:
    if not value.isdigit():
        raise bad_request(f"{what} id must be an integer")
    return int(value)


def _limit(params: dict[str, str]) -> int:
    limit = integer(params, "limit", DEFAULT_LIMIT)
    assert limit is not None
    # UNVERIFIED: whether a limit over 500 is refused or capped; refused here, the stricter reading.
    if not 1 <= limit <= MAX_LIMIT:
        raise bad_request(f"limit must be between 1 and {MAX_LIMIT}")
    return limit


def sort(items: list[T], params: dict[str, str], allowed: Sequence[str], key: Callable[[T, str], Any]) -> list[T]:
    sort_by = params.get("sort_by", "id")
    direction = params.get("sort_direction", "asc")
    if sort_by not in allowed:
        raise bad_request(f"sort_by must be one of: {', '.join(allowed)}")
    if direction not in ("asc", "desc"):
        raise bad_request("sort_direction must be one of: asc, desc")
    return sorted(items, key=lambda item: (key(item, sort_by), key(item, "id")), reverse=direction == "desc")


def cursor_page(items: list[Any], params: dict[str, str]) -> Reply:
    limit = _limit(params)
    start = _decode_cursor(params["cursor"]) if params.get("cursor") else 0
    page = items[start:start + limit]
    more = start + limit < len(items)
    next_cursor = base64.urlsafe_b64encode(json.dumps({"offset": start + limit}).encode()).decode() if more else None
    return Reply(page, {"next_cursor": next_cursor})


def offset_page(items: list[Any], params: dict[str, str]) -> Reply:
    limit = _limit(params)
    start = integer(params, "start", 0)
    assert start is not None
    page = items[start:start + limit]
    more = start + limit < len(items)
    pagination = {"start": start, "limit": limit, "more_items_in_collection": more}
    if more:
        pagination["next_start"] = start + limit
    return Reply(page, {"pagination": pagination})


def _decode_cursor(cursor: str) -> int:
    try:
        offset = json.loads(base64.urlsafe_b64decode(cursor.encode()))["offset"]
    except (binascii.Error, ValueError, KeyError, TypeError):
        offset = None
    if not isinstance(offset, int) or offset < 0:
        raise bad_request("Invalid cursor")   # UNVERIFIED wording
    return offset


def rfc3339(params: dict[str, str], key: str) -> str | None:
    """A time parameter (`updated_since`), as the stored times are written; None when not given."""
    value = params.get(key)
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise bad_request(f"{key} must be an RFC 3339 time, e.g. 2025-01-01T10:20:00Z")
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
