"""Realistic, deterministic records for the blueprint applied to a sandbox: the team (the users and queues its routes
name), accounts, contacts, leads through the lead statuses, deals through the stage funnel with amounts, close
dates, aging and their stage history, tasks, and dirty data in the proportions a sales leader finds in a client's
CRM in week one. The history is what the weekly reports read: stage moves (a few back a stage) and forecast
categories over past weeks, amounts and close dates changed lately, Best Case deals called Commit, leads' status
changes and conversions into deals, and each lead's first-touch task (done in time, late or never).

Seeding replaces every record of the sandbox (the applied blueprint stays) and writes rows directly, as a data
import does: the blueprint's rules are not enforced on it, which is how dirty data gets in. The same seed, count
and day give the same rows, byte for byte.
"""

from __future__ import annotations

import datetime
import json
import random
import sqlite3
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from sos.backends.local.store import RECORD_OBJECTS, sync_tables
from sos.expr.dialects.sql import STAGE_ENTERED, columns, quote_name
from sos.expr.types import STANDARD_FIELDS, ExprType, Kind, Scope
from sos.model.automation import CreateTask, Queue, RoundRobin, User, assignment_of, speed_to_lead
from sos.model.resources import Kind as ResourceKind
from sos.model.resources import Model

# How dirty a client's CRM is in week one (share of the records concerned).
MISSING_NEXT_STEP = 0.18        # open deals without a next step
PAST_CLOSE_DATE = 0.15          # open deals whose close date has passed
FAR_CLOSE_DATE = 0.06           # open deals whose close date is pushed out past two months
PAST_MAX_DAYS = 0.22            # deals sitting longer than their stage's limit
REQUIREMENT_UNMET = 0.08        # each field a deal's stage requires, left blank
OTHER_FIELD_FILLED = 0.35       # a field no stage requires yet, filled in
FUNNEL = 0.62                   # open deals in a stage, for each one in the stage before
MOVED_BACK = 0.15               # open deals that lately moved back a stage (of those that moved lately)
SLIPPED = 0.25                  # open deals whose close date was pushed out in the last three weeks
REPRICED = 0.15                 # open deals whose amount changed in the last three weeks
COMMITTED = 0.3                 # open deals in a Best Case stage the rep moved to Commit
UNASSIGNED = 0.03               # leads no route or rep owns
CONVERTED_WITHOUT_DEAL = 0.07   # converted leads whose deal was never created
TOUCHED_IN_TIME = 0.65          # leads whose first-touch task was done before it was due
TOUCHED_LATE = 0.2              # … done after it was due (the rest are never touched)

FIRST = ["Ana", "Bo", "Chen", "Dara", "Eli", "Femi", "Gus", "Hana", "Ivo", "Jade", "Kai", "Lena", "Mo", "Nia",
         "Omar", "Pia", "Quinn", "Rosa", "Sam", "Tara", "Uma", "Vik", "Wes", "Yara", "Zoe"]
LAST = ["Silva", "Okafor", "Novak", "Kim", "Haddad", "Moreau", "Lindqvist", "Patel", "Garcia", "Brennan", "Tanaka",
        "Adeyemi", "Rossi", "Kowalski", "Nguyen", "Schmidt", "Murphy", "Costa", "Ivanova", "Mensah"]
COMPANY = ["Acme", "Globex", "Initech", "Umbrella", "Hooli", "Vandelay", "Stark", "Wayne", "Cyberdyne", "Soylent",
           "Tyrell", "Wonka", "Gringotts", "Oceanic", "Pied Piper", "Duff", "Monarch", "Bluth", "Dunder", "Sterling"]
TRADE = ["Plumbing", "Dental", "Logistics", "Robotics", "Bakery", "Legal", "Analytics", "Roofing", "Labs", "Clinics",
         "Studios", "Foods", "Freight", "Security", "Energy", "Printing", "Fitness", "Realty", "Travel", "Media"]
INDUSTRIES = ["Construction", "Healthcare", "Manufacturing", "Professional services", "Retail", "Technology"]
SOURCES = ["Web", "Partner referral", "Outbound", "Event", "Paid search", "Customer referral"]
NEXT_STEPS = ["Demo on Tuesday", "Send the quote", "Call the decision maker", "Follow up on pricing",
              "Security review call", "Book the onboarding kickoff"]
