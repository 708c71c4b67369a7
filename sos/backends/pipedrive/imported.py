"""What `sos import` reads from a Pipedrive account beyond what sos manages: the account's own pipelines, stages
and custom fields, each with a blueprint key made from its name."""

from __future__ import annotations

import re
from typing import Any

from sos.backends.pipedrive.lower import BLUEPRINT_TYPES, ENTITIES, marked
from sos.backends.pipedrive.read import Account, Reading, add, field_attrs, stage_attrs
from sos.model.resources import Address, Kind


def key_of(name: str, taken: set[str]) -> str:
    """A blueprint key for a Pipedrive name (`Contact Made` → `contact_made`), unlike any in `taken`."""
    base = "_".join(re.findall(r"[a-z0-9]+", name.lower())) or "item"
    base = base if base[0].isalpha() else f"x_{base}"
    key, number = base, 2
    while key in taken:
        key, number = f"{base}_{number}", number + 1
    taken.add(key)
    return key


def account_rest(account: Account, reading: Reading, left_out: list[str]) -> None:
    """What `sos import` adds to the managed resources: every other pipeline (with Pipedrive's won and lost as its
    closed stages), stage and custom field, as look-alikes sos did not create; what a blueprint cannot say goes in
    `left_out`, a sentence each."""
    held = set(account.registry.pipelines.values())
    taken = {r.address.key for r in reading.model.of_kind(Kind.PIPELINE)}
    for found in account.pipelines.values():
        if found["id"] not in held:
            _pipeline(account, found, key_of(found["name"], taken), reading)
    for entity, found_fields in account.fields.items():
        obj = next(o for o, e in ENTITIES.items() if e == entity and o != "lead")
        taken = {r.address.key for r in reading.model.of_kind(Kind.FIELD) if r.address.scope == obj}
        for found in found_fields:
            if marked(str(found.get("description") or ""))[1] is not None:
                continue
            if found["field_type"] in BLUEPRINT_TYPES:
                add(reading, Address(Kind.FIELD, obj, key_of(found["field_name"], taken)), field_attrs(found), None,
                    managed=False)
            else:
                left_out.append(f"the {entity} field {found['field_name']!r}: its Pipedrive type "
                                f"{found['field_type']} has no blueprint type")
    ours = set(account.registry.lead_labels.values())
    own = [label["name"] for label_id, label in (account.lead_labels or {}).items() if label_id not in ours]
    if own:
        left_out.append(f"the lead labels {', '.join(own)}: a blueprint's lead statuses start and convert leads, "
                        "which labels do not")


def _pipeline(account: Account, found: dict[str, Any], key: str, reading: Reading) -> None:
    ours = set(account.registry.stages.values())
    stage_keys: set[str] = {"won", "lost"}
    stages = []
    for stage_id in account.stage_order(found["id"]):
        if stage_id not in ours:
            stage = key_of(account.stages[stage_id]["name"], stage_keys)
            stages.append(stage)
            add(reading, Address(Kind.STAGE, key, stage), stage_attrs(account.stages[stage_id]), None, managed=False)
    for outcome, probability in (("won", 100), ("lost", 0)):
        add(reading, Address(Kind.STAGE, key, outcome),
            {"label": outcome.capitalize(), "probability": probability, "outcome": outcome}, None, managed=False)
    add(reading, Address(Kind.PIPELINE, "opportunity", key),
        {"label": found["name"], "stages": [*stages, "won", "lost"]}, None, managed=False)
