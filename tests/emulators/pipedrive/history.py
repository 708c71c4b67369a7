"""What a Pipedrive account remembers and lists beside its deals: each deal's changelog, activities, leads and
users, as the weekly reports read them.

Sources (Node SDK v32.2.1 and its generated docs, pipedrive/client-nodejs; PHP SDK docs for the v2 activity):
- `GET /v1/deals/{id}/changelog` ("List updates about deal field values", scope `recents:read`): cursor paging
  (`cursor`, `limit`, `additional_data.next_cursor`), items `{field_key, old_value, new_value, actor_user_id, time,
  change_source, change_source_user_agent, is_bulk_update_flag}` with the values as strings
  (docs/ChangelogResponseAllOfData.md). The time's format is a v1 one, `YYYY-MM-DD HH:MM:SS` UTC (UNVERIFIED), and a
  deal's creation is not an item (UNVERIFIED: the docs list updates of field values).
- `GET /api/v2/activities` (client-php docs/versions/v2/Model/ActivityItem.md): filters `deal_id`, `lead_id`,
  `owner_id`, `done`, `updated_since`, `updated_until`; cursor paging; items with `deal_id`, `lead_id` (a UUID),
  `owner_id`, `subject`, `type`, `due_date`, `done`, `marked_as_done_time`, `add_time`.
- `GET /v1/leads` (v1 only): `start`/`limit` paging, `archived_status` (archived, not_archived, all; all by
  default), `owner_id`; a lead has `label_ids` (its lead labels), `owner_id`, `source_name`, `add_time`. A lead
  converted into a deal is no longer listed (UNVERIFIED: it leaves the Leads Inbox).
- `GET /v1/users`: every user of the company, not paged.
"""

from __future__ import annotations

from typing import Any

from .account import Account
from .errors import bad_request, not_found
from .fields import v1_time
from .paging import Reply, Request, cursor_page, integer, offset_page, path_id, rfc3339, sort

# The deal keys whose changes the changelog keeps (its field_key is the deal field's key); custom fields by code.
LOGGED = ("title", "value", "currency", "stage_id", "pipeline_id", "status", "expected_close_date", "owner_id",
          "lost_reason", "probability")
ARCHIVED = ("archived", "not_archived", "all")


def log_changes(account: Account, before: dict[str, Any], after: dict[str, Any], *, actor: int, at: str,
                source: str = "api") -> None:
    """The changelog items one save of a deal writes: one per field whose value it changed."""
    def text(value: object) -> str | None:
        return None if value is None else str(value)

    keys = [*LOGGED, *sorted(set(before["custom_fields"]) | set(after["custom_fields"]))]
    for key in keys:
        old = before.get(key) if key in LOGGED else before["custom_fields"].get(key)
        new = after.get(key) if key in LOGGED else after["custom_fields"].get(key)
        if old != new:
            account.changelog.setdefault(after["id"], []).append({
                "field_key": key, "old_value": text(old), "new_value": text(new), "actor_user_id": actor,
                "time": v1_time(at), "change_source": source, "change_source_user_agent": None,
                "is_bulk_update_flag": False})


def list_changelog(account: Account, request: Request) -> Reply:
    deal = account.records["deal"].get(path_id(request.ids[0], "Deal"))
    if deal is None or deal["is_deleted"]:
        raise not_found("Deal")
    return cursor_page(account.changelog.get(deal["id"], []), request.params)


def list_activities(account: Account, request: Request) -> Reply:
    params = request.params
    items = [a for a in account.activities.values() if not a["is_deleted"]]
    for key in ("deal_id", "owner_id"):
        wanted = integer(params, key)
        if wanted is not None:
            items = [a for a in items if a[key] == wanted]
    if params.get("lead_id"):
        items = [a for a in items if a["lead_id"] == params["lead_id"]]
    if "done" in params:
        if params["done"] not in ("true", "false"):
            raise bad_request("done must be a boolean")
        items = [a for a in items if a["done"] == (params["done"] == "true")]
    since, until = rfc3339(params, "updated_since"), rfc3339(params, "updated_until")
    items = [a for a in items if (since is None or a["update_time"] >= since)
             and (until is None or a["update_time"] < until)]
    return cursor_page(sort(items, params, ("id", "update_time", "add_time", "due_date"), lambda a, k: a[k] or ""),
                       params)


def list_leads(account: Account, request: Request) -> Reply:
    params = request.params
    archived = params.get("archived_status", "all")
    if archived not in ARCHIVED:
        raise bad_request(f"archived_status must be one of: {', '.join(ARCHIVED)}")
    items = [lead for lead in account.leads.values()
             if archived == "all" or lead["is_archived"] == (archived == "archived")]
    owner = integer(params, "owner_id")
    if owner is not None:
        items = [lead for lead in items if lead["owner_id"] == owner]
    return offset_page(sorted(items, key=lambda lead: lead["add_time"]), params)


def list_users(account: Account, request: Request) -> Reply:
    return Reply([{**user, "active_flag": True, "is_you": user is account.user} for user in account.users.values()])
