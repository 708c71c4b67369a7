"""Realistic, deterministic records for the blueprint applied to a sandbox: the team (the users and queues its routes
name), accounts, contacts, leads through the lead statuses, deals through the stage funnel with amounts, close
dates, aging and their stage history, tasks, and dirty data in the proportions a sales leader finds in a client's
CRM in week one.

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
from sos.model.automation import Queue, RoundRobin, User, assignment_of
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
    for table in (*RECORD_OBJECTS, "task", "user", "queue", "field_history"):
        connection.execute(f"DELETE FROM {quote_name(table)}")
    chance = random.Random(seed_value)
    accounts = max(1, deals // 4)
    sizes = {"account": accounts, "contact": accounts * 2, "lead": deals, "opportunity": deals}
    world = _World(chance, today, scopes, _team(model), _requirements(model), _stages(model), sizes)
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
    counts["field_history"] = _insert(connection, "field_history",
                                      ["object", "record", "field", "old", "new", "who", "at"], history)
    counts["task"] = _insert(connection, "task", ["subject", "status", "due_date", "owner", "what_object",
                                                  "what_id", "created_date", "completed_date"], tasks)
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


class _World:
    """Draws every record from one random stream, in one order: the same seed gives the same rows."""

    def __init__(self, chance: random.Random, today: datetime.date, scopes: dict[str, Scope], team: list[str],
                 requirements: dict[str, set[str]], stages: dict[str, Mapping[str, Any]],
                 sizes: dict[str, int]) -> None:
        self.chance, self.today, self.scopes, self.team = chance, today, scopes, team
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
            "status": self._lead_status(), "owner": chance.choice(self.team),
            "employees": int(chance.lognormvariate(3.2, 1.1)) + 1,
            "created_date": _moment(self.day(-180, 0), chance)}
        if chance.random() < 0.8:
            row["last_activity_date"] = self.day(-40, 0).isoformat()
        self.custom("lead", row, lambda key: chance.random() < OTHER_FIELD_FILLED + 0.3)
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
        created = self.today - datetime.timedelta(days=entered_ago + 6 * max(0, len(path) - 1) + chance.randint(0, 5))
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
        for old, new, day in zip([None, *path], path, moments, strict=False):
            history.append(["opportunity", number, "stage", old, new, owner, f"{day.isoformat()}T15:00:00Z"])
        last_activity = None
        for _ in range(chance.randint(0, 2) if is_open else 1):
            due = self.day(-20, 10)
            done = due <= self.today and chance.random() < 0.7
            tasks.append([chance.choice(TASKS), "completed" if done else "open", due.isoformat(), owner,
                          "opportunity", number, _moment(due - datetime.timedelta(days=3), chance),
                          due.isoformat() if done else None])
            last_activity = max(last_activity or due, due) if done else last_activity
        row["last_activity_date"] = last_activity.isoformat() if last_activity else None
        return row

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
