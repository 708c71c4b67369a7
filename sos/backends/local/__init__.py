"""The embedded local sandbox: one SQLite file per target, each apply one transaction.

A second apply at the same time fails at once (SQLite's write lock, taken with
BEGIN IMMEDIATE and no wait) instead of interleaving; a failed apply rolls back.
The file also holds records (store.py), which writes, seeding and CSV loads fill
and audits count (tally.py).
"""

from __future__ import annotations

import datetime
import json
import sqlite3
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any, ClassVar
from collections.abc import Callable, Iterator, Mapping, Sequence

from sos.backends.base import HANDOFF_NOTE, Activity, ApplyResult, Capabilities, Export, Live, Support, Tally, Timeline
from sos.backends.local import history
from sos.backends.local.automation import TABLES as AUTOMATION_TABLES
from sos.backends.local.automation import tick as fire_stage_age
from sos.backends.local.csvload import read_csv
from sos.backends.local.seed import seed
from sos.backends.local.store import (ID, RECORD_OBJECTS, TABLES, decode, insert_rows, read_row,
                                      rename_in_records, sync_tables, table_columns, write)
from sos.backends.local.tally import tally
from sos.errors import Diagnostic, SosError, Span, did_you_mean
from sos.expr.dialects.sql import STAGE_ENTERED, encode, quote_name
from sos.model.automation import RoundRobin, assignment_attrs, assignment_of, automation_attrs, automation_of
from sos.model.checks import Check
from sos.model.exprs import model_scope, requirement_from_rule
from sos.model.resources import Address, Kind, Model, Resource
from sos.naming import REQUIREMENT_RULE_SUFFIX
from sos.plan.change import Action, Change, Plan
from sos.plan.verify import refuse_mismatches
from sos.target import Target

RECORD_NAMES = {"account": "account", "contact": "contact", "lead": "lead", "opportunity": "deal"}

# How long reading records and set_if wait for another writer (a claim, a record's save): far longer than one takes.
RECORD_WAIT_SECONDS = 10.0

# 1: resources only; 2: records beside them (a version 1 file is upgraded when opened)
SCHEMA_VERSION = 2
SCHEMA = TABLES + AUTOMATION_TABLES + history.TABLES + """
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS resources (
    address TEXT PRIMARY KEY,
    attrs   TEXT NOT NULL,      -- JSON
    managed INTEGER NOT NULL,   -- 1: created by sos (the CRM-side ownership mark)
    origin  TEXT                -- file:line of the blueprint item that made it
);
"""


