"""The records side of a HubSpot portal, for `sos audit` and a plan's impact counts.

A check whose condition HubSpot's CRM search can say (sos.expr.dialects.hubspot_filter) is counted by a search for
its violators alone, 200 a call, with the properties the tally needs; what comes back is evaluated again, as HubSpot
matches text without regard to case. So such a check costs ceil(violators / 200) calls (at least one), however many
clean records the portal holds. The others (days_in_stage, days_since(), two fields compared, arithmetic, text
ordered or compared with `!=`, more alternatives than a search takes, or more than the 10,000 matches a search pages
through) are read page by page, 100 deals or contacts a call (50 with the history of `dealstage` that
`days_in_stage` comes from), once for all of them, and evaluated on every record."""

from __future__ import annotations

import datetime
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sos.backends.base import Offender, Tally
from sos.backends.hubspot.client import HubSpotClient, TooManyToSearch
from sos.backends.hubspot.names import OBJECT_TYPES, property_name
from sos.backends.hubspot.read import LivePortal, key_of
from sos.expr.ast import Name, walk
from sos.errors import SosError
from sos.expr.dialects.evaluate import evaluate
from sos.expr.dialects.hubspot_filter import FilterNaming, HubSpotFilter
from sos.expr.types import ExprType
from sos.expr.types import Kind as TypeKind
from sos.model.checks import Check, reads_a_save
from sos.model.resources import Kind

# The standard fields as HubSpot's default deal and contact properties hold them (HubSpot's knowledge base, "HubSpot's
# default deal properties" and "… contact properties"; hs_next_step and notes_last_updated UNVERIFIED). A deal's
# forecast category, the rep's call, is hs_manual_forecast_category, labelled "Forecast category" (reference/hubspot.md,
# row "stage forecast"; the name integrations read and write), a property apart from hs_forecast_category. A property
# the portal lacks reads as blank.
STANDARD = {
    "opportunity": {"name": "dealname", "amount": "amount", "close_date": "closedate", "stage": "dealstage",
                    "owner": "hubspot_owner_id", "created_date": "createdate", "next_step": "hs_next_step",
                    "forecast_category": "hs_manual_forecast_category", "last_activity_date": "notes_last_updated",
                    "type": "dealtype", "description": "description"},
    "lead": {"first_name": "firstname", "last_name": "lastname", "email": "email", "phone": "phone",
             "company": "company", "title": "jobtitle", "status": "hs_lead_status", "owner": "hubspot_owner_id",
             "created_date": "createdate", "last_activity_date": "notes_last_updated", "website": "website",
             "industry": "industry", "city": "city", "state": "state", "country": "country"},
}
DAYS_IN_STAGE = "days_in_stage"
# A record's own page in HubSpot (0-3: deals, 0-1: contacts, 0-2: companies).
RECORD_URL = {"opportunity": "https://app.hubspot.com/contacts/{portal}/record/0-3/{id}",
              "lead": "https://app.hubspot.com/contacts/{portal}/record/0-1/{id}",
              "contact": "https://app.hubspot.com/contacts/{portal}/record/0-1/{id}",
              "account": "https://app.hubspot.com/contacts/{portal}/record/0-2/{id}"}


@dataclass
class Names:
    """How the portal names what a check reads: fields by key, and stage ids by stage key."""

    fields: dict[str, dict[str, str]] = field(default_factory=dict)   # object → field key → property
    stages: dict[str, str] = field(default_factory=dict)              # stage id → stage key

    @classmethod
    def of(cls, portal: LivePortal) -> Names:
        names = cls({obj: dict(STANDARD.get(obj, {})) for obj in OBJECT_TYPES})
        for resource in portal.model.of_kind(Kind.FIELD):
            names.fields[resource.address.scope][resource.address.key] = property_name(resource)
        # The portal's own stages as `sos import` names them, then the stages sos manages by their keys.
        for pipeline in portal.pipelines.values():
            for stage in pipeline["stages"]:
                names.stages[stage["id"]] = key_of(stage["label"])
        names.stages.update({hubspot_id: a.key for a, hubspot_id in portal.ids.items() if a.kind is Kind.STAGE})
        return names

    def naming(self, obj: str, portal: LivePortal) -> FilterNaming:
        """The search's names for `obj`: every stored value a stage key or lead status key reads from (`_value`)."""
        stage_ids: dict[str, tuple[str, ...]] = {}
        for stage_id, key in self.stages.items():
            stage_ids[key] = (*stage_ids.get(key, ()), stage_id)
        status_values: dict[str, tuple[str, ...]] = {}
        for option in portal.lead_options:
            key = key_of(str(option["value"]))
            status_values[key] = (*status_values.get(key, ()), str(option["value"]))
        # A property the portal lacks reads as blank here, but a search naming it is refused: it is left out.
        held = portal.properties.get(OBJECT_TYPES[obj], {})
        return FilterNaming({key: name for key, name in self.fields[obj].items() if name in held}, stage_ids,
                            status_values)


