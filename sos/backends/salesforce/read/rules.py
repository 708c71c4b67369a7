"""ValidationRule → RULE or STAGE_REQUIREMENT, by the mark sos gave it; the attributes come back from the comment
at the top of its formula (marks.formula_comment), since formulas are not parsed back."""

from __future__ import annotations

from typing import Any
from xml.etree import ElementTree as ET

from sos.backends.salesforce.marks import formula_comment_texts, split_description
from sos.backends.salesforce.mdxml import child_flag, child_text
from sos.backends.salesforce.names import OBJECTS, validation_rule_name
from sos.backends.salesforce.read.reader import Reader
from sos.errors import SosError
from sos.model.exprs import requirement_from_rule
from sos.model.resources import Address, Kind
from sos.naming import REQUIREMENT_RULE_SUFFIX


def validation_rule(r: Reader, obj: str, name: str, element: ET.Element) -> None:
    human, entries, _ = split_description(child_text(element, "description"))
    formula = child_text(element, "errorConditionFormula") or ""
    texts = formula_comment_texts(formula)
    message, description = child_text(element, "errorMessage"), texts.get("description", human)
    full = f"{OBJECTS[obj]}.{name}"
    entry = next((requirement_of(a) for a, _ in entries or [] if a.kind in (Kind.RULE, Kind.STAGE_REQUIREMENT)
                  and (a.scope == obj or a.kind is Kind.STAGE_REQUIREMENT)), None)
    if entry is not None:
        attrs = _rule_attrs(entry, texts, message, description)
        r.add(entry, attrs, full)
        if child_flag(element, "active") != (attrs["enforce"] == "audit"):   # in the state sos deploys it in
            r.formulas[full] = formula
        return
    for kind in (Kind.RULE, Kind.STAGE_REQUIREMENT):
        address = r.look_alike(kind, obj, name, lambda resource: validation_rule_name(resource.address))
        if address is not None and address not in r.model:
            r.add(address, _rule_attrs(address, texts, message, human), full, managed=False)
            return


def requirement_of(address: Address) -> Address:
    """A stage requirement's address: earlier versions of sos marked the rules made from stages' `require` as rules
    keyed `<pipeline>__<stage>__required` (their names are the same, so a plan updates them in place)."""
    if address.kind is Kind.RULE and address.key.endswith(REQUIREMENT_RULE_SUFFIX):
        pipeline, _, stage = address.key.removesuffix(REQUIREMENT_RULE_SUFFIX).partition("__")
        return Address(Kind.STAGE_REQUIREMENT, pipeline, stage)
    return address

def _rule_attrs(address: Address, texts: dict[str, str], message: str | None, description: str) -> dict[str, Any]:
    """The attributes the formula's comment keeps; a rule an earlier sos wrote has no `enforce`: it bit on every
    save."""
    enforce = texts.get("enforce", "always")
    if address.kind is Kind.STAGE_REQUIREMENT and "fields" not in texts and texts.get("require"):
        try:        # a rule an earlier sos made: its comment holds the `when`/`require` text it was made from
            fields, stages = requirement_from_rule(texts.get("when", ""), texts["require"])
        except SosError:
            fields, stages = [], []     # edited past reading: the plan shows an update that rewrites it
        return {"fields": fields, "stages": stages, "message": message, "enforce": enforce}
    if address.kind is Kind.STAGE_REQUIREMENT:
        return {"fields": texts.get("fields", "").split(), "stages": texts.get("stages", "").split(),
                "message": message, "enforce": enforce}
    return {"when": texts.get("when"), "require": texts.get("require"), "message": message, "enforce": enforce,
            "description": description}
