"""Model changes → one mdapi package: what one deploy carries.

Each kind Salesforce holds has its lowering module in LOWERERS (read/ is its mirror): fields.py
(CustomField), pipelines.py (BusinessProcess and RecordType), rules.py (ValidationRule, for rules
and stage requirements), values.py (stages and lead statuses, held in the standard value sets),
assignment.py (routes, as the Lead assignment rule).
Each writes the components of the plan's changes of its kind, names what a deletion removes, and
says what in the org drifted from what it deploys. derived.py keeps what no single resource owns
in step: the deal-aging fields and the permission set. Every component carries sos's mark
(marks.py); the value sets are merged with the org's (value_sets.py).
"""

from __future__ import annotations

from types import ModuleType
from typing import Any
from collections.abc import Sequence

from sos.backends.salesforce.lint import lint
from sos.backends.salesforce.lower import assignment, derived, fields, flows, pipelines, rules, values
from sos.backends.salesforce.lower.context import Build
from sos.backends.salesforce.names import PERMISSION_SET
from sos.backends.salesforce.package import API_VERSION, Component, Package, manifest, render
from sos.backends.salesforce.read import LiveOrg
from sos.backends.salesforce.value_sets import STANDARD_VALUE_KEYS
from sos.errors import Diagnostic, SosError
from sos.model.resources import Address, Kind, Model, Resource
from sos.plan.change import Action, Change, Plan

# Each kind Salesforce holds → the module that lowers it: write(build) → parts of object files,
# delete(build, address) → components to destroy, drift(build, found) → what the org changed.
LOWERERS: dict[Kind, ModuleType] = {
    Kind.FIELD: fields, Kind.STAGE: values, Kind.PIPELINE: pipelines, Kind.STAGE_REQUIREMENT: rules,
    Kind.LEAD_STATUS: values, Kind.RULE: rules, Kind.AUTOMATION: flows, Kind.ASSIGNMENT: assignment,
}
HELD_KINDS = frozenset(LOWERERS)


def build_package(desired: Model, changes: Sequence[Change], live: LiveOrg | None, *, allow_delete: bool,
                  api_version: str = API_VERSION, value_sets: bool = True) -> Package:
    """The one mdapi package that applies `changes` (the plan's) to the org `live` describes.

    Only the changed components travel, plus what must travel with them: the value sets
    (merged with the org's current values), the deal-aging formula fields and the permission
    set when they differ from the org's, and rules whose generated formula drifted. Deletions
    go to destructiveChanges.xml only with `allow_delete`; stage and lead-status deletions
    deactivate the value instead. `live=None` means offline: nothing of the org is known.
    `value_sets=False` leaves OpportunityStage/LeadStatus out (the package then relies on the
    org having the stage values its sales processes list). Raises SosError for what
    Salesforce would refuse (a label over 40 characters, a formula over 3,900).
    """
    b = Build(desired, changes, live, allow_delete, value_sets, HELD_KINDS)
    b.problems += [problem for problem in lint(desired, formulas=False) if problem.is_error]
    objects: dict[str, dict[str, list[Any]]] = {}
    components: list[Component] = []
    files: dict[str, bytes] = {}
    parts = [part for lowerer in _lowerers() for part in lowerer.write(b)]
    aging = derived.aging(b)
    parts += [("Opportunity", "fields", spec, Component("CustomField", f"Opportunity.{spec.name}", None))
              for spec in aging]
    for obj, section, spec, component in parts:
        components.append(component)
        if section == "file":     # a component that is a file of its own (a flow): `obj` is its path
            files[obj] = spec
            continue
        objects.setdefault(obj, {"business_processes": [], "fields": [], "record_types": [], "rules": []})
        objects[obj][section].append(spec)

    files.update({f"objects/{obj}.object": _object_file(sections) for obj, sections in sorted(objects.items())})
    for set_name, listed in (b.values.lists() if b.value_sets else {}).items():
        files[f"standardValueSets/{set_name}.standardValueSet"] = render(
            "standard_value_set.xml.j2", values=listed, keys=STANDARD_VALUE_KEYS)
        components.append(Component("StandardValueSet", set_name, None))
    permission = derived.permission_set(b, aging)
    if permission is not None:
        files[f"permissionsets/{PERMISSION_SET}.permissionset"] = render(
            "permission_set.xml.j2", description=derived.PERMISSION_SET_DESCRIPTION,
            label=derived.PERMISSION_SET_LABEL, field_permissions=[
                {"field": name, "editable": editable} for name, editable in sorted(permission["fields"].items())],
            record_types=permission["record_types"])
        components.append(Component("PermissionSet", PERMISSION_SET, None))
    for derived_file in (assignment.rule_file(b), flows.notification_type(b)):
        if derived_file is not None:
            files[derived_file[0]] = derived_file[1]
            components.append(derived_file[2])
    deleted = [c for address in sorted(b.deletes) for c in LOWERERS[address.kind].delete(b, address)]
    deleted += flows.retired(b)
    components += deleted
    deactivated = flows.deactivated(b, deleted)     # in package.xml too: deployed switched off, then deleted
    files.update(deactivated)
    components += [Component(c.type, c.full_name, c.address) for c in deleted
                   if f"flows/{c.full_name}.flow" in deactivated]
    if b.problems:
        raise SosError(sorted(dict.fromkeys(b.problems), key=Diagnostic.sort_key))
    files["package.xml"] = manifest([c for c in components if not c.deleted], api_version)
    if deleted:     # after the saves when a flow must first be switched off
        files["destructiveChangesPost.xml" if deactivated else "destructiveChanges.xml"] = manifest(deleted, None)
    ordered = tuple(sorted(components, key=lambda c: (c.deleted, c.type, c.full_name.lower())))
    return Package(files, ordered, tuple(b.notes), api_version)