TASKS = ["Call back", "Send follow-up email", "Prepare the quote", "Confirm the demo", "Chase the signature"]
TEAM_SIZE = 6     # reps generated when the blueprint names fewer users than this


def seed(connection: sqlite3.Connection, model: Model, *, deals: int, seed_value: int, today: datetime.date,
         progress: Callable[[str], None]) -> dict[str, int]:
    """Replace the sandbox's records with `deals` deals and everything around them, inside the caller's
    transaction; how many rows of each table were written."""
    scopes = sync_tables(connection, model)
    for table in (*RECORD_OBJECTS, "task", "user", "queue", "field_history", "lead_conversion"):
        connection.execute(f"DELETE FROM {quote_name(table)}")
    chance = random.Random(seed_value)
    accounts = max(1, deals // 4)
    sizes = {"account": accounts, "contact": accounts * 2, "lead": deals, "opportunity": deals}
    world = _World(chance, today, scopes, _team(model), _requirements(model), _stages(model), sizes,
                   speed_to_lead(model))
    counts: dict[str, int] = {}
    counts["user"] = _insert(connection, "user", ["username", "name", "email"],
                             ([u, _person(u), u] for u in world.team))
    counts["queue"] = _insert(connection, "queue", ["name", "members"],
                              ([q, json.dumps(world.team[:2])] for q in _queues(model)))
    counts["account"] = _insert_records(connection, scopes["account"], (world.account(n) for n in range(accounts)))
    counts["contact"] = _insert_records(connection, scopes["contact"],
                                        (world.contact(n) for n in range(accounts * 2)))
    counts["lead"] = _insert_records(connection, scopes["lead"], (world.lead(n) for n in range(deals)))
    progress(f"seeded {accounts:,} accounts, {accounts * 2:,} contacts, {deals:,} leads; writing {deals:,} deals")
    history: list[list[object]] = []
    tasks: list[list[object]] = []
    counts["opportunity"] = _insert_records(
        connection, scopes["opportunity"], (world.deal(n + 1, history, tasks) for n in range(deals)))
    conversions: list[list[object]] = []
    leads = world.lead_stories(history, tasks, conversions)
    connection.executemany("UPDATE lead SET created_date = ?, owner = ? WHERE _id = ?", leads)
    _insert(connection, "lead_conversion", ["lead", "deal", "at"], conversions)
    counts["field_history"] = _insert(connection, "field_history",
                                      ["object", "record", "field", "old", "new", "who", "at"], history)
    counts["task"] = _insert(connection, "task", ["subject", "status", "due_date", "owner", "what_object",
                                                  "what_id", "created_date", "completed_date", "cadence"], tasks)
    return counts


def _insert(connection: sqlite3.Connection, table: str, names: Sequence[str], rows: Iterator[list[object]]
            | list[list[object]]) -> int:
    cursor = connection.executemany(
        f"INSERT INTO {quote_name(table)} ({', '.join(map(quote_name, names))}) VALUES "
        f"({', '.join('?' * len(names))})", rows)
    return cursor.rowcount


def _insert_records(connection: sqlite3.Connection, scope: Scope, rows: Iterator[dict[str, object]]) -> int:
    names = list(columns(scope))
    blank = {key: 0 if t.kind is Kind.BOOLEAN else None for key, t in scope.fields.items()}  # as encode() writes
    return _insert(connection, scope.object, names, ([row.get(name, blank.get(name)) for name in names]
                                                     for row in rows))


def _team(model: Model) -> list[str]:
    """The usernames the blueprint's routes name, topped up with generated reps."""
    named: dict[str, None] = {}
    for route in model.of_kind(ResourceKind.ASSIGNMENT):
        match assignment_of(route).assignee:
            case User(email=email):
                named[email] = None
            case RoundRobin(users=users):
                named.update(dict.fromkeys(users))
    reps = [f"{FIRST[n].lower()}.{LAST[n].lower()}@example.com" for n in range(TEAM_SIZE)]
    return [*named, *reps[:max(0, TEAM_SIZE - len(named))]]


def _queues(model: Model) -> list[str]:
    found = [assignment_of(r).assignee for r in model.of_kind(ResourceKind.ASSIGNMENT)]
    return list(dict.fromkeys(a.key for a in found if isinstance(a, Queue)))


def _requirements(model: Model) -> dict[str, set[str]]:
    """Stage key → the fields a deal in it must have (its own requirements and the exit criteria before it)."""
    needed: dict[str, set[str]] = {}
    for requirement in model.of_kind(ResourceKind.STAGE_REQUIREMENT):
        for stage in requirement.attrs.get("stages", ()):
            needed.setdefault(str(stage), set()).update(str(f) for f in requirement.attrs.get("fields", ()))
    return needed


def _person(username: str) -> str:
    return " ".join(part.capitalize() for part in username.split("@")[0].replace("_", ".").split("."))


def _moment(day: datetime.date, chance: random.Random) -> str:
    """A working-hours date and time on `day`, as the store holds it."""
    return f"{day.isoformat()}T{chance.randint(13, 22):02d}:{chance.randint(0, 59):02d}:00.000000Z"


def _stamp(moment: datetime.datetime) -> str:
    """A date and time as the field history holds it."""
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse(moment: str) -> datetime.datetime:
    return datetime.datetime.fromisoformat(moment.rstrip("Z"))


def _created(moment: datetime.datetime) -> str:
    """A date and time as a record's created_date holds it."""
    return moment.strftime("%Y-%m-%dT%H:%M:00.000000Z")


class _World:
    """Draws every record from one random stream, in one order: the same seed gives the same rows."""

    def __init__(self, chance: random.Random, today: datetime.date, scopes: dict[str, Scope], team: list[str],
                 requirements: dict[str, set[str]], stages: dict[str, Mapping[str, Any]],
                 sizes: dict[str, int], first_touch: tuple[str, CreateTask] | None) -> None:
        self.chance, self.today, self.scopes, self.team = chance, today, scopes, team
        self.first_touch = first_touch
        self.leads: list[tuple[str | None, str, str | None]] = []    # each lead's status, created, owner
        self.deals: list[tuple[str, str]] = []                       # each deal's created moment and owner
        self.requirements, self.stages, self.sizes = requirements, stages, sizes
        self.custom_fields = {obj: [(key, t) for key, t in scope.fields.items() if key not in STANDARD_FIELDS[obj]]
                              for obj, scope in scopes.items()}
        deal_scope = scopes["opportunity"]
        self.open = [s.key for s in deal_scope.stages if s.outcome == "open"]
        self.won = [s.key for s in deal_scope.stages if s.outcome == "won"]
        self.lost = [s.key for s in deal_scope.stages if s.outcome == "lost"]
        statuses = scopes["lead"].statuses
        self.statuses = [s.key for s in statuses]
        self.converted = {s.key for s in statuses if s.converted}

    def day(self, earliest: int, latest: int) -> datetime.date:
        return self.today + datetime.timedelta(days=self.chance.randint(earliest, latest))

    def company(self, number: int) -> str:
        return f"{COMPANY[number % len(COMPANY)]} {TRADE[(number // len(COMPANY)) % len(TRADE)]}" + (
            f" {number // (len(COMPANY) * len(TRADE)) + 1}" if number >= len(COMPANY) * len(TRADE) else "")

    def custom(self, obj: str, row: dict[str, object], filled: Callable[[str], bool]) -> None:
        """Fill the blueprint's own fields of `row` that `filled` picks, each with a value of its type."""
        for key, field_type in self.custom_fields[obj]:
            if filled(key):
                row[key] = self.value(field_type)

    def value(self, field_type: ExprType) -> object:
        chance = self.chance
        match field_type.kind:
            case Kind.BOOLEAN:
                return 1
            case Kind.NUMBER:
                return chance.choice([0, 5, 10, 10, 15, 20]) if field_type.percent else chance.randint(1, 50)
            case Kind.DATE:
                return self.day(-30, 30).isoformat()
            case Kind.DATETIME:
                return _moment(self.day(-30, 0), chance)
            case Kind.PICKLIST:
                return chance.choice(field_type.values) if field_type.values else None
            case Kind.MULTI_PICKLIST:
                picked = chance.sample(field_type.values, min(2, len(field_type.values)))
                return json.dumps(picked) if picked else None
            case Kind.USER:
                return chance.choice(self.team)
            case Kind.REFERENCE:
                return str(chance.randint(1, self.sizes.get(field_type.to, 1)))     # the id of a seeded record
        return chance.choice(["Confirmed on the call", "See the notes", "Spreadsheets today", "Budget from Q3"])

    def account(self, number: int) -> dict[str, object]:
        chance = self.chance
        row: dict[str, object] = {
            "name": self.company(number), "industry": chance.choice(INDUSTRIES),
            "employees": int(chance.lognormvariate(3.5, 1.0)) + 2, "owner": chance.choice(self.team),
            "created_date": _moment(self.day(-720, -60), chance)}
        self.custom("account", row, lambda key: chance.random() < OTHER_FIELD_FILLED)
        return row

    def contact(self, number: int) -> dict[str, object]:
        chance = self.chance
        first, last = chance.choice(FIRST), chance.choice(LAST)
        row: dict[str, object] = {
            "first_name": first, "last_name": last, "name": f"{first} {last}",
            "email": f"{first.lower()}.{last.lower()}{number}@example.org",
            "account": str(number % self.sizes["account"] + 1), "owner": chance.choice(self.team),
            "created_date": _moment(self.day(-700, -30), chance)}
        self.custom("contact", row, lambda key: chance.random() < OTHER_FIELD_FILLED)
        return row

    def lead(self, number: int) -> dict[str, object]:
        chance = self.chance
        first, last = chance.choice(FIRST), chance.choice(LAST)
        row: dict[str, object] = {
            "first_name": first, "last_name": last, "name": f"{first} {last}", "company": self.company(number + 7),
            "email": f"{first.lower()}@lead{number}.example.org", "lead_source": chance.choice(SOURCES),
            "status": self._lead_status(),
            "owner": None if chance.random() < UNASSIGNED else chance.choice(self.team),
            "employees": int(chance.lognormvariate(3.2, 1.1)) + 1,
            "created_date": _moment(self.day(-180, 0), chance)}
        if chance.random() < 0.8:
            row["last_activity_date"] = self.day(-40, 0).isoformat()
        self.custom("lead", row, lambda key: chance.random() < OTHER_FIELD_FILLED + 0.3)
        self.leads.append((row["status"], str(row["created_date"]), row["owner"]))     # type: ignore[arg-type]
        return row

    def _lead_status(self) -> str | None:
        if not self.statuses:
            return None
        # the first statuses hold most leads; a quarter have converted
        if self.converted and self.chance.random() < 0.25:
            return self.chance.choice(sorted(self.converted))
        rest = [s for s in self.statuses if s not in self.converted] or self.statuses
        return self.chance.choices(rest, weights=[len(rest) - i for i in range(len(rest))])[0]

    def deal(self, number: int, history: list[list[object]],
             tasks: list[list[object]]) -> dict[str, object]:
        chance = self.chance
        owner = chance.choice(self.team)
        account = chance.randint(1, self.sizes["account"])
        path = self._path()
        stage = path[-1] if path else None
        is_open = stage in self.open
        entered_ago = self._days_in_stage(stage)
        earlier = chance.randint(0, 5)     # days in its first stage beyond six; a deal of one stage entered it new
        created = self.today - datetime.timedelta(days=entered_ago + (6 * (len(path) - 1) + earlier if len(path) > 1
                                                                      else 0))
        row: dict[str, object] = {
            "name": f"{self.company(account - 1)} - {chance.choice(['New', 'Expansion', 'Pilot'])}",
            "owner": owner, "stage": stage, "account": str(account),
            "amount": round(chance.lognormvariate(8.6, 0.7), -2) if chance.random() < 0.92 else None,
            "lead_source": chance.choice(SOURCES), "created_date": _moment(created, chance),
            "probability": self.stages.get(str(stage), {}).get("probability"),
            "forecast_category": self.stages.get(str(stage), {}).get("forecast"),
            STAGE_ENTERED: (self.today - datetime.timedelta(days=entered_ago)).isoformat()}
        required = self.requirements.get(str(stage), set())
        if is_open:
            dated = chance.random()
            row["close_date"] = (self.day(-40, -1) if dated < PAST_CLOSE_DATE else self.day(61, 150)
                                 if dated < PAST_CLOSE_DATE + FAR_CLOSE_DATE else self.day(0, 55)).isoformat()
        else:
            row["close_date"] = (self.today - datetime.timedelta(days=entered_ago)).isoformat()
        if is_open or "next_step" in required:      # a closed deal keeps the next step its stages required
            unmet = REQUIREMENT_UNMET if "next_step" in required else MISSING_NEXT_STEP
            row["next_step"] = chance.choice(NEXT_STEPS) if chance.random() >= unmet else None
        self.custom("opportunity", row, lambda key: chance.random() < (
            1 - REQUIREMENT_UNMET if key in required else OTHER_FIELD_FILLED))
        moments = [created + datetime.timedelta(days=6 * step) for step in range(len(path) - 1)]
        moments.append(self.today - datetime.timedelta(days=entered_ago))
        visits = list(zip(path, moments, strict=False))
        if is_open and len(path) > 1 and entered_ago <= 21 and path[-1] != self.open[-1] \
                and chance.random() < MOVED_BACK:     # it went a stage too far five days earlier
            here, day = visits[-1]
            ahead = self.open[self.open.index(here) + 1]
            visits[-1:] = [(ahead, day - datetime.timedelta(days=5)), (here, day)]
        for name, values in (("stage", [s for s, _ in visits]),
                             ("forecast_category", [self.stages.get(s, {}).get("forecast") for s, _ in visits])):
            for was, now, (_, day) in zip([None, *values], values, visits, strict=False):
                if was != now:      # created in its first stage at its creation moment, moved on at 15:00 UTC
                    at = _stamp(_parse(str(row["created_date"]))) if was is None else f"{day.isoformat()}T15:00:00Z"
                    history.append(["opportunity", number, name, was, now, owner, at])
        if is_open:
            self._recent_changes(number, row, created, moments[-1], history)
        self.deals.append((str(row["created_date"]), owner))
        last_activity = None
        for _ in range(chance.randint(0, 2) if is_open else 1):
            due = self.day(-20, 10)
            done = due <= self.today and chance.random() < 0.7
            tasks.append([chance.choice(TASKS), "completed" if done else "open", due.isoformat(), owner,
                          "opportunity", number, _moment(due - datetime.timedelta(days=3), chance),
                          due.isoformat() if done else None, None])
            last_activity = max(last_activity or due, due) if done else last_activity
        row["last_activity_date"] = last_activity.isoformat() if last_activity else None
        return row

    def _recent_changes(self, number: int, row: dict[str, object], created: datetime.date,
                        entered: datetime.date, history: list[list[object]]) -> None:
        """What reps changed on an open deal in the last three weeks, as a pipeline review reads it: a Best Case
        deal called Commit, a close date pushed out, an amount changed (the row holds the new values)."""
        chance, owner = self.chance, row["owner"]

        born = datetime.datetime.fromisoformat(str(row["created_date"]).replace("Z", "+00:00"))

        def after(day: datetime.date) -> str:      # a moment between `day` (after its stage move) and today
            start = max(-21, (day - self.today).days)
            moment = f"{self.day(start, 0).isoformat()}T{chance.randint(16, 22):02d}:{chance.randint(0, 59):02d}:00Z"
            # never before the deal existed: on its creation day a minute after it at the earliest
            return max(moment, _stamp(born + datetime.timedelta(minutes=1)))

        if row["forecast_category"] == "best_case" and chance.random() < COMMITTED:
            history.append(["opportunity", number, "forecast_category", "best_case", "commit", owner, after(entered)])
            row["forecast_category"] = "commit"
        if chance.random() < SLIPPED:
            close = datetime.date.fromisoformat(str(row["close_date"]))
            earlier = close - datetime.timedelta(days=chance.randint(7, 30))
            history.append(["opportunity", number, "close_date", earlier.isoformat(), row["close_date"], owner,
                            after(created)])
        if row["amount"] is not None and chance.random() < REPRICED:
            old = round(float(str(row["amount"])) * chance.choice([0.6, 0.8, 1.25, 1.5]), -2)
            history.append(["opportunity", number, "amount", old, row["amount"], owner, after(created)])

    def lead_stories(self, history: list[list[object]], tasks: list[list[object]],
                     conversions: list[list[object]]) -> list[tuple[str, str | None, int]]:
        """Each lead's story, drawn once every deal is: its status moves, its conversion into the deal of the same
        number (created hours to days before that deal, owned by its owner), its first-touch task. The created
        date, owner and id of each converted lead, for the caller to update."""
        chance = self.chance
        first = self.statuses[0] if self.statuses else None
        end_of_today = datetime.datetime.combine(self.today, datetime.time(23, 59))
        converted_leads: list[tuple[str, str | None, int]] = []
        for number, (status, created, owner) in enumerate(self.leads, start=1):
            became = None
            if status in self.converted and chance.random() >= CONVERTED_WITHOUT_DEAL and number <= len(self.deals):
                deal_created, owner = self.deals[number - 1]
                became = _parse(deal_created)
                created = _created(became - datetime.timedelta(days=chance.randint(0, 10),
                                                               hours=chance.randint(1, 5)))
                converted_leads.append((created, owner, number))
                conversions.append([number, number, _stamp(became)])
            start = _parse(created)
            if first is not None:
                history.append(["lead", number, "status", None, first, owner or "sos", _stamp(start)])
            if owner is not None:       # created with its owner: the creation counts as a change from None
                history.append(["lead", number, "owner", None, owner, owner, _stamp(start)])
            if first is not None and status != first:
                moved = became or start + datetime.timedelta(days=chance.randint(0, 12), hours=chance.randint(1, 6))
                history.append(["lead", number, "status", first, status, owner or "sos",
                                _stamp(moved if moved <= end_of_today else start + (end_of_today - start) / 2)])
            if self.first_touch is not None and chance.random() < 0.9:
                self._first_touch(number, start, owner, end_of_today, tasks)
        return converted_leads

    def _first_touch(self, number: int, created: datetime.datetime, owner: str | None,
                     end_of_today: datetime.datetime, tasks: list[list[object]]) -> None:
        """The speed-to-lead cadence's task on a new lead: done in time, done late, or never done."""
        assert self.first_touch is not None
        cadence, task = self.first_touch
        chance = self.chance
        due = created + datetime.timedelta(hours=task.due_in_hours if task.due_in_hours is not None
                                           else 24 * (task.due_in_days or 0))
        roll = chance.random()
        done: datetime.datetime | None = None
        if roll < TOUCHED_IN_TIME:
            done = created + (due - created) * chance.random()
        elif roll < TOUCHED_IN_TIME + TOUCHED_LATE:
            done = due + datetime.timedelta(hours=chance.randint(1, 72))
        done = done if done is not None and done <= end_of_today else None
        tasks.append([task.subject, "completed" if done else "open", due.strftime("%Y-%m-%dT%H:%MZ"), owner, "lead",
                      number, _created(created), None if done is None else _stamp(done), cadence])

    def _path(self) -> list[str]:
        """The stages a deal went through, ending where it is: the funnel narrows stage by stage."""
        chance = self.chance
        if not self.open:
            return [chance.choice(self.won + self.lost)] if self.won + self.lost else []
        outcome = chance.random()
        if outcome < 0.18 and self.won:
            return [*self.open, chance.choice(self.won)]
        if outcome < 0.42 and self.lost:
            reached = chance.randint(1, len(self.open))
            return [*self.open[:reached], chance.choice(self.lost)]
        [depth] = chance.choices(range(1, len(self.open) + 1), weights=[FUNNEL ** n for n in range(len(self.open))])
        return self.open[:depth]

    def _days_in_stage(self, stage: str | None) -> int:
        limit = self.stages.get(str(stage), {}).get("max_days")
        if stage not in self.open:
            return self.chance.randint(1, 120)
        if limit and self.chance.random() < PAST_MAX_DAYS:
            return limit + self.chance.randint(1, 3 * limit)
        return self.chance.randint(0, limit or 30)


def _stages(model: Model) -> dict[str, Mapping[str, Any]]:
    """Stage key → its attributes (probability, forecast, max_days)."""
    return {r.address.key: r.attrs for r in model.of_kind(ResourceKind.STAGE)}
