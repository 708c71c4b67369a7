"""RULE and STAGE_REQUIREMENT → ValidationRule, in the object file of the object the rule (or the requirement's
pipeline) is on: the error condition is the rule's typed expressions in Salesforce's formula dialect.

`enforce` decides when it bites: `always` is the condition itself; `on_stage_change` guards it with
`OR(ISNEW(), ISCHANGED(StageName))` (Status for leads; reference §9, "Changes"); `audit` deploys the rule inactive,
so it never blocks a save yet stays in the org, readable and exact for the next plan, and one switch from blocking."""

from __future__ import annotations

from sos.backends.salesforce.lower.context import Build, Part, same_formula
from sos.backends.salesforce.marks import formula_comment, ownership_mark, with_mark
from sos.backends.salesforce.names import OBJECTS, describe, validation_rule_name
from sos.backends.salesforce.package import Component
from sos.backends.salesforce.standard_fields import expression_naming
from sos.errors import Diagnostic, Severity, SosError, Span
from sos.model.exprs import enforced_when, exprs_of, pipeline_object
from sos.model.resources import Address, Kind, Resource

RULE_KINDS = (Kind.RULE, Kind.STAGE_REQUIREMENT)    # each becomes a validation rule
# Limits (reference §5, §9, §10); breaking one is reported, never silently truncated.
RULE_DESCRIPTION_LIMIT = 255
FORMULA_LIMIT = 3900


def write(b: Build) -> list[Part]:
    parts = []
    for resource in to_write(b):
        obj = OBJECTS[rule_object(b, resource.address)]
        made = rule(b, resource)
        parts.append((obj, "rules", made, Component("ValidationRule", f"{obj}.{made['name']}", resource.address)))
    return parts


def delete(b: Build, address: Address) -> list[Component]:
    name = b.live.names.get(address) if b.live is not None else None
    return [Component("ValidationRule", name or f"{OBJECTS[rule_object(b, address)]}.{validation_rule_name(address)}",
                      address, deleted=True)]


def drift(b: Build, found: dict[Address, list[str]]) -> None:
    """Managed rules whose formula in the org is not the one sos deploys: edited, or switched off (an audit-only
    rule: switched on)."""
    assert b.live is not None
    for resource in to_write(b):
        name = b.live.names.get(resource.address, "")
        switched = name not in b.live.formulas      # formulas holds the rules in the state sos deploys them in
        audit = enforcement(resource) == "audit"
        found.setdefault(resource.address, []).append(
            "formula edited in Salesforce" if not switched else
            "audit-only rule switched on in Salesforce" if audit else "rule switched off in Salesforce")


def to_write(b: Build) -> list[Resource]:
    """Changed rules and stage requirements, and managed ones whose generated formula drifted from the org's."""
    chosen = [b.resource(a) for a in sorted(b.writes) if a.kind in RULE_KINDS]
    if b.live is not None:
        for resource in (r for kind in RULE_KINDS for r in b.desired.of_kind(kind)):
            if resource.address in b.writes or not b.managed_live(resource.address):
                continue
            name = f"{OBJECTS[rule_object(b, resource.address)]}.{rule_name(b, resource.address)}"
            if not same_formula(b.live.formulas.get(name), rule(b, resource)["formula"]):
                chosen.append(resource)     # inactive (no formula recorded) or edited in Salesforce
    return chosen


def rule_object(b: Build, address: Address) -> str:
    """The object a rule is on; a stage requirement's is its pipeline's."""
    if address.kind is Kind.STAGE_REQUIREMENT:
        return pipeline_object(b.desired, address.scope)
    return address.scope


def rule_name(b: Build, address: Address) -> str:
    return b.live_name(address) or validation_rule_name(address)


def rule(b: Build, resource: Resource) -> dict[str, str]:
    """The ValidationRule (asked twice: for the drift check and for the file)."""
    if resource.address not in b.rules:
        b.rules[resource.address] = _make(b, resource)
    return b.rules[resource.address]


def _make(b: Build, resource: Resource) -> dict[str, str]:
    attrs, address = resource.attrs, resource.address
    human = str(attrs.get("description") or "")
    mark = ownership_mark([(address, {})])
    description = with_mark(human, mark)
    if address.kind is Kind.STAGE_REQUIREMENT:   # keys only: space-separated reads back exactly
        comment = {name: " ".join(attrs.get(name, ())) for name in ("fields", "stages")}
    else:
        comment = {name: str(attrs.get(name) or "") for name in ("when", "require")}
    enforce = enforcement(resource)
    comment["enforce"] = enforce
    if len(description) > RULE_DESCRIPTION_LIMIT:
        # The whole text travels in the formula's comment; the description shows as much as fits.
        room = RULE_DESCRIPTION_LIMIT - len(mark) - 3
        description = with_mark(human[:room].rstrip() + "…", mark)
        comment["description"] = human
    formula = formula_comment(address, comment) + _condition(b, resource)
    if len(formula) > FORMULA_LIMIT:
        b.problems.append(Diagnostic(
            resource.origin, f"{describe(address)} becomes a Salesforce formula of {len(formula)} characters; "
            f"Salesforce allows {FORMULA_LIMIT}", "salesforce-formula-length", fix="split it into smaller rules"))
    if enforce == "audit" and address in b.writes:
        b.notes.append(Diagnostic(
            resource.origin, f"{describe(address)} is audit-only: Salesforce gets it as an inactive validation rule, "
            "which never blocks a save", "audit-only", Severity.WARNING, fix="`sos audit` reports the records that "
            "break it; set enforce: always or on_stage_change to make it block"))
    return {"name": rule_name(b, address), "description": description, "formula": formula,
            "message": str(attrs.get("message") or ""), "active": "false" if enforce == "audit" else "true"}


def enforcement(resource: Resource) -> str:
    """When the rule bites; a resource without `enforce` (made by an earlier sos) bit on every save."""
    return str(resource.attrs.get("enforce") or "always")


def _condition(b: Build, resource: Resource) -> str:
    """The error condition formula: the generator's text for `when and not require`, from the typed expressions
    the model carries (read back from the attributes for a resource only the org still has)."""
    from sos.expr.dialects.sf_formula import SalesforceFormula

    obj = rule_object(b, resource.address)
    try:
        exprs = resource.exprs or exprs_of(resource, b.desired, b.scopes)
        scope = exprs["require"].scope
        generator = SalesforceFormula(scope, expression_naming(obj, b.field_names(obj), b.stage_names_by_key(),
                                                               b.status_names_by_key()))
        condition = generator.error_condition(exprs.get("when"), exprs["require"])
        guard = enforced_when(enforcement(resource), scope, resource.origin or Span(str(resource.address), 1, 1))
        if guard is None or enforcement(resource) == "audit":    # audit: the plain condition, in an inactive rule
            return condition
        return f"AND({generator.generate(guard)}, {condition})"
    except SosError as error:
        if resource.origin is not None:
            b.problems.extend(error.diagnostics)
        else:       # a rule sos made that the blueprint no longer has (its deletion skipped): no line to show
            b.problems += [Diagnostic(None, f"{describe(resource.address)}, which sos made in the org and the "
                                      f"blueprint no longer has, cannot be deployed again: {d.message}", d.code,
                                      fix="apply with --allow-delete to remove it from the org, or put it back in "
                                          "the blueprint") for d in error.diagnostics]
        return "FALSE"