class LocalBackend:
    capabilities: ClassVar[Capabilities] = Capabilities(
        support={kind: Support.NONE if kind is Kind.HANDOFF else Support.NATIVE for kind in Kind},
        notes={Kind.HANDOFF: HANDOFF_NOTE})
    formats: ClassVar[tuple[str, ...]] = ()     # the sandbox file is all there is: no files to build
    build_help: ClassVar[str] = ""

    def __init__(self, target: Target, project_root: Path,
                 fault: Callable[[Change], None] | None = None,
                 clock: Callable[[], datetime.datetime] | None = None) -> None:
        self.target = target
        path = Path(str(target.options.get("path", f".sos/{target.name}.db")))
        self.path = path if path.is_absolute() else project_root / path
        self.fault = fault  # tests: called before each change, inside the transaction
        self.clock = clock or _utc_now    # now in UTC (naive), before the days `tick` added

    @contextmanager
    def _connect(self, wait: float = 0) -> Iterator[sqlite3.Connection]:
        """A connection to the sandbox file, waiting up to `wait` seconds for another writer; a locked, damaged or
        unusable file becomes a clear SosError."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            with closing(sqlite3.connect(self.path, timeout=wait, isolation_level=None)) as connection:
                connection.executescript(SCHEMA)
                self._check_version(connection)
                yield connection
        except sqlite3.OperationalError as exc:
            if "locked" in str(exc):
                raise SosError(f"another apply is running on target '{self.target.name}' ({self.path} is locked); "
                               "wait for it to finish, then run `sos plan` again", "locked") from None
            raise SosError(Diagnostic(self.target.origin, f"cannot use the sandbox file {self.path}: {exc}",
                                      "sandbox-unusable", fix="check the target's `path:` in sos.yaml")) from None
        except sqlite3.DatabaseError as exc:
            raise SosError(f"{self.path} is not a sos sandbox ({exc}); move it away and apply again to start "
                           "an empty sandbox", "sandbox-corrupt") from None

    def _check_version(self, connection: sqlite3.Connection) -> None:
        version = connection.execute("SELECT value FROM meta WHERE name = 'schema_version'").fetchone()
        if version is None:
            connection.execute("INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
        elif not str(version[0]).isdigit():
            raise _corrupt(self.path, f"its schema version {version[0]!r} (table meta) is not a number")
        elif int(version[0]) < SCHEMA_VERSION:   # SCHEMA added what it lacks; record tables follow the model
            connection.execute("UPDATE meta SET value = ? WHERE name = 'schema_version'", (str(SCHEMA_VERSION),))
        elif int(version[0]) != SCHEMA_VERSION:
            raise SosError(f"{self.path} has sandbox schema version {version[0]}; this sos reads version "
                           f"{SCHEMA_VERSION}", "sandbox-version")

    def lint(self, desired: Model) -> list[Diagnostic]:
        return []       # the sandbox holds any resource a blueprint compiles to

    def read(self, desired: Model) -> Live:
        """Every row of the sandbox; a missing file is an empty sandbox (and is not created)."""
        if not self.path.exists():
            model = Model()
        else:
            with self._connect() as connection:
                model = _read_all(connection, self.path)
        return Live(model, model.fingerprint())

    def check(self, plan: Plan, desired: Model, live: Live) -> list[Diagnostic]:
        return []

    def apply(self, plan: Plan, desired: Model, *, check_only: bool = False) -> ApplyResult:
        with self._connect() as connection:
            connection.execute("BEGIN IMMEDIATE")
            try:
                _upgrade_rows(connection, self.path)
                live = _read_all(connection, self.path)
                if live.fingerprint() != plan.live_fingerprint:
                    raise SosError("Saved plan is stale: the CRM changed after this plan was made. "
                                   "Run `sos plan` again.", "plan-stale")
                refuse_mismatches(plan, live, desired)
                for change in plan.changes:
                    if self.fault is not None:
                        self.fault(change)
                    _apply_change(connection, change)
                sync_tables(connection, _read_all(connection, self.path))
            except BaseException:
                connection.execute("ROLLBACK")
                raise
            connection.execute("ROLLBACK" if check_only else "COMMIT")
        return ApplyResult(applied=tuple(c.address for c in plan.changes))

    def export(self, plan: Plan, desired: Model, *, fmt: str, value_sets: bool = False) -> Export:
        raise SosError(f"target '{self.target.name}' is a local sandbox: `sos apply` writes it, and there are no "
                       "files to build for it", "build-target")

    def resume(self, job: str) -> str:
        raise SosError(f"target '{self.target.name}' is a local sandbox: each apply commits or rolls back at once, "
                       f"so there is no submitted apply {job} to resume", "nothing-to-resume")

    def status(self) -> str:
        if not self.path.exists():
            return f"local sandbox {self.path} (empty: nothing applied yet)"
        with self._connect() as connection:
            count = len(_read_all(connection, self.path))     # every row read: a damaged one is reported here too
            held = [f"{records:,} {RECORD_NAMES[obj]}{'s' * (records != 1)}" for obj in RECORD_OBJECTS
                    if table_columns(connection, obj)
                    and (records := connection.execute(f"SELECT count(*) FROM {quote_name(obj)}").fetchone()[0])]
        return f"local sandbox {self.path} ({', '.join([f'{count} resources', *held])})"

    @contextmanager
    def _transaction(self, wait: float = 0) -> Iterator[sqlite3.Connection]:
        """A connection in one write transaction: committed when the block ends, rolled back when it raises."""
        with self._connect(wait) as connection:
            connection.execute("BEGIN IMMEDIATE")
            try:
                yield connection
            except BaseException:
                connection.execute("ROLLBACK")
                raise
            connection.execute("COMMIT")

    def create_record(self, obj: str, values: Mapping[str, object], *, who: str = "sos",
                      now: datetime.datetime | None = None) -> int:
        """Create a record of `obj` through the sandbox's API, as a user of the CRM would: the applied rules are
        enforced (SosError `record-refused`, nothing written) and the history records it. Its id."""
        with self._transaction() as connection:
            return write(connection, _read_all(connection, self.path), obj, values, record_id=None, who=who,
                         now=now or self._now(connection))

    def update_record(self, obj: str, record_id: int, values: Mapping[str, object], *, who: str = "sos",
                      now: datetime.datetime | None = None) -> None:
        """Change fields of a record through the sandbox's API, enforced and recorded as create_record."""
        with self._transaction() as connection:
            write(connection, _read_all(connection, self.path), obj, values, record_id=record_id, who=who,
                  now=now or self._now(connection))

    def holds(self, obj: str, field: str, *, desired: Model | None = None) -> bool:
        """Whether the sandbox's `obj` has a column for `field` (sos apply adds it); `desired` is not needed."""
        if not self.path.exists():
            return False
        with self._connect(wait=RECORD_WAIT_SECONDS) as connection:
            return field in table_columns(connection, obj)

    def set_if(self, obj: str, record_id: int | str, field: str, expected: object, value: object, *,
               who: str = "sos", now: datetime.datetime | None = None, desired: Model | None = None) -> bool:
        """Write `value` into `field` of a record (its id as History.rows gives it, or the number) only while it
        holds `expected` (None: blank), as update_record does: whether it did. One transaction, so of two runs that
        claim the same deal exactly one wins (the other waits for the write lock, a few milliseconds, then finds
        the field taken)."""
        record_id = int(record_id)
        with self._transaction(wait=RECORD_WAIT_SECONDS) as connection:
            row = read_row(connection, obj, record_id) if table_columns(connection, obj) else None
            if row is None or row.get(field) != expected:
                return False
            write(connection, _read_all(connection, self.path), obj, {field: value}, record_id=record_id, who=who,
                  now=now or self._now(connection))
            return True

    def import_records(self, obj: str, records: Sequence[Mapping[str, object]], *, today: datetime.date) -> None:
        """Add records of `obj` (field key → value as `evaluate` takes it; days_in_stage counted back from `today`)
        as a data import does: in one transaction, no rule enforced, no history. SosError (bad-record) naming
        the first record that does not fit its fields; then nothing is added."""
        with self._transaction() as connection:
            scope = sync_tables(connection, _read_all(connection, self.path))[obj]
            insert_rows(connection, obj, [encode(record, scope, today=today) for record in records])

    def seed_records(self, *, deals: int, seed_value: int, today: datetime.date | None,
                     progress: Callable[[str], None]) -> dict[str, int]:
        """Replace the sandbox's records with realistic ones for the applied blueprint (seed.py), as of `today` (by
        default the sandbox's day, which `tick` moves on); how many rows of each kind were written."""
        if not self.path.exists():
            raise self._nothing_applied()
        with self._transaction() as connection:
            model = self._applied(connection)
            return seed(connection, model, deals=deals, seed_value=seed_value,
                        today=today or self._now(connection).date(), progress=progress)

    def load_csv(self, path: Path, obj: str, overrides: Mapping[str, str], *, today: datetime.date | None,
                 progress: Callable[[str], None]) -> tuple[int, list[str]]:
        """Add the records of a CSV export to the sandbox (csvload.py), all or none: how many, and the columns no
        field took."""
        if not self.path.exists():
            raise self._nothing_applied()
        with self._transaction() as connection:
            model = self._applied(connection)
            scope = sync_tables(connection, model)[obj]
            rows, ignored = read_csv(path, model, scope, overrides, today=today or self._now(connection).date(),
                                     progress=progress)
            insert_rows(connection, obj, rows)
        return len(rows), ignored

    def _applied(self, connection: sqlite3.Connection) -> Model:
        """The blueprint applied to the sandbox; SosError when nothing is, as records follow its stages and fields."""
        model = _read_all(connection, self.path)
        if not any(model.of_kind(Kind.PIPELINE)):
            raise self._nothing_applied()
        return model

    def _nothing_applied(self) -> SosError:
        return SosError(Diagnostic(self.target.origin, f"nothing is applied to target '{self.target.name}' yet, so "
                                   "the sandbox has no stages or fields for records", "sandbox-empty",
                                   fix=f"run `sos apply --target {self.target.name}` first"))

    def records(self, obj: str, *, today: datetime.date) -> list[dict[str, object]]:
        """Every record of `obj` in id order, as `evaluate` takes it, its id under `_id` (to load the same records
        into another CRM, or check an audit against the evaluator)."""
        if not self.path.exists():
            return []
        with self._connect(wait=RECORD_WAIT_SECONDS) as connection:
            if not table_columns(connection, obj):
                return []
            scope = model_scope(_read_all(connection, self.path), obj)
            cursor = connection.execute(f"SELECT * FROM {quote_name(obj)} ORDER BY {ID}")
            names = [d[0] for d in cursor.description]
            rows = [dict(zip(names, values, strict=True)) for values in cursor]
            return [{ID: row[ID], **decode(row, scope, today)} for row in rows]

    def stored_row(self, obj: str, record_id: int) -> dict[str, Any] | None:
        """A record as its row holds it (None: no such record)."""
        with self._connect() as connection:
            return read_row(connection, obj, record_id) if table_columns(connection, obj) else None

    def field_history(self, obj: str, record_id: int) -> list[tuple[Any, ...]]:
        """The history of a record, oldest first: (field, old, new, who, at), values as its row holds them."""
        with self._connect() as connection:
            return connection.execute("SELECT field, old, new, who, at FROM field_history WHERE object = ? AND "
                                      "record = ? ORDER BY _id", (obj, record_id)).fetchall()

    def tally(self, checks: Sequence[Check], *, top: int = 10, today: datetime.date | None = None,
              desired: Model | None = None) -> list[Tally]:
        """See Records.tally. `desired` is not needed: the sandbox names fields and stages by their keys."""
        if not self.path.exists():
            return [Tally(0) for _ in checks]
        with self._connect() as connection:
            now = None if today else self._now(connection)
            return tally(connection, checks, top=top, today=today or self._now(connection).date(), now=now)

    def work(self, obj: str, record_id: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """The tasks and the notifications about a record, oldest first."""
        with self._connect() as connection:
            found = []
            for table in ("task", "notification"):
                cursor = connection.execute(f"SELECT * FROM {table} WHERE what_object = ? AND what_id = ? "
                                            f"ORDER BY {ID}", (obj, record_id))
                names = [d[0] for d in cursor.description]
                found.append([dict(zip(names, row, strict=True)) for row in cursor.fetchall()])
            return found[0], found[1]

    def tick(self, days: int) -> tuple[datetime.date, int]:
        """Move the sandbox's clock `days` forward and fire the cadences on deals' time in their stage: the
        sandbox's new day, and how many fired."""
        if not self.path.exists():
            raise self._nothing_applied()
        with self._transaction() as connection:
            model = self._applied(connection)
            moved = connection.execute("SELECT value FROM meta WHERE name = 'clock_days'").fetchone()
            connection.execute("INSERT OR REPLACE INTO meta VALUES ('clock_days', ?)",
                               (str((int(moved[0]) if moved else 0) + days),))
            now = self._now(connection)
            scope = sync_tables(connection, model)["opportunity"]
            cursor = connection.execute(f"SELECT * FROM opportunity WHERE {quote_name(STAGE_ENTERED)} IS NOT NULL")
            names = [d[0] for d in cursor.description]
            rows = [dict(zip(names, values, strict=True)) for values in cursor.fetchall()]
            deals = [(int(row[ID]), decode(row, scope, now.date()), str(row[STAGE_ENTERED])) for row in rows]
            return now.date(), fire_stage_age(connection, model, deals, now)

    def round_robin(self, route: str) -> tuple[str, ...]:
        """The users the applied route `route` (its address) takes turns among, in turn order; () when it is not a
        round robin."""
        with self._connect() as connection:
            resource = _read_all(connection, self.path).get(Address.parse(route))
        assignee = assignment_of(resource).assignee if resource is not None else None
        return assignee.users if isinstance(assignee, RoundRobin) else ()

    def _now(self, connection: sqlite3.Connection) -> datetime.datetime:
        """The sandbox's clock: its clock's now, moved on by the days `sos sandbox tick` added."""
        moved = connection.execute("SELECT value FROM meta WHERE name = 'clock_days'").fetchone()
        return self.clock() + datetime.timedelta(days=int(moved[0]) if moved else 0)

    def record_count(self, obj: str) -> int:
        if not self.path.exists():
            return 0
        with self._connect() as connection:
            if not table_columns(connection, obj):
                return 0
            return int(connection.execute(f"SELECT count(*) FROM {quote_name(obj)}").fetchone()[0])

    def rows(self, obj: str, fields: Sequence[str], *, desired: Model | None = None) -> Iterator[dict[str, object]]:
        """See History.rows; a record's url is None (the sandbox has no UI)."""
        if not self.path.exists():
            return
        with self._connect(wait=RECORD_WAIT_SECONDS) as connection:
            yield from history.rows(connection, model_scope(_read_all(connection, self.path), obj), fields)

    def changes(self, obj: str, fields: Sequence[str], since: datetime.datetime, *,
                desired: Model | None = None) -> Timeline:
        """See History.changes: the sandbox keeps every field's history, so nothing is unavailable."""
        if not self.path.exists():
            return Timeline(())
        with self._connect(wait=RECORD_WAIT_SECONDS) as connection:
            return history.changes(connection, model_scope(_read_all(connection, self.path), obj), fields, since)

    def not_held(self, obj: str, fields: Sequence[str], *, desired: Model | None = None) -> dict[str, str]:
        """See History.not_held: the sandbox holds every field the blueprint has."""
        return {}

    def activities(self, obj: str, since: datetime.datetime) -> Iterator[Activity]:
        if not self.path.exists():
            return
        with self._connect() as connection:
            yield from history.activities(connection, obj, since)

    def convert_lead(self, lead_id: int, *, deal_values: Mapping[str, object], who: str = "sos",
                     now: datetime.datetime | None = None) -> int:
        """Convert a lead as a rep does in the CRM: its status becomes the first converted status and a deal is
        created with `deal_values` (unless given: its name, owner and source from the lead, the first open stage,
        a close date 30 days out), both saved through the sandbox's rules and history, all or nothing. The new
        deal's id."""
        with self._transaction() as connection:
            model = self._applied(connection)
            now = now or self._now(connection)
            scope = model_scope(model, "lead")
            lead = read_row(connection, "lead", lead_id)
            if lead is None:
                raise SosError(f"there is no lead {lead_id} in the sandbox", "bad-record")
            converted = next((s.key for s in scope.statuses if s.converted), None)
            if converted is None:
                raise SosError(Diagnostic(None, "the applied blueprint has no lead status with `converted: true`, so "
                                          "no lead can be converted", "bad-record",
                                          fix="mark the status leads convert in with `converted: true`"))
            if connection.execute("SELECT 1 FROM lead_conversion WHERE lead = ?", (lead_id,)).fetchone():
                raise SosError(f"lead {lead_id} is already converted", "bad-record")
            stages = [s.key for s in model_scope(model, "opportunity").stages]
            stage = deal_values.get("stage")
            if stage is not None and stage not in stages:
                raise SosError(Diagnostic(None, f"the blueprint has no stage '{stage}'", "bad-record",
                                          fix=did_you_mean(str(stage), stages) or f"use one of {', '.join(stages)}"))
            first_stage = next((s.key for s in model_scope(model, "opportunity").stages if s.outcome == "open"), None)
            values = {"name": f"{lead.get('company') or lead.get('name')} - New", "owner": lead.get("owner"),
                      "lead_source": lead.get("lead_source"), "stage": first_stage,
                      "close_date": (now.date() + datetime.timedelta(days=30)).isoformat(), **deal_values}
            deal = write(connection, model, "opportunity", values, record_id=None, who=who, now=now)
            if lead.get("status") != converted:
                write(connection, model, "lead", {"status": converted}, record_id=lead_id, who=who, now=now)
            utc = now.astimezone(datetime.UTC).replace(tzinfo=None) if now.tzinfo else now
            connection.execute("INSERT INTO lead_conversion VALUES (?, ?, ?)",
                               (lead_id, deal, utc.isoformat(timespec="seconds") + "Z"))
            return deal

    def seed_unmanaged(self, resource: Resource) -> None:
        """Put a resource sos did not create into the sandbox, as a CRM admin might by hand."""
        with self._connect() as connection:
            connection.execute("INSERT OR REPLACE INTO resources VALUES (?, ?, 0, NULL)",
                               (str(resource.address), json.dumps(dict(resource.attrs), sort_keys=True)))


def _utc_now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC).replace(tzinfo=None)


