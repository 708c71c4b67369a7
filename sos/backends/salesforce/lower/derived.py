"""What no single resource owns but a deploy must keep in step: the deal-aging formula fields (from the stages'
max_days, aging.py) and the permission set granting access to every field sos manages and its record types."""

from __future__ import annotations

from typing import Any

from sos.backends.salesforce.aging import aging_fields
from sos.backends.salesforce.lower.context import Build, same_formula
from sos.backends.salesforce.names import OBJECTS, field_api_name
from sos.backends.salesforce.package import FieldSpec
from sos.errors import Diagnostic
from sos.model.resources import Address, Kind, Resource

PERMISSION_SET_LABEL = "Sos Managed Fields"
PERMISSION_SET_DESCRIPTION = ("sos: managed (field-level security) Read and edit access to every field sos manages, "
                              "and the record types of its pipelines. Assign it to the people who work these records.")


def aging(b: Build) -> list[FieldSpec]:
    """`Sos_Days_In_Stage__c` and `Sos_Stale__c` when they are missing or differ from the org's."""
    specs = _aging_specs(b)
    for spec in specs:
        clash = next((r for r in b.desired.of_kind(Kind.FIELD) if r.address.scope == "opportunity"
                      and field_api_name(r).lower() == spec.name.lower()), None)
        if clash is not None:
            b.problems.append(Diagnostic(clash.origin, f"field opportunity.{clash.address.key} takes the name "
                                         f"{spec.name}, which sos keeps for deal aging", "reserved-name",
                                         fix="rename the field or set another `api_name:`"))
    if b.live is None:
        stage_work = any(a.kind in (Kind.STAGE, Kind.PIPELINE) for a in b.writes)
        return specs if stage_work else []
    return [s for s in specs if not same_formula(b.live.formulas.get(f"Opportunity.{s.name}"), s.formula)]


def _aging_specs(b: Build) -> list[FieldSpec]:
    """The deal-aging fields the org has once this package is deployed (those it has stay: aging.py)."""
    in_org = b.live is not None and any(name.endswith("__c") for name in b.live.formulas)
    processes = {r.address.key: b.process_name(r.address) for r in b.desired.of_kind(Kind.PIPELINE)}
    return aging_fields(b.desired, b.stage_names, processes, in_org=in_org)


def _aging_after(b: Build) -> set[str]:
    return {f"Opportunity.{s.name}" for s in _aging_specs(b)}


def _aging_pipelines(b: Build) -> list[Address]:
    """The managed opportunity pipelines with a stage that has max_days: what the deal-aging fields serve."""
    def aged(pipeline: Resource) -> bool:
        stages = [b.desired.get(Address(Kind.STAGE, pipeline.address.key, k)) for k in pipeline.attrs.get("stages", ())]
        return any(s is not None and s.attrs.get("max_days") for s in stages)

    return [r.address for r in b.desired.of_kind(Kind.PIPELINE)
            if r.address.scope == "opportunity" and b.managed_live(r.address) and aged(r)]


def permission_set(b: Build, aging_specs: list[FieldSpec]) -> dict[str, Any] | None:
    """The permission set to deploy, if any: when it differs from the org's (offline: when fields change)."""
    wanted = _permissions_wanted(b)
    if b.live is None:
        return wanted if wanted["fields"] and (b.writes or aging_specs) else None
    return None if b.live.permission_set == wanted else wanted


def _permissions_wanted(b: Build) -> dict[str, Any]:
    """Read/edit on every field sos manages after this deploy (read-only for formulas); its record types."""
    fields: dict[str, bool] = {}
    for resource in b.managed_after(Kind.FIELD):
        fields[f"{OBJECTS[resource.address.scope]}.{b.field_name(resource)}"] = True
    for name in sorted(_aging_after(b)):
        fields[name] = False
    record_types = sorted(f"{OBJECTS[r.address.scope]}.{b.process_name(r.address)}"
                          for r in b.managed_after(Kind.PIPELINE))
    return {"fields": fields, "record_types": record_types}


def drift(b: Build, found: dict[Address, list[str]]) -> None:
    """The deal-aging fields edited or missing (on the pipelines they serve), and access changed in the permission
    set (on the field or pipeline it is about; grants sos did not make on the first managed field)."""
    assert b.live is not None
    specs = aging(b)
    if specs:
        missing = all(f"Opportunity.{spec.name}" not in b.live.formulas for spec in specs)
        for address in _aging_pipelines(b):
            found.setdefault(address, []).append(
                f"deal-aging fields {'missing from' if missing else 'edited in'} Salesforce")
    _permission_drift(b, found)


def _permission_drift(b: Build, found: dict[Address, list[str]]) -> None:
    live = b.live
    assert live is not None
    aging_pipelines = _aging_pipelines(b)
    wanted = _permissions_wanted(b)
    have = live.permission_set or {"fields": {}, "record_types": []}
    if have == wanted:
        return
    where = f"permission set {PERMISSION_SET_LABEL}"
    owners = {name: r.address for r in b.desired if r.managed and (name := live.names.get(r.address))}
    aging_names = _aging_after(b)
    for name, editable in sorted(wanted["fields"].items()):
        granted = have["fields"].get(name)
        if granted == editable:
            continue
        text = "no access" if granted is None else "read only" if editable else "edit access"
        if name in aging_names:
            for address in aging_pipelines:
                found.setdefault(address, []).append(f"{text} to the deal-aging fields in {where}")
        elif name in owners:
            found.setdefault(owners[name], []).append(f"{text} in {where}")
    for name in wanted["record_types"]:
        if name not in have["record_types"] and name in owners:
            found.setdefault(owners[name], []).append(f"record type not visible in {where}")
    extra = sorted({*have["fields"]} - {*wanted["fields"]}) + \
        sorted({*have["record_types"]} - {*wanted["record_types"]})
    holder = next((r.address for kind in (Kind.FIELD, Kind.PIPELINE) for r in b.desired.of_kind(kind)
                   if b.managed_live(r.address)), None)
    if extra and holder is not None:     # grants sos did not make: the apply takes them away
        found.setdefault(holder, []).append(f"{where} also grants {', '.join(extra)}")