def tally(client: HubSpotClient, portal: LivePortal, checks: Sequence[Check], *, top: int,
          today: datetime.date) -> list[Tally]:
    names = Names.of(portal)
    results: dict[int, Tally] = {}
    by_object: dict[str, list[tuple[int, Check]]] = {}
    for position, check in enumerate(checks):
        why = _unsupported(check, names)
        if why:
            results[position] = Tally(0, unsupported=why)
        else:
            by_object.setdefault(check.object, []).append((position, check))
    # A stage's time limit or requirement holds in its own pipeline: another pipeline's stage of the same key is not it.
    pipeline_ids = {a.key: hubspot_id for a, hubspot_id in portal.ids.items() if a.kind is Kind.PIPELINE}
    pipeline_of = {position: pipeline_ids.get(check.address.scope) for group in by_object.values()
                   for position, check in group if check.address.kind in (Kind.STAGE, Kind.STAGE_REQUIREMENT)}
    for obj, group in by_object.items():
        reads = sorted({n for _, c in group for n in _names_read(c)} | {"name", "owner", "stage", "amount", "status"})
        properties = sorted({names.fields[obj][n] for n in reads if n in names.fields[obj]}
                            | ({"firstname", "lastname"} if obj == "lead" else {"pipeline"}))
        naming = names.naming(obj, portal)
        read_all: list[tuple[int, Check]] = []
        for position, check in group:
            pipeline = pipeline_of.get(position)
            try:
                filter_groups = HubSpotFilter(check.breaks.scope, naming, today=today).filter_groups(
                    check.breaks, within=(("pipeline", "EQ", (pipeline,)),) if pipeline else ())
            except SosError:
                read_all.append((position, check))
                continue
            # HubSpot matches text without regard to case: what it finds is evaluated again, as read_all would.
            found = () if filter_groups is None else \
                client.search(OBJECT_TYPES[obj], {"filterGroups": filter_groups, "properties": properties})
            try:
                results.update(_tallied(obj, [(position, check)], found, names, pipeline_of, client, today, top))
            except TooManyToSearch:
                read_all.append((position, check))
        if read_all:
            history = ["dealstage"] if any(DAYS_IN_STAGE in _names_read(c) for _, c in read_all) else None
            results.update(_tallied(obj, read_all, client.records(OBJECT_TYPES[obj], properties, history), names,
                                    pipeline_of, client, today, top))
    return [results[position] for position in range(len(checks))]


def _tallied(obj: str, group: list[tuple[int, Check]], found_records: Iterable[dict[str, Any]], names: Names,
             pipeline_of: dict[int, str | None], client: HubSpotClient, today: datetime.date,
             top: int) -> dict[int, Tally]:
    """Each check of `group` evaluated on the records found, tallied by owner and stage with the worst by amount."""
    offenders: dict[int, list[tuple[Offender, dict[str, Any]]]] = {p: [] for p, _ in group}
    for found in found_records:
        record = _record(obj, found, names, group[0][1].breaks.scope.fields, today)
        for position, check in group:
            elsewhere = pipeline_of.get(position) not in (None, (found.get("properties") or {}).get("pipeline"))
            if not elsewhere and evaluate(check.breaks.expr, record, check.breaks.scope, today=today) is True:
                offenders[position].append((_offender(obj, found, record, client), record))
    results = {}
    for position, _ in group:
        hits = offenders[position]
        worst = sorted((o for o, _ in hits), key=lambda o: (-(o.amount or 0), o.name))[:top]
        results[position] = Tally(
            len(hits), dict(Counter(o.owner or "(no owner)" for o, _ in hits)),
            dict(Counter(str(r.get("status" if obj == "lead" else "stage") or "(none)") for _, r in hits)),
            tuple(worst))
    return results


def record_count(client: HubSpotClient, obj: str) -> int:
    return client.count(OBJECT_TYPES[obj], [])


def _names_read(check: Check) -> set[str]:
    return {node.name for node in walk(check.breaks.expr) if isinstance(node, Name)}


def _unsupported(check: Check, names: Names) -> str:
    if reads_a_save(check):
        return "it reads a save in progress (is_new, is_changed, prior), which stored records cannot say"
    if check.object not in ("opportunity", "lead"):
        return f"sos reads only deals and contacts from HubSpot, not {check.object} records"
    missing = sorted(n for n in _names_read(check) if n not in names.fields[check.object] and n != DAYS_IN_STAGE)
    if missing:
        return f"HubSpot holds no property for {', '.join(missing)}"
    return ""


def _record(obj: str, found: dict[str, Any], names: Names, types: Any, today: datetime.date) -> dict[str, Any]:
    props = found.get("properties") or {}
    record = {key: _value(props.get(name), types.get(key), names) for key, name in names.fields[obj].items()}
    if obj == "lead":
        record["name"] = " ".join(p for p in (props.get("firstname"), props.get("lastname")) if p) or None
    history = (found.get("propertiesWithHistory") or {}).get("dealstage")
    if history:
        entered = max(str(version["timestamp"]) for version in history)
        record[DAYS_IN_STAGE] = (today - datetime.date.fromisoformat(entered[:10])).days
    return record


def _value(raw: Any, kind: ExprType | None, names: Names) -> Any:
    if raw in (None, "") or kind is None:
        return None if raw in (None, "") else raw
    match kind.kind:
        case TypeKind.NUMBER:
            return float(raw)
        case TypeKind.BOOLEAN:
            return str(raw).lower() == "true"
        case TypeKind.DATE:
            return str(raw)[:10]
        case TypeKind.DATETIME:
            return str(raw).replace("Z", "+00:00")
        case TypeKind.MULTI_PICKLIST:
            return str(raw).split(";")
        case TypeKind.STAGE:
            return names.stages.get(str(raw), str(raw))
        case TypeKind.LEAD_STATUS:     # an option sos made has its key as value; an adopted one, key_of(value)
            return key_of(str(raw))
    return str(raw)


def _offender(obj: str, found: dict[str, Any], record: dict[str, Any], client: HubSpotClient) -> Offender:
    amount = record.get("amount")
    portal = client.whoami().portal_id
    return Offender(str(found["id"]), str(record.get("name") or found["id"]), _text(record.get("owner")),
                    _text(record.get("status" if obj == "lead" else "stage")),
                    float(amount) if isinstance(amount, (int, float)) else None,
                    RECORD_URL[obj].format(portal=portal, id=found["id"]))


def _text(value: object) -> str | None:
    return None if value is None else str(value)
