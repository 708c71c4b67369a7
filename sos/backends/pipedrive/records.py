"""The records side of a Pipedrive account: what `sos audit` and a plan's impact counts read.

Pipedrive's deal list filters on owner, pipeline, stage and status only (reference §9.1; its saved filters take
no expression a check's condition lowers to), so sos reads the deals page by page (API v2, 500 a page, the
custom fields by code) once for all checks and evaluates each check on them (expr.dialects.evaluate): the calls
grow with the number of deals / 500, not with the checks. A deal reads as the blueprint names things: its stage
is the key sos created it under (won and lost deals: the pipeline's won stage, and the lost stage whose key, in
words, is the deal's lost reason, else its first lost stage), its custom fields by the keys their marks name.
"""

from __future__ import annotations

import datetime
import re
from collections import Counter
from collections.abc import Sequence
from typing import Any

from sos.backends.base import Offender, Tally
from sos.backends.pipedrive.client import PipedriveClient
from sos.backends.pipedrive.lower import marked
from sos.backends.pipedrive.read import CLOSED, Account
from sos.expr.dialects.evaluate import evaluate
from sos.expr.types import BOOLEAN, Scope
from sos.model.checks import Check, reads_a_save

DEALS = "/api/v2/deals"
# What the standard deal fields are called in a v2 deal (the others Pipedrive does not hold: blank).
STANDARD = {"name": "title", "amount": "value", "close_date": "expected_close_date", "created_date": "add_time",
            "probability": "probability"}
ENTITIES = {"opportunity": DEALS, "contact": "/api/v2/persons", "account": "/api/v2/organizations"}


def words(text: str) -> str:
    return "_".join(re.findall(r"[a-z0-9]+", text.lower()))


class DealReader:
    """Deals as records a check evaluates, for one account as read."""

    def __init__(self, client: PipedriveClient, account: Account, today: datetime.date) -> None:
        self.client = client
        self.account = account
        self.today = today
        self.stage_keys = {int(value): key.partition(".")[2] for key, value in account.registry.stages.items()
                           if value not in CLOSED}
        self.fields = {f["field_code"]: (mark[1], f) for f in account.fields["deal"]
                       if (mark := marked(str(f.get("description") or ""))[1]) is not None
                       and mark[0] == "opportunity"}
        self._deals: list[dict[str, Any]] | None = None

    def deals(self) -> list[dict[str, Any]]:
        if self._deals is None:
            self._deals = list(self.client.paged(DEALS))
        return self._deals

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

    def record(self, deal: dict[str, Any], scope: Scope) -> dict[str, object]:
        values: dict[str, object] = {key: deal.get(name) for key, name in STANDARD.items()}
        values["stage"] = self.stage(deal, scope)
        values["owner"] = str(deal["owner_id"])
        moved = deal.get("stage_change_time") or deal.get("add_time")
        values["days_in_stage"] = (self.today - datetime.date.fromisoformat(str(moved)[:10])).days if moved else None
        for code, (key, found) in self.fields.items():
            values[key] = self.value(deal["custom_fields"].get(code), found, scope.fields.get(key) == BOOLEAN)
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

    def offender(self, deal: dict[str, Any], scope: Scope) -> Offender:
        url = f"https://{self.client.connection.company_domain}.pipedrive.com/deal/{deal['id']}"
        return Offender(str(deal["id"]), str(deal["title"]), str(deal["owner_id"]), self.stage(deal, scope),
                        deal.get("value"), url)

    def tally(self, check: Check, top: int) -> Tally:
        if check.object != "opportunity":
            return Tally(0, unsupported=f"sos reads Pipedrive's deals only, not its {check.object} records yet")
        if reads_a_save(check):
            return Tally(0, unsupported="it reads a save in progress (is_new, is_changed or prior), which a stored "
                                        "deal cannot answer")
        broken = []
        for deal in self.deals():
            record = self.record(deal, check.breaks.scope)
            if evaluate(check.breaks.expr, record, check.breaks.scope, today=self.today) is True:
                broken.append(self.offender(deal, check.breaks.scope))
        worst = sorted(broken, key=lambda o: (-(o.amount or 0), o.name))[:top]
        return Tally(len(broken), dict(Counter(o.owner for o in broken if o.owner)),
                     dict(Counter(o.stage for o in broken if o.stage)), tuple(worst))


def tally(client: PipedriveClient, account: Account, checks: Sequence[Check], top: int,
          today: datetime.date) -> list[Tally]:
    reader = DealReader(client, account, today)
    return [reader.tally(check, top) for check in checks]


def record_count(client: PipedriveClient, obj: str) -> int:
    if obj not in ENTITIES:
        return 0     # Pipedrive's leads are not read yet: an audit says so for each lead check
    return sum(1 for _ in client.paged(ENTITIES[obj]))
