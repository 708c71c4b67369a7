"""The records side of a Salesforce org (backends.base.Records): how many records break each check, by owner and
stage, and the worst offenders, for `sos audit` and a plan's impact counts.

The org counts wherever SOQL can say a check (expr/dialects/soql.py): one GROUP BY query per check gives the counts
by owner and stage (the total is their sum), and with `top` one ORDER BY ... LIMIT query the worst offenders. The
queries travel as subrequests of Composite calls, which take at most 5 query subrequests each ("You can have up to
25 subrequests in a single call. Up to 5 of these subrequests can be query operations": REST API Developer Guide,
"Composite", api_rest/resources_composite_composite.htm), so the counts of N checks take ceil(N / 5) calls, and
the worst offenders as many more, however many records the org holds.

A check SOQL cannot say (two fields compared, days_since(), len(), arithmetic), one whose text comparison SOQL
would make without regard to case, and one whose groups pass what one GROUP BY answer holds (2,000 rows: SOQL and
SOSL Reference, "Considerations When Using GROUP BY", no queryMore()), is evaluated here by
sos.expr.dialects.evaluate on the object's records, fetched once per object with only the fields those checks
read. A COUNT() query says how many records that is. Up to BULK_THRESHOLD they are read 2,000 a page (a REST
query and its nextRecordsUrl pages, one call each); past it by one Bulk API 2.0 query job (create it, poll it until
JobComplete, then read its results as CSV, a set as large as Salesforce lists at a time: Bulk API 2.0 Developer
Guide, "Query Jobs" walkthrough and "Get Results for a Query Job"), a handful of calls however many records there
are. The threshold is where the job's fixed cost (its calls, and the wait before the second status check: a job
is rarely done at once) is repaid by the pages it saves; bench/audit_salesforce.py measures it (docs/salesforce.md).
"""

from __future__ import annotations

import datetime
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sos.backends.base import Offender, Tally
from sos.backends.salesforce.client import SalesforceClient, plural
from sos.backends.salesforce.names import OBJECTS
from sos.errors import SosError
from sos.expr.ast import Compare, In, Literal, Name, walk
from sos.expr.dialects.base import Naming
from sos.expr.dialects.evaluate import evaluate
from sos.expr.dialects.sf_formula import DAYS_IN_STAGE, STAGE_ENTERED, username_reference
from sos.expr.dialects.soql import Soql
from sos.expr.types import Kind, Scope
from sos.model.checks import Check, reads_a_save

COMPOSITE_QUERIES = 5    # query subrequests one Composite call may hold (module docstring)
GROUP_ROWS = 2000        # rows one GROUP BY answer may hold (module docstring)
BULK_THRESHOLD = 8000    # more records than this are read by a Bulk API query job (measured: module docstring)
STATE_FIELD = {"opportunity": "stage", "lead": "status"}   # what an audit groups records by, besides the owner
NO_OWNER = "(none)"      # the owner key of records whose owner has no username (a lead owned by a queue)
SAVE_ONLY = ("it reads a save in progress (is_new(), is_changed(), prior()), which stored records cannot answer")


@dataclass
class _Plan:
    """How one check is counted: its WHERE clause for the org, or None to evaluate it here."""

    check: Check
    naming: Naming
    where: str | None
    rows: list[dict[str, Any]] = field(default_factory=list)     # the GROUP BY answer
    worst: list[dict[str, Any]] = field(default_factory=list)    # the ORDER BY ... LIMIT answer
    unsupported: str | None = None


