"""Components on their way in (`Candidate`), what is wrong with them (`Problem`), and API-name rules."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from lxml import etree

from . import standard
from .org import canonical_object
from .schema import MD_NS

DEVELOPER_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")


@dataclass
class Problem:
    """One reason a component cannot be saved (or a warning about it)."""

    message: str
    status_code: str = "FIELD_INTEGRITY_EXCEPTION"
    line: int | None = None
    column: int | None = None
    warning: bool = False


@dataclass
class Candidate:
    """A component on its way in: from a deploy file or a CRUD call."""

    type: str
    full_name: str
    body: etree._Element
    file_name: str = ""
    line: int | None = None
    problems: list[Problem] = field(default_factory=list)


def too_long(body: etree._Element, limits: dict[str, int]) -> list[Problem]:
    """A Problem for each text child of `body` longer than its limit (reference, facts table 7: 255 for the
    descriptions of business processes, record types and stage and status values; 1,000 for a field's)."""
    problems = []
    for attribute, limit in limits.items():
        value = body.findtext(f"{{{MD_NS}}}{attribute}")
        if value is not None and len(value) > limit:
            problems.append(Problem(f"'{attribute}' is too long: at most {limit} characters (got {len(value)})",
                                    "STRING_TOO_LONG", body.sourceline))
    return problems


def developer_name_problem(name: str, what: str, max_length: int = 40) -> str | None:
    """Salesforce's rule for API names of rules, record types, permission sets, flows."""
    if (not DEVELOPER_NAME.match(name) or "__" in name or name.endswith("_")):
        return (f"The {what} can only contain underscores and alphanumeric characters. It must be unique, begin "
                "with a letter, not include spaces, not end with an underscore, and not contain two consecutive "
                f"underscores. ('{name}')")
    if len(name) > max_length:
        return f"The {what} '{name}' is too long: at most {max_length} characters."
    return None


def custom_field_name_problem(name: str) -> str | None:
    """Custom field API names: a developer name of at most 40 characters, then __c (reference §10)."""
    if not name.endswith("__c"):
        return (f"Invalid custom field name '{name}': custom field API names end in __c "
                "(a name without __c must be a standard field of the object)")
    return developer_name_problem(name[:-3], "Field Name")


def split_child(candidate: Candidate) -> tuple[str | None, str, list[Problem]]:
    """`Opportunity.X__c` → (object, X__c) with problems if the object is not one we hold."""
    if "." not in candidate.full_name:
        return None, candidate.full_name, [Problem(
            f"Invalid fullName '{candidate.full_name}' for {candidate.type}: expected Object.Name")]
    obj_name, name = candidate.full_name.split(".", 1)
    obj = canonical_object(obj_name)
    if obj is None or not standard.OBJECTS[obj].deployable:
        if obj_name.endswith("__c"):
            return None, name, [Problem(f"Not supported by the emulator: custom object {obj_name}",
                                        "INVALID_CROSS_REFERENCE_KEY")]
        return None, name, [Problem(f"Cannot find object {obj_name}", "INVALID_CROSS_REFERENCE_KEY")]
    candidate.full_name = f"{obj}.{name}"
    return obj, name, []