def _read_all(connection: sqlite3.Connection, path: Path) -> Model:
    model = Model()
    rows = connection.execute("SELECT rowid, address, attrs, managed, origin FROM resources ORDER BY rowid")
    for rowid, address, attrs, managed, origin in rows:
        where = f"row {rowid} of table resources ({address!r})"
        try:
            parsed = Address.parse(address)
        except (ValueError, AttributeError):
            raise _corrupt(path, f"{where}: not a resource address") from None
        try:
            values = json.loads(attrs)
        except (TypeError, ValueError):
            raise _corrupt(path, f"{where}: its attributes are not JSON") from None
        if not isinstance(values, dict):
            raise _corrupt(path, f"{where}: its attributes are not a JSON object")
        try:
            span = Span.from_origin(origin)
        except (ValueError, AttributeError):
            raise _corrupt(path, f"{where}: its origin {origin!r} is not file:line") from None
        if managed:     # a row sos did not write is left as it is
            try:
                parsed, values = _upgraded(parsed, values, path, where)
            except (ValueError, KeyError, TypeError):
                raise _corrupt(path, f"{where}: not a resource sos wrote") from None
        model.add(Resource(parsed, values, span, bool(managed)))
    return model


def _upgraded(address: Address, attrs: dict[str, Any], path: Path, where: str) -> tuple[Address, dict[str, Any]]:
    """A row as this sos writes it. Earlier versions wrote a cadence's or a route's defaults out, and kept a stage's
    `require` as the rule
    `rule.OBJECT.PIPELINE__STAGE__required` (`when: stage in [...]`, `require: not is_blank(f) and c == true`); it
    is the stage requirement `stage_requirement.PIPELINE.STAGE` (its `fields`, the `stages` it holds in). Rules
    and requirements stored without `enforce` bit on every save."""
    if address.kind is Kind.AUTOMATION:     # defaults written out (`assign_to: owner`) are now left out
        return address, automation_attrs(automation_of(Resource(address, attrs)))
    if address.kind is Kind.ASSIGNMENT:
        return address, assignment_attrs(assignment_of(Resource(address, attrs)))
    if address.kind in (Kind.RULE, Kind.STAGE_REQUIREMENT) and "enforce" not in attrs:
        attrs = {**attrs, "enforce": "always"}
    if address.kind is not Kind.RULE or not address.key.endswith(REQUIREMENT_RULE_SUFFIX):
        return address, attrs
    pipeline, _, stage = address.key.removesuffix(REQUIREMENT_RULE_SUFFIX).partition("__")
    try:
        fields, stages = requirement_from_rule(str(attrs["when"]), str(attrs["require"]))
    except (KeyError, SosError):
        raise _corrupt(path, f"{where}: a stage's required fields that cannot be read") from None
    return Address(Kind.STAGE_REQUIREMENT, pipeline, stage), {
        "fields": fields, "stages": stages,
        "message": attrs.get("message"), "enforce": attrs["enforce"]}


