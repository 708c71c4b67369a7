"""A client of a starter with its own people, and an org that has them: the users and queues its routes name.

A starter's people are `vars:` at example.com, which `sos apply` to a CRM refuses; `staffed_text` gives every
email var an address at the client's domain, and `staff` adds each user and queue the routes assign to."""

from __future__ import annotations

from pathlib import Path

import yaml

from sos.engine import desired_model
from sos.errors import SosError
from sos.model.automation import CreateTask, Notify, Queue, RoundRobin, User, assignment_of, automation_of
from sos.model.resources import Kind, Model
from sos.project import Project
from tests.emulators.salesforce import SalesforceEmulator

REPO = Path(__file__).resolve().parents[3]
DOMAIN = "northwind-traders.com"


def staffed_text(case: str) -> str:
    """A client blueprint extending starter `case`, its email vars set to people at the client's domain."""
    starter = yaml.safe_load((REPO / "blueprints" / f"{case}.yaml").read_text(encoding="utf-8"))
    people: dict[str, object] = {}
    for name, spec in (starter.get("vars") or {}).items():
        if spec.get("type") == "email":
            people[name] = f"{name}@{DOMAIN}"
        elif spec.get("type") == "emails":
            people[name] = [f"{name}{n}@{DOMAIN}" for n in range(1, len(spec.get("default") or [1, 2]) + 1)]
    return yaml.safe_dump({"sos": 1, "name": "client", "extends": [f"starter:{case}"], "vars": people},
                          sort_keys=False)


def staff(emulator: SalesforceEmulator, project: Project) -> dict[str, str]:
    """Add to the org every user (username = email) and queue the project's routes and cadences name; their ids by
    name."""
    try:
        model = desired_model(project, locked=False, record=False)
    except SosError:
        return {}       # a blueprint a test means to be refused
    return staff_model(emulator, model)


def staff_model(emulator: SalesforceEmulator, model: Model) -> dict[str, str]:
    """Add to the org every user (username = email) and queue the model's routes and cadences name; their ids by
    name."""
    ids: dict[str, str] = {}
    cadences = [automation_of(c).action for c in model.of_kind(Kind.AUTOMATION)]
    assignees = [assignment_of(r).assignee for r in model.of_kind(Kind.ASSIGNMENT)] + [
        a.to if isinstance(a, Notify) else a.assign_to for a in cadences if isinstance(a, (Notify, CreateTask))]
    for assignee in assignees:
        names: list[str] = []
        queues: list[str] = []
        match assignee:
            case User(email=email):
                names = [email]
            case Queue(key=key):
                queues = [key]
            case RoundRobin(users=users):
                names = list(users)
        for name in names:
            ids.setdefault(name, emulator.org.add_user(name, last_name=name.split("@")[0]))
        for key in queues:
            ids.setdefault(key, emulator.org.add_queue(key, key.replace("_", " ").title()))
    return ids
