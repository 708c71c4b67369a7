"""The SOQL subset the backend and its tests need, parsed and run over lists of dicts.

    SELECT a, b.c, COUNT(), COUNT(Id) n, SUM(Amount) FROM Obj
    [WHERE cond (AND|OR|NOT, = != <> < <= > >=, IN (...), NOT IN, LIKE, INCLUDES (...), EXCLUDES (...);
     dates and date literals)]
    [GROUP BY a, b] [ORDER BY a [ASC|DESC] [NULLS FIRST|LAST], ...] [LIMIT n] [OFFSET n]

Field names are case-insensitive and come back spelled as the object defines them;
string comparisons are case-insensitive, as in Salesforce.

Date literals (TODAY, LAST_N_DAYS:30, THIS_MONTH …) are ranges of days relative to the
running user's day, and a date and time falls on its day in the user's time zone (the REST API
passes the emulator clock in the user's UTC offset: the reference counts a literal's range for
"the user submitting the query", and a public answer, tyoshikawa1.rssing.com "日時型をSOQLクエリで",
finds `CreatedDate = TODAY` follows the running user's time zone, as TODAY() does in formulas),
as "Date Formats and Date Literals in WHERE" (SOQL and SOSL Reference) defines them: `=` is within
the range, `<` before its first day, `>` after its last, `<=` and `>=` up to its end and from its
start. The locale is en_US (weeks start on Sunday); fiscal literals are refused as outside the
emulator's subset.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from collections.abc import Callable, Mapping
from datetime import date, datetime, timedelta, tzinfo, UTC

TOKEN = re.compile(r"""
    (?P<space>\s+)
  | (?P<string>'(?:[^'\\]|\\.)*')
  | (?P<date>\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2}))?)
  | (?P<number>-?\d+(?:\.\d+)?)
  | (?P<nliteral>[A-Za-z_]+:\d+)
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)
  | (?P<op><>|!=|<=|>=|=|<|>|\(|\)|,)
""", re.VERBOSE)
MOMENT = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})")
AGGREGATES = {"COUNT", "COUNT_DISTINCT", "SUM", "AVG", "MIN", "MAX"}
CLAUSE_WORDS = {"FROM", "WHERE", "GROUP", "ORDER", "LIMIT", "OFFSET", "AND", "OR", "NOT", "IN", "LIKE",
                "ASC", "DESC", "NULLS", "FIRST", "LAST", "BY", "WITH", "HAVING", "FOR", "USING"}


class SoqlError(Exception):
    """A query Salesforce would refuse: `code` is MALFORMED_QUERY, INVALID_FIELD or INVALID_TYPE."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True, slots=True)
class Tok:
    kind: str
    value: str
    column: int


@dataclass
class Item:
    """A SELECT item: a field path, or an aggregate over one (field None for COUNT())."""

    field: str | None
    aggregate: str | None = None
    alias: str | None = None
    column: int = 0


@dataclass(frozen=True, slots=True)
class Compare:
    field: str
    operator: str          # = != <> < <= > >=
    value: object


@dataclass(frozen=True, slots=True)
class In:
    field: str
    values: tuple[object, ...]
    negated: bool


@dataclass(frozen=True, slots=True)
class Like:
    field: str
    pattern: str


@dataclass(frozen=True, slots=True)
class Includes:
    """`Field INCLUDES ('a', 'b;c')` on a multi-select picklist: any listed entry matches, and an entry
    `'b;c'` needs both b and c (SOQL and SOSL Reference, "Querying Multi-Select Picklists");
    EXCLUDES when `negated`."""

    field: str
    values: tuple[str, ...]
    negated: bool


@dataclass(frozen=True, slots=True)
class And:
    left: Condition
    right: Condition


@dataclass(frozen=True, slots=True)
class Or:
    left: Condition
    right: Condition


@dataclass(frozen=True, slots=True)
class Not:
    inner: Condition


Condition = Compare | In | Like | Includes | And | Or | Not


