"""The one adapter interface every target implements."""

from __future__ import annotations

import datetime
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import ClassVar, Protocol, runtime_checkable

from sos.errors import Diagnostic, SosError
from sos.model.checks import Check
from sos.model.resources import Address, Kind, Model
from sos.plan.change import Plan
from sos.target import Target


class Support(str, Enum):
    """How far a CRM holds one kind of resource."""

    NATIVE = "native"      # the CRM holds and enforces it
    PARTIAL = "partial"    # held, with a difference its note states
    AUDIT = "audit"        # not enforceable there; `sos audit` checks it
    NONE = "none"          # not held at all


# What every CRM's plan says of handoffs: no CRM holds them, `sos handoff run` runs them (docs/handoff.md).
HANDOFF_NOTE = ("`sos handoff run` creates them in the project-management tool and writes each link back on the "
                "deal, into the handoff's link field (a url field)")


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What a target holds, per kind, and the sentence a plan shows for each kind it does not hold natively
    (written by the backend: the plan layer composes no CRM text)."""

    support: Mapping[Kind, Support]
    notes: Mapping[Kind, str] = field(default_factory=dict)
    # The kinds a `renamed_from:` cannot rename in place (the old one is deleted, the new one created), and why.
    cannot_rename: Mapping[Kind, str] = field(default_factory=dict)

    @property
    def held(self) -> frozenset[Kind]:
        """The kinds a plan writes to the target (natively or partly held)."""
        return frozenset(k for k, s in self.support.items() if s in (Support.NATIVE, Support.PARTIAL))

    def plan_notes(self) -> dict[Kind, str]:
        """The notes of the kinds not held natively, as a plan shows them."""
        return {k: self.notes[k] for k, s in self.support.items() if s is not Support.NATIVE and k in self.notes}


@dataclass(frozen=True, slots=True)
class Live:
    """What read() found: the target in sos's words, its fingerprint and drift as data.

    `detail` is the backend's own reading of the target (for its check() of a plan made from this Live, so
    that the check costs no second read); the core never looks inside it and it is never saved.
    """

    model: Model
    fingerprint: str
    drift: Mapping[Address, str] = field(default_factory=dict)   # changed outside sos, as reasons
    notes: Mapping[Kind, str] = field(default_factory=dict)      # a kind's plan note, when this blueprint needs its own
    detail: object = field(default=None, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class Export:
    """What `sos build` writes for a plan, and what it says about it: the backend's words, the CLI's layout."""

    files: Mapping[str, bytes]               # by path inside the output folder
    written: int                             # how many of the CRM's components the files hold
    rows: tuple[tuple[str, str], ...] = ()   # the summary under "Wrote N components", one (what, how many) a line
    notes: tuple[Diagnostic, ...] = ()       # warnings on what deploying the files does
    messages: tuple[str, ...] = ()           # what else the user should know, a sentence each
    deploy: str = ""                         # the command that deploys the files; {out} is the folder, quoted
    entries: frozenset[str] = frozenset()    # top-level names any build of this backend writes (replaced by a build)


@dataclass(frozen=True, slots=True)
class ApplyResult:
    """Per address, what was applied and what failed (with the CRM's reason)."""

    applied: tuple[Address, ...] = ()
    failed: dict[Address, str] = field(default_factory=dict)
    notes: tuple[Diagnostic, ...] = ()  # warnings about the apply beside its outcome (its history not written)

    @property
    def ok(self) -> bool:
        return not self.failed


class ApplyUnknown(SosError):
    """The CRM accepted the changes, then sos lost track of them: they may still be applied. `job` is the CRM's id
    for them, which `sos apply --resume JOB` (Backend.resume) follows to the end."""

    def __init__(self, diagnostic: Diagnostic, job: str) -> None:
        super().__init__(diagnostic)
        self.job = job


class ApplyInterrupted(KeyboardInterrupt):
    """Ctrl-C after the CRM accepted the changes: they may still be applied; `job` names them, as in ApplyUnknown."""

    def __init__(self, job: str) -> None:
        super().__init__(job)
        self.job = job


@dataclass(frozen=True, slots=True)
class Offender:
    """One record that breaks a check, as an audit lists it: enough to find it in the CRM."""

    id: str
    name: str
    owner: str | None          # the owner's username (or email where the CRM has no username)
    stage: str | None          # the stage key (a lead: its status key)
    amount: float | None
    url: str | None = None     # the record in the CRM's own UI


@dataclass(frozen=True, slots=True)
class Tally:
    """How many records break one check: in all, by owner and by stage (a lead: status); the worst offenders
    (largest amount first, then name); or why the target cannot check it (`unsupported`, the counts then 0)."""

    total: int
    by_owner: Mapping[str, int] = field(default_factory=dict)
    by_stage: Mapping[str, int] = field(default_factory=dict)
    worst: tuple[Offender, ...] = ()
    unsupported: str | None = None


@runtime_checkable
class Records(Protocol):
    """The records side of a backend: what `sos audit` and a plan's impact counts read. A backend that reads
    records implements it beside Backend; the CRM does the counting wherever it can, so the calls grow with the
    number of checks, not of records."""

    def tally(self, checks: Sequence[Check], *, top: int = 10, today: datetime.date | None = None,
              desired: Model | None = None) -> list[Tally]:
        """For each of `checks` (in order), the records that break it: counts, and the `top` worst offenders
        (none for top=0: counts only). `today` stands in for the clock (days_in_stage, today()); by default the
        date in UTC. `desired`: the Model the checks were made from, which names their fields and stages in the
        CRM (a backend that needs it reads what it manages otherwise)."""

    def record_count(self, obj: str) -> int:
        """How many records of `obj` the target holds (what an audit says it looked at)."""


@dataclass(frozen=True, slots=True)
class FieldChange:
    """One change to one field of one record, as the CRM's history holds it."""

    record: str                  # the record's id
    field: str                   # the sos field key: stage, amount, close_date, forecast_category, owner, status…
    old: object                  # decoded as History.rows decodes values; None: blank (or, on creation, before it)
    new: object
    at: datetime.datetime        # when, timezone-aware UTC
    who: str | None              # the username that made it, where the CRM says


@dataclass(frozen=True, slots=True)
class Timeline:
    """The changes History.changes found, oldest first, and the fields whose history the CRM cannot give (with
    why: field history not enabled, …), so a report says so instead of guessing."""

    changes: tuple[FieldChange, ...]
    unavailable: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Activity:
    """A task logged on a record (a cadence's or a rep's)."""

    id: str
    record: str                  # the id of the record it is about
    subject: str
    owner: str | None            # a username
    created: datetime.datetime   # timezone-aware UTC
    due: datetime.date | None
    completed: datetime.datetime | None
    cadence: str | None = None   # the cadence key that made it, where the CRM records it


STAGE_ENTERED = "stage_entered"     # what History.rows answers for a deal asked when it entered its stage


def utc_moment(text: str) -> datetime.datetime:
    """A date and time as a CRM's API or the sandbox writes it (ISO 8601 with `Z`, `+0000` or `+00:00`; with no offset,
    as Pipedrive's v1 `2026-12-04 10:00:00`, it is UTC), timezone-aware UTC, as FieldChange.at and Activity hold it."""
    moment = datetime.datetime.fromisoformat(text)
    return moment.astimezone(datetime.UTC) if moment.tzinfo else moment.replace(tzinfo=datetime.UTC)


@runtime_checkable
class History(Protocol):
    """The records as they are and as they changed: what the weekly reports (sos review, forecast, trace) and
    the handoff read. A backend that can read records implements it beside Records."""

    def rows(self, obj: str, fields: Sequence[str], *, desired: Model | None = None) -> Iterator[dict[str, object]]:
        """Every record of `obj`, as a dict with "id", "url" (its page in the CRM's UI, or None) and each of
        `fields` (sos field keys) decoded: a stage or lead status as its key, an owner as a username, a date as
        datetime.date, a datetime timezone-aware UTC, a number as float, blank as None. A lead also answers
        "converted_deal" (the id of the deal it became, or None). A deal asked for STAGE_ENTERED answers when it
        entered the stage it is in (timezone-aware UTC; its creation when its stage never changed; None when the CRM
        cannot say), from the CRM's own stamp where it keeps one, so that no stage history need be read for it."""

    def changes(self, obj: str, fields: Sequence[str], since: datetime.datetime, *,
                desired: Model | None = None) -> Timeline:
        """The changes to `fields` of every record of `obj` at or after `since`, oldest first. A record's
        creation counts as a change from None for the fields it was created with."""

    def activities(self, obj: str, since: datetime.datetime) -> Iterator[Activity]:
        """The tasks on records of `obj` created at or after `since`, oldest first."""

    def not_held(self, obj: str, fields: Sequence[str], *, desired: Model | None = None) -> dict[str, str]:
        """Which of `fields` the CRM holds nothing for on `obj` (rows() answers None on every record), each with
        why, for a report to say instead of showing blanks."""


class Backend(Protocol):
    capabilities: ClassVar[Capabilities]
    formats: ClassVar[tuple[str, ...]]     # what export() writes, the default first; () when it writes nothing
    build_help: ClassVar[str]              # its part of `sos build --help`: formats, examples, caveats

    def __init__(self, target: Target, project_root: Path) -> None: ...

    def lint(self, desired: Model) -> list[Diagnostic]:
        """What the target would refuse in `desired`, known offline (no call to the CRM)."""

    def read(self, desired: Model) -> Live:
        """Live state of what `desired` names, everything sos manages, and look-alikes it does not. No side
        effects: nothing is written and nothing kept on the backend for a later call."""

    def check(self, plan: Plan, desired: Model, live: Live) -> list[Diagnostic]:
        """What the target would refuse in `plan` (made from `desired` against `live`), known before any apply;
        warnings say what applying it does beyond its changes."""

    def apply(self, plan: Plan, desired: Model, *, check_only: bool = False) -> ApplyResult:
        """Apply every change of `plan`, made from `desired`, atomically, or none; refuse if the live state moved
        since the plan."""

    def export(self, plan: Plan, desired: Model, *, fmt: str, value_sets: bool = False) -> Export:
        """The files that apply `plan` (made from `desired`) to the target by the CRM's own tools, offline, in
        `fmt` (one of `formats`); `value_sets`: also the stage and lead status value sets, the blueprint's only."""

    def resume(self, job: str) -> str:
        """Wait for the changes an apply submitted as `job` (ApplyUnknown named it) to finish; one line saying
        what was applied, SosError when they failed (nothing applied), ApplyUnknown when it is still not known."""

    def status(self) -> str:
        """One line saying where the target is and that it answers; SosError when it does not."""


@dataclass(frozen=True, slots=True)
class CiLogin:
    """How a CI runner logs in to a target: the repository secrets to create (each is also the environment
    variable the jobs set from it), what each holds, and shell lines to run before sos (empty: none)."""

    secrets: Mapping[str, str]        # secret name → what to put in it, for the person creating it
    setup: tuple[str, ...] = ()