class RecordCounter:
    """One tally: the checks, the names they are read through, the clock and how many offenders to list."""

    def __init__(self, client: SalesforceClient, namings: Mapping[str, Naming], *, top: int,
                 today: datetime.date, bulk_threshold: int = BULK_THRESHOLD) -> None:
        self.client = client
        self.namings = namings
        self.top = top
        self.today = today
        self.bulk_threshold = bulk_threshold

    def tally(self, checks: Sequence[Check]) -> list[Tally]:
        plans = [self._plan(check) for check in checks]
        self._run_queries([p for p in plans if p.where is not None and p.unsupported is None])
        for plan in plans:   # too many groups for one answer: counted here instead
            if plan.where is not None and len(plan.rows) >= GROUP_ROWS:
                plan.where = None
        self._evaluate([p for p in plans if p.where is None and p.unsupported is None])
        return [self._result(p) for p in plans]

    # -- planning ----------------------------------------------------------------------------------------------

    def _plan(self, check: Check) -> _Plan:
        naming = self.namings[check.object]
        if reads_a_save(check):
            return _Plan(check, naming, None, unsupported=SAVE_ONLY)
        if _compares_cased_text(check, naming):
            return _Plan(check, naming, None)
        try:
            where = Soql(check.breaks.scope, naming, today=self.today).generate(check.breaks)
        except SosError:
            return _Plan(check, naming, None)
        return _Plan(check, naming, where)

    def _run_queries(self, plans: Sequence[_Plan]) -> None:
        queries: list[tuple[_Plan, str, str]] = []
        for plan in plans:
            queries.append((plan, "rows", self._group_query(plan)))
            if self.top:
                queries.append((plan, "worst", self._worst_query(plan)))
        for start in range(0, len(queries), COMPOSITE_QUERIES):
            chunk = queries[start:start + COMPOSITE_QUERIES]
            answers = self.client.composite_queries([soql for _, _, soql in chunk])
            for (plan, slot, _), answer in zip(chunk, answers, strict=True):
                if isinstance(answer, str):
                    plan.unsupported = f"Salesforce refused the query: {answer}"
                else:
                    setattr(plan, slot, answer)

    def _group_query(self, plan: _Plan) -> str:
        listed = ", ".join(filter(None, (self._owner(plan), self._state(plan))))
        return (f"SELECT {listed}, COUNT(Id) n FROM {OBJECTS[plan.check.object]} WHERE {plan.where} "
                f"GROUP BY {listed} LIMIT {GROUP_ROWS}")

    def _worst_query(self, plan: _Plan) -> str:
        amount = self._amount(plan)
        order = f"{amount} DESC NULLS LAST, Name, Id" if amount else "Name, Id"
        return (f"SELECT {', '.join(self._offender_fields(plan))} FROM {OBJECTS[plan.check.object]} "
                f"WHERE {plan.where} ORDER BY {order} LIMIT {self.top}")

    # -- what an offender shows -----------------------------------------------------------------------------------

    def _owner(self, plan: _Plan) -> str:
        return username_reference(plan.check.object, plan.naming.fields["owner"], formula=False)

    def _state(self, plan: _Plan) -> str | None:
        key = STATE_FIELD.get(plan.check.object)
        return plan.naming.fields[key] if key else None

    def _amount(self, plan: _Plan) -> str | None:
        return plan.naming.fields.get("amount")

    def _offender_fields(self, plan: _Plan) -> list[str]:
        return ["Id", "Name", self._owner(plan), *filter(None, (self._state(plan), self._amount(plan)))]

    def _offender(self, plan: _Plan, row: Mapping[str, Any]) -> Offender:
        state, amount = self._state(plan), self._amount(plan)
        return Offender(str(row["Id"]), str(row.get("Name") or ""), _path(row, self._owner(plan)),
                        self._state_key(plan, row.get(state)) if state else None,
                        float(row[amount]) if amount and row.get(amount) is not None else None,
                        f"{self.client.instance_url}/lightning/r/{OBJECTS[plan.check.object]}/{row['Id']}/view")

    def _state_key(self, plan: _Plan, value: object) -> str | None:
        if value is None:
            return None
        values = plan.naming.stage_values if plan.check.object == "opportunity" else plan.naming.status_values
        found = {stored.lower(): key for key, stored in values.items()}
        return found.get(str(value).lower(), str(value))

    # -- counted here --------------------------------------------------------------------------------------------

    def _evaluate(self, plans: Sequence[_Plan]) -> None:
        by_object: dict[str, list[_Plan]] = {}
        for plan in plans:
            by_object.setdefault(plan.check.object, []).append(plan)
        for obj, group in by_object.items():
            scope, naming = group[0].check.breaks.scope, group[0].naming
            wanted = {n.name for p in group for n in walk(p.check.breaks.expr) if isinstance(n, Name)}
            wanted |= {STATE_FIELD.get(obj, ""), "owner", "name", "amount"}   # what an offender shows
            reads = sorted(key for key in wanted if key in scope.fields)
            columns = dict.fromkeys(["Id", "Name", *_columns(reads, scope, naming)])
            soql = f"SELECT {', '.join(columns)} FROM {OBJECTS[obj]}"
            matched: dict[int, list[dict[str, Any]]] = {id(p): [] for p in group}
            for row in self._rows(obj, soql, reads, scope, naming):
                record = _record(row, reads, scope, naming, self.today)
                for plan in group:
                    if evaluate(plan.check.breaks.expr, record, scope, today=self.today) is True:
                        matched[id(plan)].append(row)
            for plan in group:
                rows = matched[id(plan)]
                plan.rows = _grouped(rows, self._owner(plan), self._state(plan))
                plan.worst = sorted(rows, key=self._worst_first(plan))[:self.top]

    def _rows(self, obj: str, soql: str, reads: Sequence[str], scope: Scope,
              naming: Naming) -> Iterator[dict[str, Any]]:
        for row in fetch(self.client, OBJECTS[obj], soql, bulk_threshold=self.bulk_threshold):
            yield _typed(row, reads, scope, naming)

    def _worst_first(self, plan: _Plan) -> Any:
        amount = self._amount(plan)

        def key(row: Mapping[str, Any]) -> tuple[bool, float, str, str]:
            value = row.get(amount) if amount else None
            return value is None, -(value or 0), str(row.get("Name") or ""), str(row["Id"])

        return key

    # -- the answer ----------------------------------------------------------------------------------------------

    def _result(self, plan: _Plan) -> Tally:
        if plan.unsupported is not None:
            return Tally(0, unsupported=plan.unsupported)
        by_owner: Counter[str] = Counter()
        by_state: Counter[str] = Counter()
        state = self._state(plan)
        for row in plan.rows:
            count = int(row["n"])
            by_owner[str(row.get("Username") or NO_OWNER)] += count
            if state:
                by_state[str(self._state_key(plan, row.get(state)))] += count
        return Tally(sum(by_owner.values()), dict(by_owner), dict(by_state),
                     tuple(self._offender(plan, row) for row in plan.worst[:self.top]))


