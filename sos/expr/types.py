"""What an expression may read (Scope) and the types its values have (ExprType)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Literal
from collections.abc import Iterable, Mapping


class Kind(str, Enum):
    TEXT = "text"
    NUMBER = "number"
    DATE = "date"
    DATETIME = "datetime"
    BOOLEAN = "boolean"
    PICKLIST = "picklist"
    MULTI_PICKLIST = "multi_picklist"
    STAGE = "stage"
    LEAD_STATUS = "lead_status"
    USER = "user"
    REFERENCE = "reference"
    NULL = "null"
    LIST = "list"


_DESCRIPTIONS = {
    Kind.TEXT: "text",
    Kind.NUMBER: "a number",
    Kind.DATE: "a date",
    Kind.DATETIME: "a date and time",
    Kind.BOOLEAN: "a true/false value",
    Kind.PICKLIST: "a picklist value",
    Kind.MULTI_PICKLIST: "a multi-select picklist",
    Kind.STAGE: "a stage",
    Kind.LEAD_STATUS: "a lead status",
    Kind.USER: "a user",
    Kind.REFERENCE: "a reference",
    Kind.NULL: "null",
    Kind.LIST: "a list",
}


def describe_kind(kind: Kind) -> str:
    """How messages name a kind: 'a number', 'text', 'a true/false value'."""
    return _DESCRIPTIONS[kind]


@dataclass(frozen=True, slots=True)
class ExprType:
    """The type of a field or a sub-expression."""

    kind: Kind
    values: tuple[str, ...] = ()  # PICKLIST and MULTI_PICKLIST: the allowed values, in order
    to: str = ""  # REFERENCE: the object it points to
    percent: bool = False  # NUMBER: a percent field, whose value is the number people type (25 for 25 %)

    def describe(self) -> str:
        """How messages name this type: 'a number', 'a reference to account'."""
        if self.kind is Kind.REFERENCE and self.to:
            return f"a reference to {self.to}"
        return describe_kind(self.kind)


TEXT = ExprType(Kind.TEXT)
NUMBER = ExprType(Kind.NUMBER)
PERCENT = ExprType(Kind.NUMBER, percent=True)
DATE = ExprType(Kind.DATE)
DATETIME = ExprType(Kind.DATETIME)
BOOLEAN = ExprType(Kind.BOOLEAN)
STAGE = ExprType(Kind.STAGE)
LEAD_STATUS = ExprType(Kind.LEAD_STATUS)
USER = ExprType(Kind.USER)
NULL = ExprType(Kind.NULL)
LIST = ExprType(Kind.LIST)


def picklist(values: Iterable[str]) -> ExprType:
    return ExprType(Kind.PICKLIST, tuple(values))


def multi_picklist(values: Iterable[str]) -> ExprType:
    return ExprType(Kind.MULTI_PICKLIST, tuple(values))


def reference(to: str) -> ExprType:
    return ExprType(Kind.REFERENCE, to=to)


_SIMPLE_FIELD_TYPES = {
    "text": TEXT,
    "long_text": TEXT,
    "email": TEXT,
    "phone": TEXT,
    "url": TEXT,
    "number": NUMBER,
    "currency": NUMBER,
    "percent": PERCENT,
    "checkbox": BOOLEAN,
    "date": DATE,
    "datetime": DATETIME,
    "stage": STAGE,
    "lead_status": LEAD_STATUS,
    "user": USER,
}


def type_for_field(field_type: str, *, values: Iterable[str] = (), to: str = "") -> ExprType:
    """The expression type of a blueprint field type (or a standard pseudo-type: stage, lead_status, user).

    `values` matters for picklist and multi_picklist, `to` for lookup. Raises ValueError
    for a type the schema does not allow (a caller's bug, not a user's).
    """
    if field_type == "picklist":
        return picklist(values)
    if field_type == "multi_picklist":
        return multi_picklist(values)
    if field_type == "lookup":
        return reference(to)
    if field_type not in _SIMPLE_FIELD_TYPES:
        raise ValueError(f"unknown field type {field_type!r}")
    return _SIMPLE_FIELD_TYPES[field_type]


# The stage outcomes each stage attribute is true for.
STAGE_OUTCOMES = {"is_open": ("open",), "is_won": ("won",), "is_lost": ("lost",), "is_closed": ("won", "lost")}

# The field that says where a record is in its process: a rule enforced on_stage_change bites when it changes.
STAGE_FIELDS = {"opportunity": "stage", "lead": "status"}

# notes/spec.md, "Standard fields per object", as written there; every standard lookup points at account.
STANDARD_FIELD_TYPES: dict[str, dict[str, str]] = {
    "opportunity": {
        "name": "text",
        "amount": "currency",
        "close_date": "date",
        "stage": "stage",
        "owner": "user",
        "created_date": "datetime",
        "next_step": "text",
        "probability": "percent",
        "forecast_category": "text",     # pipeline, best_case, commit, closed or omitted
        "days_in_stage": "number",       # whole days since the deal entered its current stage
        "last_activity_date": "date",    # the last task or event logged on the deal
        "lead_source": "text",
        "account": "lookup",
        "description": "long_text",
        "type": "text",
    },
    "lead": {
        "first_name": "text",
        "last_name": "text",
        "name": "text",
        "company": "text",
        "email": "email",
        "phone": "phone",
        "title": "text",
        "status": "lead_status",
        "last_activity_date": "date",
        "lead_source": "text",
        "industry": "text",
        "country": "text",
        "state": "text",
        "city": "text",
        "employees": "number",
        "annual_revenue": "currency",
        "website": "url",
        "owner": "user",
        "created_date": "datetime",
        "description": "long_text",
    },
    "account": {
        "name": "text",
        "industry": "text",
        "employees": "number",
        "annual_revenue": "currency",
        "country": "text",
        "state": "text",
        "type": "text",
        "website": "url",
        "owner": "user",
        "created_date": "datetime",
        "description": "long_text",
    },
    "contact": {
        "first_name": "text",
        "last_name": "text",
        "name": "text",
        "email": "email",
        "phone": "phone",
        "title": "text",
        "account": "lookup",
        "lead_source": "text",
        "owner": "user",
        "created_date": "datetime",
        "description": "long_text",
    },
}

STANDARD_FIELDS: dict[str, dict[str, ExprType]] = {
    obj: {key: type_for_field(field_type, to="account") for key, field_type in fields.items()}
    for obj, fields in STANDARD_FIELD_TYPES.items()
}


@dataclass(frozen=True, slots=True)
class StageInfo:
    key: str
    outcome: Literal["open", "won", "lost"] = "open"


@dataclass(frozen=True, slots=True)
class StatusInfo:
    key: str
    converted: bool = False


@dataclass(frozen=True, slots=True)
class Scope:
    """What an expression on `object` may read: every field (standard ones included) by key,
    the stages in pipeline order (opportunity) and the lead statuses (lead)."""

    object: str
    fields: Mapping[str, ExprType]
    stages: tuple[StageInfo, ...] = ()
    statuses: tuple[StatusInfo, ...] = ()


def scope_for(
    object: str,
    custom_fields: Mapping[str, ExprType],
    *,
    stages: Iterable[StageInfo] = (),
    statuses: Iterable[StatusInfo] = (),
) -> Scope:
    """A Scope holding `object`'s standard fields plus `custom_fields` (which win on a clash)."""
    fields = {**STANDARD_FIELDS[object], **custom_fields}
    return Scope(object, fields, tuple(stages), tuple(statuses))
