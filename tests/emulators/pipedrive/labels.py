"""Lead labels, `/v1/leadLabels` (no v2 endpoint): the nearest Pipedrive has to lead statuses (reference §9).

Source: Node SDK v32.2.1, src/versions/v1/api/lead-labels-api.ts and models add-lead-label-request.ts,
update-lead-label-request.ts, lead-label.ts: ids are UUID strings, `color` is one of ten names, the list is not
paged.
"""

from __future__ import annotations

from typing import Any

from .account import Account
from .errors import bad_request, not_found
from .fields import check_name, unknown_keys
from .paging import Reply, Request

COLORS = ("blue", "brown", "dark-gray", "gray", "green", "orange", "pink", "purple", "red", "yellow")
KEYS = frozenset({"name", "color"})


def list_labels(account: Account, request: Request) -> Reply:
    return Reply(list(account.lead_labels.values()))


def create_label(account: Account, request: Request) -> Reply:
    body = request.object()
    unknown_keys(body, KEYS)
    return Reply(account.add_lead_label(check_name(body.get("name"), "name"), _color(body.get("color"))))


def update_label(account: Account, request: Request) -> Reply:
    label = _label(account, request.ids[0])
    body = request.object()
    unknown_keys(body, KEYS)
    if "name" in body:
        label["name"] = check_name(body["name"], "name")
    if "color" in body:
        label["color"] = _color(body["color"])
    label["update_time"] = account.now()
    return Reply(label)


def delete_label(account: Account, request: Request) -> Reply:
    label = _label(account, request.ids[0])
    del account.lead_labels[label["id"]]
    return Reply({"id": label["id"]})


def _label(account: Account, label_id: str) -> dict[str, Any]:
    label = account.lead_labels.get(label_id)
    if label is None:
        raise not_found("Lead label")
    return label


def _color(value: object) -> str:
    if value not in COLORS:
        raise bad_request(f"color must be one of: {', '.join(COLORS)}")
    return str(value)
