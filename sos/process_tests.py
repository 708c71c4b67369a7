"""Tests of a client's sales process, kept in the client repository (`tests/*.yaml`) and run offline on the sandbox
engine by `sos test`: records created and changed step by step, and what must follow (who owns a lead, which route
matched, the task a cadence made, a save refused with a rule's message).

A file looks like EXAMPLE (below). A step is one of `create: OBJECT` (with `as: NAME`, `with: VALUES`),
`update: NAME` (`with: VALUES`), `tick: DAYS` (the sandbox's clock moves on) and `expect: {...}`; a create or update
may say `refused: TEXT` (the save must be refused with a message holding TEXT). A value `today`, `today+N` or
`today-N` is the date that many days from the day the tests run, so that rules on close dates hold on any day. Each
test runs on a sandbox of its own with the blueprint applied.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from sos.blueprint.resolve import display_path
from sos.blueprint.yaml import Node, load_file
from sos.errors import Diagnostic, SosError, Span, did_you_mean

EXAMPLE = """\
sos: 1
tests:
  german_leads_go_to_emea:
    description: A lead from Germany goes to the EMEA team, who call within four hours.
    steps:
      - create: lead
        as: hans
        with: {last_name: Brandt, company: Hansa, country: Germany}
      - expect: {record: hans, owner: emea.sdr1@example.com, route: emea_territory}
      - expect: {record: hans, task: Call the new lead, due_in_hours: 4}
  proposal_needs_an_amount:
    steps:
      - create: opportunity
        as: deal
        with: {name: Acme, stage: discovery, close_date: today+20, owner: ana@acme.com}
      - update: deal
        with: {stage: proposal}
        refused: "Proposal needs"
