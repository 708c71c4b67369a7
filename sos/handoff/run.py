"""One `sos handoff run`: every deal that reached a handoff's stage and has no link yet gets one project or issue.

Where the state lives: on the deal. Its link field is both the result and the cursor a CI runner finds again
(nothing to commit back, nothing to lose with the runner), and `since` only bounds which deals are looked at.
A deal is claimed before anything is created: its link field is set to a claim only while it is blank (a
conditional write: DealStore.set_if), so of two overlapping runs one hands the deal off and the other passes it
by. A claim a crashed run left behind is taken over after CLAIM_TTL, and the tool is searched for the deal's
marker before anything is created, so even then the deal gets one project.

The deals are read through the backend's History (backends.base): rows for what they hold now, changes of the
stage for when they reached it; the same reads on every backend that has them."""

from __future__ import annotations

import datetime
import string
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from sos.blueprint.build import title_case
from sos.blueprint.types import HANDOFF_SETTINGS
from sos.errors import Diagnostic, SosError
from sos.handoff.tools import Order, Tool, deliver
from sos.model.resources import Kind, Model, Resource

CLAIM_PREFIX = "sos-claim:"
CLAIM_TTL = datetime.timedelta(hours=1)     # far longer than one deal's handoff takes, retries included
LOOKUP_TARGETS = {"account": "account"}     # standard lookups of a deal, by the object they point at
NAME_FIELDS = ("name", "first_name", "last_name")   # what names a record a lookup points at


@runtime_checkable
class DealStore(Protocol):
    """The CRM side of a handoff: History's rows and changes (sos.backends.base: only the engine imports a backend's
    modules, so they are named here and their Timeline read by attribute), whether the CRM holds a field, and a
    write that happens only while a field holds a value."""

    def rows(self, obj: str, fields: Sequence[str], *, desired: Model | None = None) -> Iterator[dict[str, object]]:
        ...

    def changes(self, obj: str, fields: Sequence[str], since: datetime.datetime, *,
                desired: Model | None = None) -> Any: ...

    def holds(self, obj: str, field: str, *, desired: Model | None = None) -> bool: ...

    def set_if(self, obj: str, record_id: str, field: str, expected: object, value: object, *,
               desired: Model | None = None) -> bool: ...


@dataclass
class Outcome:
    handoff: str
    deal: str               # the deal's name
    link: str = ""
    status: str = ""        # handed-off | existed | elsewhere | failed | would-hand-off
    error: str = ""


@dataclass
class Summary:
    outcomes: list[Outcome] = field(default_factory=list)

    def count(self, status: str) -> int:
        return sum(1 for o in self.outcomes if o.status == status)

    def line(self, *, dry_run: bool = False) -> str:
        """'3 handed off, 1 already had one, 0 failed': one count per deal and handoff."""
        if dry_run:
            return f"{self.count('would-hand-off')} would be handed off (dry run: nothing created)"
        parts = [f"{self.count('handed-off')} handed off", f"{self.count('existed')} already had one",
                 f"{self.count('failed')} failed"]
        if self.count("elsewhere"):
            parts.append(f"{self.count('elsewhere')} being handed off by another run")
        return ", ".join(parts)

    @property
    def failed(self) -> bool:
        return self.count("failed") > 0


@dataclass(frozen=True)
class Run:
    """What one run needs besides the deals: the handoffs' tools, the window, the clock, the run's claim id."""

    target: str
    tools: Mapping[str, Tool]
    today: datetime.date
    now: datetime.datetime
    run_id: str
    since: datetime.date | None = None
    dry_run: bool = False
    sleep: Callable[[float], None] = lambda seconds: None
    progress: Callable[[str], None] = lambda line: None


def run_handoffs(desired: Model, store: DealStore, run: Run, only: Sequence[str] = ()) -> Summary:
    """Hand off every deal of `store` that reached a handoff's stage (on or after `run.since`) and has no link."""
    summary = Summary()
    handoffs = [h for h in desired.of_kind(Kind.HANDOFF) if not only or h.address.key in only]
    for handoff in handoffs:
        link_field = handoff.attrs["link_field"]
        if not store.holds("opportunity", link_field, desired=desired):
            raise SosError(Diagnostic(handoff.origin, f"handoff '{handoff.address.key}' writes its link into "
                                      f"'{link_field}', which target '{run.target}' does not hold yet",
                                      "handoff-unapplied", fix=f"run `sos apply --target {run.target}` first: it "
                                      "adds the field"))
    deals = list(store.rows("opportunity", _deal_fields(handoffs), desired=desired))
    entered = _entered(store, desired, run.since)
    names = _lookup_names(desired, store)
    for handoff in handoffs:
        for deal in deals:
            if _due(handoff, deal, entered, run):
                summary.outcomes.append(_hand_off(handoff, deal, desired, names, store, run))
    return summary


def _deal_fields(handoffs: Sequence[Resource]) -> list[str]:
    """What a run reads of each deal: its name, account and stage, and what the handoffs write and show."""
    keys = ["name", "account", "stage"]
    for handoff in handoffs:
        named = [f for _, f, _, _ in string.Formatter().parse(handoff.attrs.get("name", "")) if f]
        keys += [handoff.attrs["link_field"], *handoff.attrs.get("fields", []), *named]
    return list(dict.fromkeys(keys))


