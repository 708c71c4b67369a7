"""The records side of a Pipedrive account: what `sos audit` and a plan's impact counts read.

Pipedrive's lists filter on owner, pipeline, stage and status only (reference §9.1; its saved filters take no
expression a check's condition lowers to), so sos reads the deals (persons, organizations) page by page (API v2,
500 a page, the custom fields by code) once for all checks and evaluates each check on them
(expr.dialects.evaluate): the calls grow with the number of records / 500, not with the checks. A deal reads as
the blueprint names things: its stage is the key sos created it under (won and lost deals: the pipeline's won
stage, and the lost stage whose key, in words, is the deal's lost reason, else its first lost stage), its custom
fields by the keys their marks name.
"""

from __future__ import annotations

import datetime
import re
from collections import Counter
from collections.abc import Sequence
from typing import Any

from sos.backends.base import Offender, Tally
from sos.backends.pipedrive.client import PipedriveClient
from sos.backends.pipedrive.lower import ENTITIES, marked
from sos.backends.pipedrive.read import CLOSED, Account
from sos.expr.dialects.evaluate import evaluate
from sos.expr.types import BOOLEAN, Scope
from sos.model.checks import Check, reads_a_save

DEALS = "/api/v2/deals"
LISTS = {"opportunity": DEALS, "contact": "/api/v2/persons", "account": "/api/v2/organizations"}
# What the standard fields are called in a v2 deal, person and organization (those Pipedrive does not hold read
# as blank); an email or phone is a person's primary one.
STANDARD = {"opportunity": {"name": "title", "amount": "value", "close_date": "expected_close_date",
                            "created_date": "add_time", "probability": "probability"},
            "contact": {"name": "name", "created_date": "add_time"},
            "account": {"name": "name", "created_date": "add_time"}}


def words(text: str) -> str:
    return "_".join(re.findall(r"[a-z0-9]+", text.lower()))


def primary(items: object) -> object:
    """The primary (else the first) value of a person's emails or phones."""
    listed = [i for i in items if isinstance(i, dict)] if isinstance(items, list) else []
    chosen = next((i for i in listed if i.get("primary")), listed[0] if listed else None)
    return chosen.get("value") if chosen else None


class RecordReader:
    """Deals, persons and organizations as records a check evaluates, for one account as read; each list read
    once, whatever the number of checks."""

    def __init__(self, client: PipedriveClient, account: Account, today: datetime.date) -> None:
        self.client = client
        self.account = account
        self.today = today
        self.stage_keys = {int(value): key.partition(".")[2] for key, value in account.registry.stages.items()
                           if value not in CLOSED}
        self._records: dict[str, list[dict[str, Any]]] = {}

    def records(self, obj: str) -> list[dict[str, Any]]:
        if obj not in self._records:
            self._records[obj] = list(self.client.paged(LISTS[obj]))
        return self._records[obj]

    def fields(self, obj: str) -> dict[str, tuple[str, dict[str, Any]]]:
        """The custom fields of `obj` sos made, by code: (blueprint key, the field)."""
        return {f["field_code"]: (mark[1], f) for f in self.account.fields[ENTITIES[obj]]
                if (mark := marked(str(f.get("description") or ""))[1]) is not None and mark[0] == obj}

    def stage(self, deal: dict[str, Any], scope: Scope) -> str | None:
        """The deal's stage key; a won or lost deal's among its pipeline's closed stages, in the blueprint's order."""
        if deal["status"] == "open":
            return self.stage_keys.get(deal["stage_id"])
        pipeline = next((key for key, value in self.account.registry.pipelines.items()
                         if value == deal["pipeline_id"]), None)
        held = self.account.registry.stages_of(pipeline or "")
        closed = [s.key for s in scope.stages if held.get(s.key) == deal["status"]]
        reason = words(str(deal.get("lost_reason") or ""))
        return next((key for key in closed if words(key.replace("_", " ")) == reason), closed[0] if closed else None)

    def record(self, obj: str, item: dict[str, Any], scope: Scope) -> dict[str, object]:
        values: dict[str, object] = {key: item.get(name) for key, name in STANDARD[obj].items()}
        values["owner"] = str(item["owner_id"])
        if obj == "opportunity":
            values["stage"] = self.stage(item, scope)
            moved = item.get("stage_change_time") or item.get("add_time")
            values["days_in_stage"] = (self.today - datetime.date.fromisoformat(str(moved)[:10])).days \
                if moved else None
        if obj == "contact":
            values["email"], values["phone"] = primary(item.get("emails")), primary(item.get("phones"))
        for code, (key, found) in self.fields(obj).items():
            values[key] = self.value(item["custom_fields"].get(code), found, scope.fields.get(key) == BOOLEAN)
        return values

    @staticmethod
    def value(raw: object, found: dict[str, Any], checkbox: bool) -> object:
        """A custom value as the blueprint's field holds it: option ids as labels, a Yes/No dropdown as a
        checkbox, a monetary value's amount."""
        labels = {o["id"]: o["label"] for o in found.get("options") or []}
        if checkbox:
            return labels.get(raw) == "Yes"
        if found["field_type"] == "enum":
            return labels.get(raw)
        if found["field_type"] == "set":
            return [labels[i] for i in raw if i in labels] if isinstance(raw, list) else None
        if found["field_type"] == "monetary" and isinstance(raw, dict):
            return raw.get("value")
        return raw

    def offender(self, obj: str, item: dict[str, Any], scope: Scope) -> Offender:
        kind = {"opportunity": "deal", "contact": "person", "account": "organization"}[obj]
        url = f"https://{self.client.connection.company_domain}.pipedrive.com/{kind}/{item['id']}"
        deal = obj == "opportunity"
        return Offender(str(item["id"]), str(item["title" if deal else "name"]), str(item["owner_id"]),
                        self.stage(item, scope) if deal else None, item.get("value") if deal else None, url)

    def tally(self, check: Check, top: int) -> Tally:
        if check.object not in LISTS:
            return Tally(0, unsupported=f"sos does not read Pipedrive's {check.object}s yet (deals, persons and "
                                        "organizations only)")
        if reads_a_save(check):
            return Tally(0, unsupported="it reads a save in progress (is_new, is_changed or prior), which a stored "
                                        "record cannot answer")
        scope = check.breaks.scope
        broken = [self.offender(check.object, item, scope) for item in self.records(check.object)
                  if evaluate(check.breaks.expr, self.record(check.object, item, scope), scope,
                              today=self.today) is True]
        worst = sorted(broken, key=lambda o: (-(o.amount or 0), o.name))[:top]
        return Tally(len(broken), dict(Counter(o.owner for o in broken if o.owner)),
                     dict(Counter(o.stage for o in broken if o.stage)), tuple(worst))


def tally(client: PipedriveClient, account: Account, checks: Sequence[Check], top: int,
          today: datetime.date) -> list[Tally]:
    reader = RecordReader(client, account, today)
    return [reader.tally(check, top) for check in checks]


def record_count(client: PipedriveClient, obj: str) -> int:
    if obj not in LISTS:
        return 0     # Pipedrive's leads are not read yet: an audit says so for each lead check
    return sum(1 for _ in client.paged(LISTS[obj]))