"""

STEP_KINDS = ("create", "update", "tick", "expect")
STEP_KEYS = {"create": {"create", "as", "with", "refused"}, "update": {"update", "with", "refused"},
             "tick": {"tick"}, "expect": {"expect"}}
MAP_ITEMS = {"with": "field: value", "values": "field: value", "expect": "what is expected ({record: NAME, …})"}
MAX_TICK = 3650     # as `sos sandbox tick --days` takes
TODAY = re.compile(r"today([+-]\d+)?")
FIELD_NAMED = re.compile(r"field '([^']+)'")     # how the sandbox names the field a save's problem is with
EXPECT_KEYS = {"record", "owner", "route", "turn", "values", "task", "tasks", "due_in_days", "due_in_hours",
               "priority", "notification", "to"}


@dataclass(frozen=True, slots=True)
class Step:
    kind: str
    span: Span
    data: Mapping[str, Any]
    fields: Mapping[str, tuple[Span, Span]] = field(default_factory=dict)  # each `with:` key: its span, its value's


@dataclass(frozen=True, slots=True)
class ProcessTest:
    name: str
    description: str
    span: Span
    steps: tuple[Step, ...]


@dataclass(slots=True)
class Outcome:
    test: ProcessTest
    failures: list[Diagnostic] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.failures


class Sandbox(Protocol):
    """What a test runs on: a sandbox with the blueprint applied (sos.backends.local.LocalBackend)."""

    def create_record(self, obj: str, values: Mapping[str, object], *, who: str = ...,
                      now: datetime.datetime | None = ...) -> int: ...

    def update_record(self, obj: str, record_id: int, values: Mapping[str, object], *, who: str = ...,
                      now: datetime.datetime | None = ...) -> None: ...

    def stored_row(self, obj: str, record_id: int) -> dict[str, Any] | None: ...

    def field_history(self, obj: str, record_id: int) -> list[tuple[Any, ...]]: ...

    def work(self, obj: str, record_id: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]: ...

    def tick(self, days: int) -> tuple[datetime.date, int]: ...

    def round_robin(self, route: str) -> tuple[str, ...]: ...


def load_tests(path: Path) -> list[ProcessTest]:
    """The tests in one file; SosError with every problem in it, each at its line."""
    shown = display_path(path)
    root = load_file(path, shown)
    problems: list[Diagnostic] = []
    tests_node = root.get("tests") if root.is_map else None
    if root.get("sos") is None or tests_node is None or not tests_node.is_map:
        raise SosError(Diagnostic(root.span, "a process test file needs `sos: 1` and a map of `tests:`",
                                  "test-file", fix="see `sos test --help` for the layout"))
    found = []
    for name, node in tests_node.items():
        steps_node = node.get("steps")
        if steps_node is None or not steps_node.is_list or not steps_node.value:
            problems.append(Diagnostic(tests_node.key_span(name), f"test '{name}' has no `steps:` list",
                                       "test-file"))
            continue
        steps = []
        for item in steps_node.value:
            step = _step(item, problems)
            if step is not None:
                steps.append(step)
        about = node.get("description")
        found.append(ProcessTest(name, str(about.value) if about is not None else "", tests_node.key_span(name),
                                 tuple(steps)))
    if problems:
        raise SosError(problems)
    return found


def _step(item: Node, problems: list[Diagnostic]) -> Step | None:
    kinds = [k for k in STEP_KINDS if item.get(k) is not None] if item.is_map else []
    if len(kinds) != 1:
        problems.append(Diagnostic(item.span, "a step is one of create, update, tick or expect", "test-file",
                                   fix="start the step with `- create: lead`, `- update: NAME`, `- tick: DAYS` "
                                       "or `- expect: {...}`"))
        return None
    kind = kinds[0]
    unknown = [key for key, _ in item.items() if key not in STEP_KEYS[kind]]
    for key in unknown:
        problems.append(Diagnostic(item.key_span(key), f"a {kind} step has no `{key}`", "test-file",
                                   fix=did_you_mean(key, STEP_KEYS[kind]) or f"it takes {', '.join(STEP_KEYS[kind])}"))
    data = item.to_data()
    for key in ("with", "expect"):
        _must_be_map(item.get(key), key, problems)
    if kind == "tick" and not _whole_number(item["tick"], least=1, most=MAX_TICK):
        problems.append(Diagnostic(item["tick"].span, f"`tick` must be a whole number of days from 1 to {MAX_TICK}",
                                   "test-file"))
    if kind == "expect" and item["expect"].is_map:
        _check_expectation(item["expect"], problems)
    values = item.get("with")
    fields = {key: (values.key_span(key), value.span) for key, value in values.items()} \
        if values is not None and values.is_map else {}
    return None if unknown else Step(kind, item.span, data, fields)


def _check_expectation(expected: Node, problems: list[Diagnostic]) -> None:
    for key, value in expected.items():
        if key not in EXPECT_KEYS:
            problems.append(Diagnostic(expected.key_span(key), f"an expectation has no `{key}`", "test-file",
                                       fix=did_you_mean(key, EXPECT_KEYS) or ", ".join(sorted(EXPECT_KEYS))))
        elif key == "values":
            _must_be_map(value, key, problems)
        elif key in ("due_in_days", "due_in_hours", "tasks") and not _whole_number(value, least=0 if key == "tasks"
                                                                                  else None):
            problems.append(Diagnostic(value.span, f"`{key}` must be a whole number", "test-file"))
        elif key == "turn" and not _whole_number(value, least=1):
            problems.append(Diagnostic(value.span, "`turn` must be a whole number from 1 (the round robin's first "
                                                   "user)", "test-file"))


def _must_be_map(node: Node | None, key: str, problems: list[Diagnostic]) -> None:
    if node is not None and not node.is_map:
        problems.append(Diagnostic(node.span, f"`{key}` must be a map of {MAP_ITEMS[key]}", "test-file"))


def _whole_number(node: Node, least: int | None = None, most: int | None = None) -> bool:
    value = node.value
    return (isinstance(value, int) and not isinstance(value, bool)
            and (least is None or value >= least) and (most is None or value <= most))


def run_test(test: ProcessTest, sandbox: Sandbox, now: datetime.datetime) -> Outcome:
    """Run `test`'s steps on `sandbox` (the blueprint applied, no records), the clock at `now`."""
    outcome = Outcome(test)
    named: dict[str, tuple[str, int]] = {}
    for step in test.steps:
        try:
            _run_step(step, sandbox, named, now, outcome.failures.append)
        except SosError as error:    # a value the record cannot hold, an unknown field: the test is wrong
            outcome.failures += [_located(problem, step) for problem in error.diagnostics]
        if outcome.failures:
            break
        if step.kind == "tick":
            now += datetime.timedelta(days=int(step.data["tick"]))
    return outcome