def fetch(client: SalesforceClient, soql_object: str, soql: str, *,
          bulk_threshold: int = BULK_THRESHOLD) -> Iterator[dict[str, Any]]:
    """The records `soql` reads from `soql_object`: by a Bulk API query job when the object holds more than
    `bulk_threshold` records (every value then text, as the CSV has it), else page by page."""
    count = client.count(soql_object)
    if count <= bulk_threshold:
        for page in client.query_pages(soql):
            yield from page
        return
    for page in client.bulk_query(soql, what=plural(count, f"{soql_object} record")):
        yield from page


def _compares_cased_text(check: Check, naming: Naming) -> bool:
    """Whether SOQL would compare text of `check` without regard to case where sos minds it: a text field (not a
    picklist, whose values are the org's own) against a value with letters."""
    scope = check.breaks.scope
    for node in walk(check.breaks.expr):
        if isinstance(node, Compare):
            sides = [(node.left, node.right), (node.right, node.left)]
        elif isinstance(node, In):
            sides = [(node.operand, item) for item in node.options.items]
        else:
            continue
        for side, other in sides:
            if (isinstance(side, Name) and isinstance(other, Literal) and isinstance(other.value, str)
                    and other.value.lower() != other.value.upper() and _is_free_text(side.name, scope, naming)):
                return True
    return False