@dataclass(frozen=True, slots=True)
class DateLiteral:
    """A relative range of days: `TODAY`, `LAST_N_DAYS:30` (n None for the fixed ones)."""

    name: str
    n: int | None = None

    def days(self, today: date) -> tuple[date, date]:
        """The first and last day of the range (both included)."""
        n = self.n or 0
        week = today - timedelta(days=(today.weekday() + 1) % 7)           # Sunday
        month = today.replace(day=1)
        quarter = date(today.year, 3 * ((today.month - 1) // 3) + 1, 1)
        ranges: dict[str, Callable[[], tuple[date, date]]] = {
            "YESTERDAY": lambda: (today - timedelta(1), today - timedelta(1)),
            "TODAY": lambda: (today, today),
            "TOMORROW": lambda: (today + timedelta(1), today + timedelta(1)),
            "LAST_WEEK": lambda: (week - timedelta(7), week - timedelta(1)),
            "THIS_WEEK": lambda: (week, week + timedelta(6)),
            "NEXT_WEEK": lambda: (week + timedelta(7), week + timedelta(13)),
            "LAST_MONTH": lambda: (_months(month, -1), month - timedelta(1)),
            "THIS_MONTH": lambda: (month, _months(month, 1) - timedelta(1)),
            "NEXT_MONTH": lambda: (_months(month, 1), _months(month, 2) - timedelta(1)),
            "LAST_90_DAYS": lambda: (today - timedelta(90), today),
            "NEXT_90_DAYS": lambda: (today + timedelta(1), today + timedelta(90)),
            "LAST_QUARTER": lambda: (_months(quarter, -3), quarter - timedelta(1)),
            "THIS_QUARTER": lambda: (quarter, _months(quarter, 3) - timedelta(1)),
            "NEXT_QUARTER": lambda: (_months(quarter, 3), _months(quarter, 6) - timedelta(1)),
            "LAST_YEAR": lambda: (date(today.year - 1, 1, 1), date(today.year - 1, 12, 31)),
            "THIS_YEAR": lambda: (date(today.year, 1, 1), date(today.year, 12, 31)),
            "NEXT_YEAR": lambda: (date(today.year + 1, 1, 1), date(today.year + 1, 12, 31)),
            "LAST_N_DAYS": lambda: (today - timedelta(n), today),                  # today included
            "NEXT_N_DAYS": lambda: (today + timedelta(1), today + timedelta(n)),   # today not included
            "N_DAYS_AGO": lambda: (today - timedelta(n), today - timedelta(n)),
            "LAST_N_WEEKS": lambda: (week - timedelta(7 * n), week - timedelta(1)),
            "NEXT_N_WEEKS": lambda: (week + timedelta(7), week + timedelta(7 * n + 6)),
            "LAST_N_MONTHS": lambda: (_months(month, -n), month - timedelta(1)),
            "NEXT_N_MONTHS": lambda: (_months(month, 1), _months(month, n + 1) - timedelta(1)),
        }
        return ranges[self.name]()


FIXED_LITERALS = {"YESTERDAY", "TODAY", "TOMORROW", "LAST_WEEK", "THIS_WEEK", "NEXT_WEEK", "LAST_MONTH",
                  "THIS_MONTH", "NEXT_MONTH", "LAST_90_DAYS", "NEXT_90_DAYS", "LAST_QUARTER", "THIS_QUARTER",
                  "NEXT_QUARTER", "LAST_YEAR", "THIS_YEAR", "NEXT_YEAR"}
N_LITERALS = {"LAST_N_DAYS", "NEXT_N_DAYS", "N_DAYS_AGO", "LAST_N_WEEKS", "NEXT_N_WEEKS", "LAST_N_MONTHS",
              "NEXT_N_MONTHS"}


def _months(first: date, count: int) -> date:
    """The first day of the month `count` months from the month starting on `first`."""
    index = first.year * 12 + first.month - 1 + count
    return date(index // 12, index % 12 + 1, 1)


@dataclass
class Query:
    items: list[Item]
    object: str
    where: Condition | None = None
    group_by: list[str] = field(default_factory=list)
    order_by: list[tuple[str, bool, bool]] = field(default_factory=list)   # (field, descending, nulls_last)
    limit: int | None = None
    offset: int = 0
    text: str = ""

    @property
    def count_only(self) -> bool:
        return len(self.items) == 1 and self.items[0].aggregate == "COUNT" and self.items[0].field is None

    @property
    def aggregated(self) -> bool:
        return any(item.aggregate for item in self.items) or bool(self.group_by)


def tokenize(text: str) -> list[Tok]:
    tokens, position = [], 0
    while position < len(text):
        match = TOKEN.match(text, position)
        if match is None:
            raise SoqlError("MALFORMED_QUERY", _pointer(text, position, f"unexpected token: '{text[position]}'"))
        if match.lastgroup != "space":
            tokens.append(Tok(match.lastgroup or "", match.group(), position))
        position = match.end()
    return tokens


def parse(text: str) -> Query:
    """Parse a query; SoqlError(MALFORMED_QUERY) if it is outside the subset or malformed."""
    return _Parser(text).query()


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = tokenize(text)
        self.index = 0

    def peek(self, offset: int = 0) -> Tok | None:
        position = self.index + offset
        return self.tokens[position] if position < len(self.tokens) else None

    def word(self, *words: str) -> bool:
        token = self.peek()
        return token is not None and token.kind == "name" and token.value.upper() in words

    def take(self) -> Tok:
        token = self.peek()
        if token is None:
            raise SoqlError("MALFORMED_QUERY", _pointer(self.text, len(self.text), "unexpected end of query"))
        self.index += 1
        return token

    def comma(self) -> bool:
        """Consume a comma if one is next."""
        token = self.peek()
        if token is not None and token.value == ",":
            self.index += 1
            return True
        return False

    def expect(self, value: str) -> Tok:
        token = self.take()
        if token.value.upper() != value:
            raise SoqlError("MALFORMED_QUERY",
                            _pointer(self.text, token.column, f"unexpected token: '{token.value}'"))
        return token

    def query(self) -> Query:
        self.expect("SELECT")
        items = [self.item()]
        while self.comma():
            items.append(self.item())
        self.expect("FROM")
        obj = self.take()
        query = Query(items, obj.value, text=self.text)
        if self.word("WHERE"):
            self.take()
            query.where = self.condition()
        if self.word("GROUP"):
            self.take()
            self.expect("BY")
            query.group_by.append(self.take().value)
            while self.comma():
                query.group_by.append(self.take().value)
        if self.word("ORDER"):
            self.take()
            self.expect("BY")
            query.order_by.append(self.order_item())
            while self.comma():
                query.order_by.append(self.order_item())
        if self.word("LIMIT"):
            self.take()
            query.limit = int(self.take().value)
        if self.word("OFFSET"):
            self.take()
            query.offset = int(self.take().value)
        leftover = self.peek()
        if leftover is not None:
            raise SoqlError("MALFORMED_QUERY", _pointer(self.text, leftover.column,
                                                        f"unexpected token: '{leftover.value}'"))
        return query

    def item(self) -> Item:
        token = self.take()
        if token.kind != "name":
            raise SoqlError("MALFORMED_QUERY", _pointer(self.text, token.column, f"unexpected token: '{token.value}'"))
        item = Item(token.value, column=token.column)
        following = self.peek()
        if token.value.upper() in AGGREGATES and following is not None and following.value == "(":
            self.take()
            inner = self.take()
            item = Item(None if inner.value == ")" else inner.value, token.value.upper(), column=inner.column)
            if inner.value != ")":
                self.expect(")")
            elif item.aggregate != "COUNT":
                raise SoqlError("MALFORMED_QUERY", _pointer(self.text, inner.column, f"{token.value}() needs a field"))
        alias = self.peek()
        if alias is not None and alias.kind == "name" and alias.value.upper() not in CLAUSE_WORDS:
            if item.aggregate is None:
                raise SoqlError("MALFORMED_QUERY", _pointer(self.text, alias.column,
                                                            f"unexpected token: '{alias.value}'"))
            item.alias = self.take().value
        return item

    def order_item(self) -> tuple[str, bool, bool]:
        name = self.take().value
        descending = False
        if self.word("ASC", "DESC"):
            descending = self.take().value.upper() == "DESC"
        nulls_last = descending
        if self.word("NULLS"):
            self.take()
            nulls_last = self.take().value.upper() == "LAST"
        return name, descending, nulls_last

    def condition(self) -> Condition:
        """Terms joined by AND or by OR: mixing them needs parentheses in SOQL (`a AND b OR c` is refused
        with "unexpected token: 'OR'")."""
        left = self.negation()
        joiner = None
        while self.word("AND", "OR"):
            token = self.take()
            word = token.value.upper()
            if joiner not in (None, word):
                raise SoqlError("MALFORMED_QUERY", _pointer(self.text, token.column,
                                                            f"unexpected token: '{token.value}'"))
            joiner = word
            right = self.negation()
            left = And(left, right) if word == "AND" else Or(left, right)
        return left

    def negation(self) -> Condition:
        if self.word("NOT"):
            self.take()
            return Not(self.negation())
        token = self.peek()
        if token is not None and token.value == "(":
            self.take()
            inner = self.condition()
            self.expect(")")
            return inner
        return self.comparison()

    def comparison(self) -> Condition:
        name = self.take()
        if name.kind != "name":
            raise SoqlError("MALFORMED_QUERY", _pointer(self.text, name.column, f"unexpected token: '{name.value}'"))
        negate = False
        if self.word("NOT"):
            self.take()
            negate = True
        if self.word("IN"):
            self.take()
            self.expect("(")
            values = [self.value()]
            while self.comma():
                values.append(self.value())
            self.expect(")")
            return In(name.value, tuple(values), negate)
        if not negate and self.word("INCLUDES", "EXCLUDES"):
            negated = self.take().value.upper() == "EXCLUDES"
            self.expect("(")
            entries = [str(self.value())]
            while self.comma():
                entries.append(str(self.value()))
            self.expect(")")
            return Includes(name.value, tuple(entries), negated)
        if self.word("LIKE"):
            self.take()
            return Like(name.value, str(self.value()))
        operator = self.take()
        if operator.value not in ("=", "!=", "<>", "<", "<=", ">", ">="):
            raise SoqlError("MALFORMED_QUERY", _pointer(self.text, operator.column,
                                                        f"unexpected token: '{operator.value}'"))
        return Compare(name.value, operator.value, self.value())

    def value(self) -> object:
        token = self.take()
        if token.kind == "string":
            return re.sub(r"\\(.)", r"\1", token.value[1:-1])
        if token.kind == "number":
            return float(token.value) if "." in token.value else int(token.value)
        if token.kind == "date":
            return token.value
        if token.kind == "name" and token.value.lower() in ("true", "false"):
            return token.value.lower() == "true"
        if token.kind == "name" and token.value.lower() == "null":
            return None
        if token.kind == "name" and token.value.upper() in FIXED_LITERALS:
            return DateLiteral(token.value.upper())
        if token.kind == "nliteral" and token.value.split(":")[0].upper() in N_LITERALS:
            name, count = token.value.split(":")
            return DateLiteral(name.upper(), int(count))
        raise SoqlError("MALFORMED_QUERY", _pointer(self.text, token.column,
                                                    f"unsupported value in the emulator's SOQL: '{token.value}'"))


def _pointer(text: str, column: int, message: str) -> str:
    return f"\n{text}\n{' ' * column}^\nERROR at Row:1:Column:{column + 1}\n{message}"


# -- running --------------------------------------------------------------------------

Getter = Callable[[Mapping[str, object], str], object]


def run(query: Query, rows: list[dict[str, object]], get: Getter, now: datetime) -> list[dict[str, object]]:
    """Filter, group, order and slice `rows` (date literals counted from the day of `now`, the running user's
    clock in their UTC offset); returns result rows keyed by output names."""
    matching = [row for row in rows if query.where is None or _test(query.where, row, get, now)]
    if query.count_only:          # SELECT COUNT(): the rows themselves, counted by the caller
        end = None if query.limit is None else query.offset + query.limit
        return matching[query.offset:end]
    result = _aggregate(query, matching, get) if query.aggregated else matching
    for name, descending, nulls_last in reversed(query.order_by):
        present = [r for r in result if _order_value(r, name, get, query) is not None]
        absent = [r for r in result if _order_value(r, name, get, query) is None]
        present.sort(key=lambda r: _sortable(_order_value(r, name, get, query)), reverse=descending)
        result = present + absent if nulls_last else absent + present
    end = None if query.limit is None else query.offset + query.limit
    return result[query.offset:end]


def _order_value(row: Mapping[str, object], name: str, get: Getter, query: Query) -> object:
    if query.aggregated:
        for key, value in row.items():
            if key.lower() == name.lower():
                return value
        return None
    return get(row, name)


def _sortable(value: object) -> tuple[int, object]:
    if isinstance(value, bool):
        return (0, int(value))
    if isinstance(value, (int, float)):
        return (0, value)
    return (1, str(value).lower())


def _test(node: Condition, row: Mapping[str, object], get: Getter, now: datetime) -> bool:
    if isinstance(node, And):
        return _test(node.left, row, get, now) and _test(node.right, row, get, now)
    if isinstance(node, Or):
        return _test(node.left, row, get, now) or _test(node.right, row, get, now)
    if isinstance(node, Not):
        return not _test(node.inner, row, get, now)
    actual = get(row, node.field)
    if isinstance(node, In):
        return any(_equal(actual, v) for v in node.values) != node.negated
    if isinstance(node, Includes):
        chosen = {v.lower() for v in str(actual).split(";")} if actual else set()
        found = any({part.lower() for part in entry.split(";")} <= chosen for entry in node.values)
        return found != node.negated
    if isinstance(node, Like):
        pattern = "^" + re.escape(node.pattern).replace("%", ".*").replace("_", ".") + "$"
        return actual is not None and re.match(pattern, str(actual), re.IGNORECASE | re.DOTALL) is not None
    return _compare(actual, node, now)


def _compare(actual: object, node: Compare, now: datetime) -> bool:
    if isinstance(node.value, DateLiteral):
        return _in_range(actual, node.operator, node.value.days(now.date()), now.tzinfo)
    if node.operator == "=":
        return _equal(actual, node.value)
    if node.operator in ("!=", "<>"):
        return not _equal(actual, node.value)
    if actual is None or node.value is None:
        return False
    left, right = _sortable(actual), _sortable(node.value)
    if _is_moment(node.value):   # a date and time literal: compared as the moment, whatever the stored spelling
        left, right = (0, _moment(str(actual))), (0, _moment(str(node.value)))
    return {"<": left < right, "<=": left <= right, ">": left > right, ">=": left >= right}[node.operator]


def _in_range(actual: object, operator: str, days: tuple[date, date], zone: tzinfo | None) -> bool:
    """A date, or a date and time (its day in the running user's `zone`), against a date literal's range of days."""
    if actual is None:
        return operator in ("!=", "<>")
    text, (first, last) = str(actual), days
    if len(text) == 10:
        day = date.fromisoformat(text)
    else:
        moment = datetime.fromisoformat(text)
        day = (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(zone).date()
    within = first <= day <= last
    return {"=": within, "!=": not within, "<>": not within, "<": day < first, "<=": day <= last,
            ">": day > last, ">=": day >= first}[operator]


def field_names(node: Condition | None) -> list[str]:
    """Every field a WHERE clause names."""
    if node is None:
        return []
    if isinstance(node, (And, Or)):
        return field_names(node.left) + field_names(node.right)
    if isinstance(node, Not):
        return field_names(node.inner)
    return [node.field]


def _is_moment(value: object) -> bool:
    return isinstance(value, str) and MOMENT.fullmatch(value) is not None


def _moment(text: str) -> datetime:
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _equal(actual: object, expected: object) -> bool:
    if actual is None or expected is None:
        return actual is None and expected is None
    if isinstance(expected, str) and _is_moment(expected) and isinstance(actual, str):
        return _moment(actual) == _moment(expected)
    if isinstance(expected, str) and isinstance(actual, str):
        return actual.lower() == expected.lower()
    if isinstance(expected, bool) or isinstance(actual, bool):
        return bool(actual) == bool(expected) and isinstance(actual, bool) == isinstance(expected, bool)
    return actual == expected


def _aggregate(query: Query, rows: list[dict[str, object]], get: Getter) -> list[dict[str, object]]:
    groups: dict[tuple[object, ...], list[dict[str, object]]] = {}
    for row in rows:
        key = tuple(_group_key(get(row, name)) for name in query.group_by)
        groups.setdefault(key, []).append(row)
    if not query.group_by and not groups:
        groups[()] = []
    result = []
    for members in groups.values():
        out: dict[str, object] = {}
        expr = 0
        for item in query.items:
            if item.aggregate is None and item.field is not None:
                out[item.field.rsplit(".", 1)[-1]] = get(members[0], item.field) if members else None
                continue
            name = item.alias or f"expr{expr}"
            expr += item.alias is None
            values = [get(r, item.field) for r in members] if item.field else [1] * len(members)
            aggregate = _AGGREGATES.get(item.aggregate or "")
            if aggregate is not None:
                out[name] = aggregate([v for v in values if v is not None])
        result.append(out)
    return result


# Each aggregate function over the group's non-null values.
_AGGREGATES: dict[str, Callable[[list[object]], object]] = {
    "COUNT": len,
    "COUNT_DISTINCT": lambda present: len({_group_key(v) for v in present}),
    "SUM": lambda present: sum(_numbers(present)) if present else None,
    "AVG": lambda present: sum(_numbers(present)) / len(present) if present else None,
    "MIN": lambda present: min(present, key=_sortable) if present else None,
    "MAX": lambda present: max(present, key=_sortable) if present else None,
}


def _numbers(values: list[object]) -> list[float]:
    return [v for v in values if isinstance(v, (int, float)) and not isinstance(v, bool)]


def _group_key(value: object) -> object:
    return value.lower() if isinstance(value, str) else value