def _located(problem: Diagnostic, step: Step) -> Diagnostic:
    """A save's problem with one of the step's fields, at that field in the test file: an unknown field at its key,
    a value the field cannot hold at the value; any other at the step."""
    named = FIELD_NAMED.search(problem.message)
    key, value = step.fields.get(named.group(1), (step.span, step.span)) if named else (step.span, step.span)
    return Diagnostic(key if "has no field" in problem.message else value, problem.message, "test-failed",
                      fix=problem.fix)


def _dated(values: Mapping[str, Any], today: datetime.date) -> dict[str, Any]:
    """`values` with `today`, `today+N` and `today-N` as the dates they name."""
    def value(raw: Any) -> Any:
        found = TODAY.fullmatch(raw) if isinstance(raw, str) else None
        return raw if found is None else (today + datetime.timedelta(days=int(found.group(1) or 0))).isoformat()
    return {key: value(raw) for key, raw in values.items()}


def _run_step(step: Step, sandbox: Sandbox, named: dict[str, tuple[str, int]], now: datetime.datetime,
              fail: Callable[[Diagnostic], None]) -> None:
    data = step.data
    if step.kind == "tick":
        sandbox.tick(int(data["tick"]))
        return
    if step.kind == "expect":
        _check(step, dict(data["expect"]), sandbox, named, now, fail)
        return
    if step.kind == "create":
        obj = str(data["create"])
        save: Callable[[], object] = lambda: named.__setitem__(  # noqa: E731 - the save to try, refused or not
            str(data.get("as") or f"{obj}{len(named) + 1}"),
            (obj, sandbox.create_record(obj, _dated(data.get("with") or {}, now.date()), who="sos test", now=now)))
    else:
        target = named.get(str(data["update"]))
        if target is None:
            fail(Diagnostic(step.span, f"no record is named '{data['update']}' before this step", "test-failed",
                            fix=did_you_mean(str(data["update"]), named) or "name it with `as:` when you create it"))
            return
        save = lambda: sandbox.update_record(target[0], target[1],  # noqa: E731
                                             _dated(data.get("with") or {}, now.date()), who="sos test", now=now)
    expected = data.get("refused")
    try:
        save()
    except SosError as error:
        said = "; ".join(d.message for d in error.diagnostics)
        if error.diagnostics[0].code != "record-refused":
            raise
        if expected is None:
            fail(Diagnostic(step.span, f"the save was refused: {said}", "test-failed"))
        elif str(expected) not in said:
            fail(Diagnostic(step.span, f"the save was refused, but not with {expected!r}: {said}", "test-failed"))
        return
    if expected is not None:
        fail(Diagnostic(step.span, f"the save was not refused (expected a refusal with {expected!r})", "test-failed"))


def _check(step: Step, want: dict[str, Any], sandbox: Sandbox, named: dict[str, tuple[str, int]],
           now: datetime.datetime, fail: Callable[[Diagnostic], None]) -> None:
    name = want.get("record")
    record = named.get(str(name)) if name is not None else (next(reversed(named.values())) if named else None)
    if record is None:
        fail(Diagnostic(step.span, f"no record is named '{name}' before this step" if name else
                        "no record was created before this expectation", "test-failed"))
        return
    obj, record_id = record
    row = sandbox.stored_row(obj, record_id) or {}
    problems = []
    if "owner" in want and row.get("owner") != want["owner"]:
        problems.append(f"owner is {row.get('owner')!r}, not {want['owner']!r}")
    problems += _value_problems(obj, _dated(want.get("values") or {}, now.date()), row)
    routes = [str(who) for _, _, _, who, _ in sandbox.field_history(obj, record_id) if str(who).startswith("route.")]
    if "route" in want and [r.split(".")[-1] for r in routes] != [str(want["route"])]:
        matched = ", ".join(r.split(".")[-1] for r in routes) or "none"
        problems.append(f"route {want['route']!r} did not match (matched: {matched})")
    if "turn" in want:
        problems += _turn_problems(int(want["turn"]), routes, row.get("owner"), sandbox)
    tasks, notifications = sandbox.work(obj, record_id)
    if "task" in want:
        problems += _task_problems(want, tasks, now)
    if "tasks" in want and len(tasks) != int(want["tasks"]):
        subjects = ", ".join(repr(t["subject"]) for t in tasks)
        problems.append(f"{len(tasks)} task{'' if len(tasks) == 1 else 's'}{f' ({subjects})' if tasks else ''}, "
                        f"not {want['tasks']}")
    if "notification" in want:
        problems += _notification_problems(want, notifications)
    for problem in problems:
        fail(Diagnostic(step.span, problem, "test-failed"))