def formula_problems(desired: Model) -> list[Diagnostic]:
    """What Salesforce could not hold in the validation rules and the flows' entry formulas `desired` makes,
    offline (stage values by label): each at the span of the expression part it is about (a flow's: the cadence)."""
    b = Build(desired, (), None, False, True, HELD_KINDS)
    for resource in (r for kind in rules.RULE_KINDS for r in desired.of_kind(kind)):
        rules.rule(b, resource)
    for cadence in filter(flows.held, desired.of_kind(Kind.AUTOMATION)):
        flows.entry_condition(b, cadence)
    return b.problems


def org_drift(live: LiveOrg) -> dict[Address, str]:
    """What in the org differs from what sos deploys for the resources it manages, where their attributes cannot
    show it: per managed resource, the reason in words (a plan updates it, and applying it deploys sos's version
    again).

    A rule switched off in Salesforce or its formula edited; the deal-aging fields edited or missing (on the
    opportunity pipelines whose stages have max_days); access to a field or a pipeline's record type changed in the
    permission set (grants sos did not make go on the first managed field). It is what an apply of any plan would
    deploy beyond the plan; no API call.
    """
    b = Build(live.model, (), live, False, False, HELD_KINDS)
    found: dict[Address, list[str]] = {}
    for lowerer in (*_lowerers(), derived):
        lowerer.drift(b, found)
    return {address: "; ".join(texts) for address, texts in found.items()}


def after_plan(plan: Plan, live: Model, desired: Model) -> Model:
    """What the org should hold after the plan: what it holds (with the look-alikes sos leaves alone) with the
    plan's changes made. A deletion the plan skipped stays: the resource stays in the org. Where a resource is
    what `desired` says, `desired`'s is taken, with its typed expressions."""
    def typed(resource: Resource) -> Resource:
        found = desired.get(resource.address)
        return found if found is not None and dict(found.attrs) == dict(resource.attrs) else resource

    after = Model()
    for resource in live:
        after.add(typed(resource))
    for change in plan.changes:
        if change.action is Action.DELETE:
            after.resources.pop(change.address, None)
        else:
            after.add(typed(Resource(change.address, dict(change.after or {}), change.origin)))
    return after


def _lowerers() -> list[ModuleType]:
    """Each lowering module once, in the order of the kinds it holds."""
    return list(dict.fromkeys(LOWERERS.values()))


def _object_file(sections: dict[str, list[Any]]) -> bytes:
    return render("object.xml.j2", fields=sorted(sections["fields"], key=lambda f: f.name.lower()),
                  rules=sorted(sections["rules"], key=lambda r: r["name"].lower()),
                  business_processes=sorted(sections["business_processes"], key=lambda p: p["name"].lower()),
                  record_types=sorted(sections["record_types"], key=lambda r: r["name"].lower()))