def _upgrade_rows(connection: sqlite3.Connection, path: Path) -> None:
    """Store the rows an earlier sos wrote as this sos names them (_upgraded), before an apply writes any."""
    old = connection.execute(
        "SELECT rowid, address, attrs FROM resources WHERE managed = 1 AND "
        "(address LIKE 'cadence.%' OR address LIKE 'route.%' OR address LIKE ?)", (f"rule.%{REQUIREMENT_RULE_SUFFIX}",))
    for rowid, address, attrs in old.fetchall():
        try:
            stored, values = Address.parse(address), json.loads(attrs)
            upgraded, new_values = _upgraded(stored, values, path, f"row {rowid}")
        except (ValueError, AttributeError, KeyError, TypeError):
            raise _corrupt(path, f"row {rowid} of table resources ({address!r}): not a resource sos wrote") from None
        if (upgraded, new_values) == (stored, values):
            continue
        values = new_values
        connection.execute("UPDATE resources SET address = ?, attrs = ? WHERE rowid = ?",
                           (str(upgraded), json.dumps(values, sort_keys=True), rowid))


def _corrupt(path: Path, what: str) -> SosError:
    return SosError(Diagnostic(None, f"{path} is damaged: {what}", "sandbox-corrupt",
                               why="sos writes whole rows in transactions; something else edited the file",
                               fix="restore it from a backup, or move it away and apply again to start an empty "
                                   "sandbox"))