def _turn_problems(turn: int, routes: Sequence[str], owner: object, sandbox: Sandbox) -> list[str]:
    """Whether the record went to the user whose `turn` it was in the round robin of the route that assigned it
    (turns wrap round: in a round robin of two, turn 3 is the first user's again)."""
    if not routes:
        return [f"no route assigned it, so it had no turn {turn}"]
    users = sandbox.round_robin(routes[0])
    if not users:
        return [f"route {routes[0].split('.')[-1]!r} is not a round robin, so it had no turn {turn}"]
    due = users[(turn - 1) % len(users)]
    if owner == due:
        return []
    return [f"owner is {owner!r}, not {due!r} (turn {turn} of route {routes[0].split('.')[-1]!r}: {', '.join(users)})"]


def _value_problems(obj: str, values: Mapping[str, Any], row: Mapping[str, Any]) -> list[str]:
    return [f"the {obj} has no field '{key}'" if key not in row else f"{key} is {row[key]!r}, not {value!r}"
            for key, value in values.items() if key not in row or row[key] != value]


def _notification_problems(want: Mapping[str, Any], notifications: Sequence[Mapping[str, Any]]) -> list[str]:
    sent = [n for n in notifications if str(want["notification"]) in n["message"]
            and ("to" not in want or n["recipient"] == want["to"])]
    if sent:
        return []
    return [f"no notification {want['notification']!r}" + (f" to {want['to']}" if "to" in want else "")
            + f" (sent: {[n['message'] for n in notifications] or 'none'})"]


def _task_problems(want: Mapping[str, Any], tasks: Sequence[Mapping[str, Any]], now: datetime.datetime) -> list[str]:
    subject = str(want["task"])
    matching = [t for t in tasks if t["subject"] == subject]
    if not matching:
        return [f"no task {subject!r} (tasks: {[t['subject'] for t in tasks] or 'none'})"]
    task, problems = matching[0], []
    if "due_in_days" in want:
        due = (now.date() + datetime.timedelta(days=int(want["due_in_days"]))).isoformat()
        if task["due_date"] != due:
            problems.append(f"task {subject!r} is due {task['due_date']}, not {due}")
    if "due_in_hours" in want:
        due = (now + datetime.timedelta(hours=int(want["due_in_hours"]))).isoformat(timespec="minutes") + "Z"
        if task["due_date"] != due:
            problems.append(f"task {subject!r} is due {task['due_date']}, not {due}")
    for key in ("owner", "priority"):
        if key in want and task[key] != want[key]:
            problems.append(f"task {subject!r} has {key} {task[key]!r}, not {want[key]!r}")
    return problems


def junit_xml(outcomes: Sequence[tuple[str, Outcome]]) -> str:
    """The outcomes as JUnit XML (one testsuite per file), for CI."""
    from xml.etree import ElementTree as ET

    suites = ET.Element("testsuites")
    by_file: dict[str, list[Outcome]] = {}
    for file, outcome in outcomes:
        by_file.setdefault(file, []).append(outcome)
    for file, found in by_file.items():
        suite = ET.SubElement(suites, "testsuite", name=file, tests=str(len(found)),
                              failures=str(sum(not o.passed for o in found)))
        for outcome in found:
            case = ET.SubElement(suite, "testcase", name=outcome.test.name, classname=file)
            for failure in outcome.failures:
                ET.SubElement(case, "failure", message=failure.message).text = f"{failure.span}: {failure.message}"
    return ET.tostring(suites, encoding="unicode") + "\n"