def _entered(store: DealStore, desired: Model, since: datetime.date | None) -> dict[str, set[object]] | None:
    """The stages each deal moved into on or after `since`, by deal id (None: no window, every deal counts)."""
    if since is None:
        return None
    start = datetime.datetime.combine(since, datetime.time(), tzinfo=datetime.UTC)
    entered: dict[str, set[object]] = {}
    for change in store.changes("opportunity", ["stage"], start, desired=desired).changes:
        entered.setdefault(change.record, set()).add(change.new)
    return entered


def _due(handoff: Resource, deal: Mapping[str, object], entered: Mapping[str, set[object]] | None, run: Run) -> bool:
    stage = handoff.attrs["stage"]
    if deal.get("stage") != stage:
        return False
    if entered is not None and stage not in entered.get(str(deal["id"]), ()):
        return False
    link = deal.get(handoff.attrs["link_field"])
    return link is None or _stale_claim(link, run.now)


def _stale_claim(link: object, now: datetime.datetime) -> bool:
    text = str(link)
    if not text.startswith(CLAIM_PREFIX):
        return False
    try:
        claimed = datetime.datetime.fromisoformat(text.rsplit("@", 1)[1])
    except (IndexError, ValueError):
        return True
    return now - claimed > CLAIM_TTL


def _hand_off(handoff: Resource, deal: Mapping[str, object], desired: Model, names: Mapping[str, Mapping[str, str]],
              store: DealStore, run: Run) -> Outcome:
    key, attrs = handoff.address.key, handoff.attrs
    values = _values(deal, desired, names)
    outcome = Outcome(key, values.get("name") or f"deal {deal['id']}")
    order = Order(name=string.Formatter().vformat(attrs.get("name", ""), (), _Blank(values)).strip(),
                  details=tuple((_label(desired, f), values.get(f, "")) for f in attrs.get("fields", [])),
                  marker=f"sos-deal-{run.target}-{key}-{deal['id']}",
                  settings={k: attrs[k] for k in HANDOFF_SETTINGS if k in attrs},
                  assignee=attrs.get("assign_to", {}).get("user"), team=attrs.get("assign_to", {}).get("team"))
    if run.dry_run:
        outcome.status = "would-hand-off"
        run.progress(f"{key}: would create {order.name!r} in {attrs['tool']}")
        return outcome
    link_field, held, deal_id = attrs["link_field"], deal.get(attrs["link_field"]), str(deal["id"])
    claim = f"{CLAIM_PREFIX}{run.run_id}@{run.now.isoformat()}"
    if not store.set_if("opportunity", deal_id, link_field, held, claim, desired=desired):
        outcome.status = "elsewhere"
        run.progress(f"{key}: {outcome.deal}: another run is handing it off")
        return outcome
    try:
        outcome.link, existed = deliver(run.tools[attrs["tool"]], order, sleep=run.sleep, progress=run.progress)
    except SosError as error:
        store.set_if("opportunity", deal_id, link_field, claim, None, desired=desired)   # the next run tries again
        outcome.status, outcome.error = "failed", error.diagnostics[0].message
        run.progress(f"{key}: {outcome.deal}: failed: {outcome.error}")
        return outcome
    store.set_if("opportunity", deal_id, link_field, claim, outcome.link, desired=desired)
    outcome.status = "existed" if existed else "handed-off"
    run.progress(f"{key}: {outcome.deal}: {'already had' if existed else 'created'} {outcome.link}")
    return outcome


class _Blank(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return ""


def _label(desired: Model, key: str) -> str:
    for resource in desired.of_kind(Kind.FIELD):
        if resource.address.scope == "opportunity" and resource.address.key == key:
            return str(resource.attrs.get("label") or title_case(key))
    return title_case(key)


def _lookups(desired: Model) -> dict[str, str]:
    """The deal's lookup fields, each with the object it points at."""
    custom = {r.address.key: str(r.attrs["to"]) for r in desired.of_kind(Kind.FIELD)
              if r.address.scope == "opportunity" and r.attrs.get("type") == "lookup" and r.attrs.get("to")}
    return {**LOOKUP_TARGETS, **custom}


def _lookup_names(desired: Model, store: DealStore) -> dict[str, dict[str, str]]:
    """The name of every record a deal's lookup may point at, by object and id (as text: a lookup holds it so)."""
    names: dict[str, dict[str, str]] = {}
    for obj in sorted(set(_lookups(desired).values())):
        names[obj] = {str(row["id"]): _record_name(row) for row in store.rows(obj, NAME_FIELDS, desired=desired)}
    return names


def _record_name(row: Mapping[str, object]) -> str:
    if row.get("name"):
        return str(row["name"])
    return " ".join(str(row[k]) for k in ("first_name", "last_name") if row.get(k))


def _values(deal: Mapping[str, object], desired: Model, names: Mapping[str, Mapping[str, str]]) -> dict[str, str]:
    """The deal's fields as the project shows them: a lookup as the name of the record it points at."""
    lookups = _lookups(desired)
    values = {}
    for key, value in deal.items():
        if value is None or key in ("id", "url"):
            continue
        if key in lookups:
            values[key] = names.get(lookups[key], {}).get(str(value), str(value))
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            values[key] = f"{value:,.2f}" if value != int(value) else f"{int(value):,}"
        else:
            values[key] = str(value)
    return values