def _apply_change(connection: sqlite3.Connection, change: Change) -> None:
    """One change, guarded in SQL as well: only a row sos created (managed = 1) is ever replaced or deleted,
    a create never overwrites, and only an adoption takes over a row sos did not create."""
    address = str(change.address)
    if change.action is Action.DELETE:
        cursor = connection.execute("DELETE FROM resources WHERE address = ? AND managed = 1", (address,))
    else:
        origin = change.origin.origin if change.origin else None
        attrs = json.dumps(dict(change.after or {}), sort_keys=True)
        if change.action is Action.CREATE:
            cursor = connection.execute("INSERT OR IGNORE INTO resources VALUES (?, ?, 1, ?)", (address, attrs, origin))
        elif change.renamed_from is not None:    # in place: the row and the records that hold the old key
            cursor = connection.execute("UPDATE resources SET address = ?, attrs = ?, origin = ? "
                                        "WHERE address = ? AND managed = 1",
                                        (address, attrs, origin, str(change.renamed_from)))
            obj = {Kind.STAGE: "opportunity", Kind.LEAD_STATUS: "lead"}.get(change.address.kind, change.address.scope)
            rename_in_records(connection, change.renamed_from, change.address, obj)
        else:
            owned = 0 if change.action is Action.ADOPT else 1
            cursor = connection.execute("UPDATE resources SET attrs = ?, managed = 1, origin = ? "
                                        "WHERE address = ? AND managed = ?", (attrs, origin, address, owned))
    if cursor.rowcount != 1:
        raise SosError(f"the sandbox refused to {change.action.value} {address}: sos "
                       f"{'did not create it' if change.action is not Action.CREATE else 'finds it already there'}",
                       "sandbox-refused")
