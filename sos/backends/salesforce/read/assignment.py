"""The Lead assignment rules as one retrieve shows them, and the org's users and queues routes name.

sos owns one rule, Sos_Lead_Routing (its name is its mark: AssignmentRule has no description). Each entry's
formula starts with a comment naming its route and keeping the route's blueprint text (marks.formula_comment), so
the routes come back from it; a round robin is one entry per member. Every other Lead rule is the org's own: sos
only notes whether one is active (Salesforce keeps one Lead rule active at a time)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, NamedTuple
from xml.etree import ElementTree as ET

from sos.backends.salesforce.marks import ROUND_ROBIN_MARK, formula_comment_texts
from sos.backends.salesforce.mdxml import child_flag, child_text, local_name
from sos.model.resources import Address, Kind

if TYPE_CHECKING:
    from sos.backends.salesforce.read.reader import Reader

RULE_NAME = "Sos_Lead_Routing"
RULE_FILE = "assignmentRules/Lead.assignmentRules"
NUMBER_FIELD = "Sos_Lead_Number__c"     # the auto-number a round robin counts leads with
_TURN_FIELD = re.compile(r"Sos_Round_Robin_([0-9]+)__c")
_ROUTE = re.compile(r"\A/\* sos: route ([a-z0-9_]+)\.([a-z0-9_]+)")


def turn_field(size: int) -> str:
    """The formula field that says whose turn a lead is in a round robin of `size` members (1 to size)."""
    return f"Sos_Round_Robin_{size}__c"


@dataclass(frozen=True, slots=True)
class Entry:
    """One rule entry as sos writes it (and compares it): who gets the lead, and the formula it matches."""

    assigned_to: str
    assigned_to_type: str      # User | Queue
    formula: str


class OrgUser(NamedTuple):
    username: str
    active: bool
    id: str


class OrgQueue(NamedTuple):
    developer_name: str
    id: str


@dataclass
class Directory:
    """The org's users (by username and by email, lower-case) and queues (by DeveloperName and by Name)."""

    users: dict[str, OrgUser] = field(default_factory=dict)
    queues: dict[str, OrgQueue] = field(default_factory=dict)

    @classmethod
    def of(cls, users: list[dict[str, object]], queues: list[dict[str, object]]) -> Directory:
        directory = cls()
        for user in users:
            found = OrgUser(str(user["Username"]), bool(user["IsActive"]), str(user["Id"]))
            for name in ("Email", "Username"):      # a username wins over another user's email
                if user.get(name):
                    directory.users[str(user[name]).lower()] = found
        for queue in queues:
            found_queue = OrgQueue(str(queue["DeveloperName"]), str(queue["Id"]))
            directory.queues[queue_key(str(queue["Name"]))] = found_queue
            directory.queues[str(queue["DeveloperName"]).lower()] = found_queue
        return directory


def queue_key(name: str) -> str:
    """A queue's name as a blueprint key: `Enterprise AE` → `enterprise_ae`."""
    return "_".join(re.findall(r"[a-z0-9]+", name.lower()))


@dataclass
class Routing:
    """The Lead assignment rules as read: sos's rule (active, its entries), the org's own active rules, the
    round-robin fields' formulas (display format for the auto-number), the users and queues routes name, and whether
    the target lets sos's rule take the place of the org's active one (both set by the backend, not the retrieve)."""

    active: bool = False
    entries: list[Entry] = field(default_factory=list)
    others_active: list[str] = field(default_factory=list)
    fields: dict[str, str] = field(default_factory=dict)
    directory: Directory | None = None
    take_over: bool = False


def assignment_rules(r: Reader, root: ET.Element) -> None:
    """Read `assignmentRules/Lead.assignmentRules`: sos's rule becomes the routes its entries name."""
    for rule in (e for e in root if local_name(e.tag) == "assignmentRule"):
        name, active = child_text(rule, "fullName") or "", child_flag(rule, "active")
        if name.lower() != RULE_NAME.lower():
            if active:
                r.routing.others_active.append(name)
            continue
        r.routing.active = active
        for entry in (e for e in rule if local_name(e.tag) == "ruleEntry"):
            formula = child_text(entry, "formula") or ""
            r.routing.entries.append(Entry(child_text(entry, "assignedTo") or "",
                                           child_text(entry, "assignedToType") or "", formula))
            _route(r, formula)


def _route(r: Reader, formula: str) -> None:
    named, texts = _ROUTE.match(formula), formula_comment_texts(formula)
    if named is None or "assign" not in texts:
        return      # an entry added in Salesforce: the drift check says the rule was edited
    address = Address(Kind.ASSIGNMENT, named[1], named[2])
    if address in r.model:
        return      # the next member of a round robin
    position = len(r.model.of_kind(Kind.ASSIGNMENT))
    r.add(address, {"assign_to": json.loads(texts["assign"]), "position": position, "when": texts.get("when"),
                    "description": texts.get("description")}, f"Lead.{RULE_NAME}")


def round_robin_field(r: Reader, obj: str, name: str, element: ET.Element) -> bool:
    """Keep a round-robin field sos made (marked derived) for the drift check; False for any other field."""
    if obj != "lead" or not (name == NUMBER_FIELD or _TURN_FIELD.fullmatch(name)):
        return False
    if ROUND_ROBIN_MARK not in (child_text(element, "description") or ""):
        return False
    r.routing.fields[name] = child_text(element, "formula") or child_text(element, "displayFormat") or ""
    return True