def _is_free_text(key: str, scope: Scope, naming: Naming) -> bool:
    found = scope.fields.get(key)
    return (found is not None and found.kind in (Kind.TEXT, Kind.USER) and key not in naming.text_values
            and naming.fields.get(key) not in naming.picklists)


def _columns(reads: Iterable[str], scope: Scope, naming: Naming) -> list[str]:
    """The SOQL columns holding the fields `reads` (days_in_stage: the moments it is counted from)."""
    columns: list[str] = []
    for key in reads:
        if key == DAYS_IN_STAGE and key not in naming.fields:
            columns += STAGE_ENTERED
        elif scope.fields[key].kind is Kind.USER:
            columns.append(username_reference(scope.object, naming.fields[key], formula=False))
        else:
            columns.append(naming.fields[key])
    return list(dict.fromkeys(columns))


def _typed(row: dict[str, Any], reads: Iterable[str], scope: Scope, naming: Naming) -> dict[str, Any]:
    """A Bulk API row, all text, with the numbers and checkboxes of `reads` typed as a REST query's answer has them."""
    for key in reads:
        column = naming.fields.get(key, "")
        value = row.get(column)
        if isinstance(value, str) and scope.fields[key].kind is Kind.NUMBER:
            row[column] = float(value)
        elif isinstance(value, str) and scope.fields[key].kind is Kind.BOOLEAN:
            row[column] = value == "true"
    return row


def _record(row: Mapping[str, Any], reads: Iterable[str], scope: Scope, naming: Naming,
            today: datetime.date) -> dict[str, object]:
    """One fetched row as the evaluator takes a record: field keys, sos's values (stage keys, usernames)."""
    record: dict[str, object] = {}
    stages = {v.lower(): k for k, v in naming.stage_values.items()}
    statuses = {v.lower(): k for k, v in naming.status_values.items()}
    for key in reads:
        if key == DAYS_IN_STAGE and key not in naming.fields:
            entered = row.get(STAGE_ENTERED[0]) or row.get(STAGE_ENTERED[1])
            record[key] = (today - _moment(str(entered)).date()).days if entered else None
            continue
        kind = scope.fields[key].kind
        value = (_path(row, username_reference(scope.object, naming.fields[key], formula=False))
                 if kind is Kind.USER else row.get(naming.fields[key]))
        if value is None:
            record[key] = None
        elif kind is Kind.STAGE:
            record[key] = stages.get(str(value).lower(), value)
        elif kind is Kind.LEAD_STATUS:
            record[key] = statuses.get(str(value).lower(), value)
        elif kind is Kind.MULTI_PICKLIST:
            record[key] = str(value).split(";")
        elif kind is Kind.DATETIME:
            record[key] = _moment(str(value))
        elif key in naming.text_values:
            record[key] = {v: k for k, v in naming.text_values[key].items()}.get(str(value), value)
        else:
            record[key] = value
    return record


def _moment(text: str) -> datetime.datetime:
    """A date and time as the REST API writes it (`2024-06-01T00:00:00.000+0000`), naive UTC."""
    moment = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment.astimezone(datetime.UTC).replace(tzinfo=None) if moment.tzinfo else moment


def _path(row: Mapping[str, Any], path: str) -> str | None:
    """A relationship column of a query answer (`Owner.Username` is row["Owner"]["Username"])."""
    current: Any = row
    for step in path.split("."):
        current = current.get(step) if isinstance(current, Mapping) else None
    return None if current is None else str(current)


def _grouped(rows: Sequence[Mapping[str, Any]], owner: str, state: str | None) -> list[dict[str, Any]]:
    """Rows counted by owner and state, in the shape of the GROUP BY answer."""
    counts = Counter((_path(row, owner), row.get(state) if state else None) for row in rows)
    return [{"Username": who, **({state: value} if state else {}), "n": n} for (who, value), n in counts.items()]
