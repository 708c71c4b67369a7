"""Model changes → one mdapi package: what one deploy carries.

`build_package` turns a plan's changes into one package (package.xml, objects/*.object,
standardValueSets/*, permissionsets/*, destructiveChanges.xml). Each component it makes
carries sos's mark (marks.py); the value sets are merged with the org's (value_sets.py);
deal-aging fields travel when the stages' max_days change (aging.py).
"""

from __future__ import annotations

from typing import Any
from collections.abc import Sequence

from sos.backends.salesforce.aging import aging_fields
from sos.backends.salesforce.lint import description_with_mark, lint
from sos.backends.salesforce.marks import formula_comment, ownership_mark, with_mark
from sos.backends.salesforce.names import (
    FIELD_TYPES,
    NUMERIC_TYPES,
    OBJECTS,
    PERMISSION_SET,
    PLURALS,
    developer_name,
    field_api_name,
    process_api_name,
    describe,
    salesforce_field_name,
    validation_rule_name,
)
from sos.backends.salesforce.package import (
    API_VERSION,
    Component,
    FieldSpec,
    Package,
    PicklistValue,
    manifest,
    render,
)
from sos.backends.salesforce.retrieve import LiveOrg
from sos.backends.salesforce.standard_fields import api_names_for, expression_naming
from sos.backends.salesforce.value_sets import STANDARD_VALUE_KEYS, ValueSets
from sos.errors import Diagnostic, SosError
from sos.model.exprs import exprs_of, pipeline_object
from sos.model.resources import Address, Kind, Model, Resource
from sos.plan.change import Action, Change

PICKLIST_TYPES = ("picklist", "multi_picklist")
HELD_KINDS = frozenset({Kind.FIELD, Kind.STAGE, Kind.PIPELINE, Kind.STAGE_REQUIREMENT, Kind.LEAD_STATUS, Kind.RULE})
RULE_KINDS = (Kind.RULE, Kind.STAGE_REQUIREMENT)    # each becomes a validation rule
PERMISSION_SET_LABEL = "Sos Managed Fields"
PERMISSION_SET_DESCRIPTION = ("sos: managed (field-level security) Read and edit access to every field sos manages, "
                              "and the record types of its pipelines. Assign it to the people who work these records.")

# Limits (reference §5, §9, §10); breaking one is reported, never silently truncated.
RULE_DESCRIPTION_LIMIT = 255
FORMULA_LIMIT = 3900
LONG_TEXT_LENGTH, LONG_TEXT_LINES, MULTI_PICKLIST_LINES = 32768, 3, 4


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
    builder = _Builder(desired, changes, live, allow_delete, value_sets)
    builder.problems += lint(desired)
    return builder.package(api_version)


def formula_problems(desired: Model) -> list[Diagnostic]:
    """What Salesforce could not hold in the validation rules `desired` makes, offline (stage values by label):
    each at the span of the expression part it is about."""
    builder = _Builder(desired, (), None, False, True)
    for resource in (r for kind in RULE_KINDS for r in desired.of_kind(kind)):
        builder._rule(resource)
    return builder.problems


class _Builder:
    def __init__(self, desired: Model, changes: Sequence[Change], live: LiveOrg | None, allow_delete: bool,
                 value_sets: bool) -> None:
        self.desired = desired
        self.live = live
        self.value_sets = value_sets
        self.allow_delete = allow_delete
        held = [c for c in changes if c.address.kind in HELD_KINDS]
        self.writes = {c.address: c for c in held if c.action is not Action.DELETE}
        self.deletes = {c.address: c for c in held if c.action is Action.DELETE and allow_delete}
        self.problems: list[Diagnostic] = []
        self.notes: list[Diagnostic] = []
        self._rules: dict[Address, dict[str, str]] = {}
        self._names: dict[str, dict[str, str]] = {}
        self.values = ValueSets(desired, live, self.writes, self.deletes, self._kept, self.problems, self.notes)
        self.stage_names, self.status_names = self.values.stage_names, self.values.status_names

    # -- the package ---------------------------------------------------------------------

    def package(self, api_version: str) -> Package:
        objects: dict[str, dict[str, list[Any]]] = {}
        components: list[Component] = []

        def add(obj: str, kind: str, spec: Any, component: Component) -> None:
            objects.setdefault(obj, {"business_processes": [], "fields": [], "record_types": [], "rules": []})
            objects[obj][kind].append(spec)
            components.append(component)

        for address in sorted(a for a in self.writes if a.kind is Kind.FIELD):
            spec = self._field(self._desired(address))
            add(OBJECTS[address.scope], "fields", spec,
                Component("CustomField", f"{OBJECTS[address.scope]}.{spec.name}", address))
        for resource in self._rules_to_write():
            obj = OBJECTS[self._rule_object(resource.address)]
            rule = self._rule(resource)
            add(obj, "rules", rule, Component("ValidationRule", f"{obj}.{rule['name']}", resource.address))
        for address in self._pipelines_to_write():
            process, record_type = self._pipeline(self._desired(address))
            obj = OBJECTS[address.scope]
            add(obj, "business_processes", process,
                Component("BusinessProcess", f"{obj}.{process['name']}", address))
            add(obj, "record_types", record_type, Component("RecordType", f"{obj}.{record_type['name']}", address))
        aging = self._aging_fields()
        for spec in aging:
            add("Opportunity", "fields", spec, Component("CustomField", f"Opportunity.{spec.name}", None))

        files = {f"objects/{obj}.object": _object_file(parts) for obj, parts in sorted(objects.items())}
        for set_name, values in (self.values.lists() if self.value_sets else {}).items():
            files[f"standardValueSets/{set_name}.standardValueSet"] = render(
                "standard_value_set.xml.j2", values=values, keys=STANDARD_VALUE_KEYS)
            components.append(Component("StandardValueSet", set_name, None))
        permission = self._permission_set(aging)
        if permission is not None:
            files[f"permissionsets/{PERMISSION_SET}.permissionset"] = render(
                "permission_set.xml.j2", description=PERMISSION_SET_DESCRIPTION, label=PERMISSION_SET_LABEL,
                field_permissions=[{"field": name, "editable": editable}
                                   for name, editable in sorted(permission["fields"].items())],
                record_types=permission["record_types"])
            components.append(Component("PermissionSet", PERMISSION_SET, None))
        deleted = self._deletions()
        components += deleted
        if self.problems:
            raise SosError(sorted(dict.fromkeys(self.problems), key=Diagnostic.sort_key))
        files["package.xml"] = manifest([c for c in components if not c.deleted], api_version)
        if deleted:
            files["destructiveChanges.xml"] = manifest(deleted, None)
        ordered = tuple(sorted(components, key=lambda c: (c.deleted, c.type, c.full_name.lower())))
        return Package(files, ordered, tuple(self.notes), api_version)

    def _desired(self, address: Address) -> Resource:
        found = self.desired.get(address)
        if found is not None:
            return found
        change = self.writes[address]    # a change made from another model than `desired`: trust its `after`
        return Resource(address, dict(change.after or {}), change.origin)

    def _managed_live(self, address: Address) -> bool:
        found = self.live.model.get(address) if self.live is not None else None
        return found is not None and found.managed

    def _kept(self, address: Address) -> bool:
        """Whether sos manages `address` once this package is deployed (a deletion not allowed leaves it)."""
        if address in self.deletes:
            return False
        if self.live is None:
            return address in self.writes or address in self.desired
        return address in self.writes or self._managed_live(address)

    def _managed_after(self, kind: Kind) -> list[Resource]:
        """Resources of `kind` sos manages after this deploy: desired ones, and live ones kept from deletion."""
        found = {r.address: r for r in self.desired.of_kind(kind) if self._kept(r.address)}
        if self.live is not None:
            found.update({r.address: r for r in self.live.model.of_kind(kind)
                          if r.address not in found and self._kept(r.address)})
        return [found[a] for a in sorted(found)]

    # -- fields --------------------------------------------------------------------------

    def _field(self, resource: Resource) -> FieldSpec:
        attrs, address = resource.attrs, resource.address
        name = self._live_name(address) or field_api_name(resource)
        blueprint_type = str(attrs.get("type"))
        label = str(attrs.get("label") or name[:-3].replace("_", " "))
        description = description_with_mark(self.desired, resource)
        sf_type = FIELD_TYPES.get(blueprint_type)
        if sf_type is None:
            self.problems.append(Diagnostic(resource.origin, f"field {address.scope}.{address.key} has type "
                                            f"'{blueprint_type}', which sos cannot create in Salesforce",
                                            "salesforce-type"))
            sf_type = "Text"
        options: dict[str, Any] = {}
        if blueprint_type == "text":
            options["length"] = attrs.get("length") or 255
        elif blueprint_type == "long_text":
            options.update(length=LONG_TEXT_LENGTH, visible_lines=LONG_TEXT_LINES)
        elif blueprint_type in NUMERIC_TYPES:
            options.update(precision=attrs.get("precision"), scale=attrs.get("scale"))
        elif blueprint_type == "checkbox":
            options["default_value"] = "true" if attrs.get("default") is True else "false"
        elif blueprint_type in PICKLIST_TYPES:
            default = attrs.get("default")
            options["picklist_values"] = tuple(PicklistValue(str(v), v == default) for v in attrs.get("values", ()))
            if blueprint_type == "multi_picklist":
                options["visible_lines"] = MULTI_PICKLIST_LINES
        elif blueprint_type == "lookup":
            target = str(attrs.get("to"))
            base = name.removesuffix("__c")
            plural = PLURALS[address.scope]
            options.update(reference_to=OBJECTS.get(target, target),
                           relationship_name=developer_name([base, plural], f"relationship {address}"),
                           relationship_label=f"{plural} ({label})")
        return FieldSpec(name=name, type=sf_type, label=label, description=description,
                         help=str(attrs.get("help") or ""), **options)

    def _live_name(self, address: Address) -> str | None:
        """The name a managed component already has in the org (a field's API name survives renames)."""
        if self.live is None or not self._managed_live(address):
            return None
        name = self.live.names.get(address)
        return name.split(".", 1)[-1] if name else None

    # -- rules ---------------------------------------------------------------------------

    def _rules_to_write(self) -> list[Resource]:
        """Changed rules and stage requirements, and managed ones whose generated formula drifted from the org's."""
        chosen = [self._desired(a) for a in sorted(self.writes) if a.kind in RULE_KINDS]
        if self.live is not None:
            for resource in (r for kind in RULE_KINDS for r in self.desired.of_kind(kind)):
                if resource.address in self.writes or not self._managed_live(resource.address):
                    continue
                name = f"{OBJECTS[self._rule_object(resource.address)]}.{self._rule_name(resource.address)}"
                if not _same_formula(self.live.formulas.get(name), self._rule(resource)["formula"]):
                    chosen.append(resource)     # inactive (no formula recorded) or edited in Salesforce
        return chosen

    def _rule_object(self, address: Address) -> str:
        """The object a rule is on; a stage requirement's is its pipeline's."""
        if address.kind is Kind.STAGE_REQUIREMENT:
            return pipeline_object(self.desired, address.scope)
        return address.scope

    def _rule_name(self, address: Address) -> str:
        return self._live_name(address) or validation_rule_name(address)

    def _rule(self, resource: Resource) -> dict[str, str]:
        """The ValidationRule (asked twice: for the drift check and for the file)."""
        if resource.address not in self._rules:
            self._rules[resource.address] = self._make_rule(resource)
        return self._rules[resource.address]

    def _make_rule(self, resource: Resource) -> dict[str, str]:
        attrs, address = resource.attrs, resource.address
        human = str(attrs.get("description") or "")
        mark = ownership_mark([(address, {})])
        description = with_mark(human, mark)
        if address.kind is Kind.STAGE_REQUIREMENT:   # keys only: space-separated reads back exactly
            comment = {name: " ".join(attrs.get(name, ())) for name in ("fields", "stages")}
        else:
            comment = {name: str(attrs.get(name) or "") for name in ("when", "require")}
        if len(description) > RULE_DESCRIPTION_LIMIT:
            # The whole text travels in the formula's comment; the description shows as much as fits.
            room = RULE_DESCRIPTION_LIMIT - len(mark) - 3
            description = with_mark(human[:room].rstrip() + "…", mark)
            comment["description"] = human
        formula = formula_comment(address, comment) + self._condition(resource)
        if len(formula) > FORMULA_LIMIT:
            self.problems.append(Diagnostic(
                resource.origin, f"{describe(address)} becomes a Salesforce formula of {len(formula)} characters; "
                f"Salesforce allows {FORMULA_LIMIT}", "salesforce-formula-length",
                fix="split it into smaller rules"))
        return {"name": self._rule_name(address), "description": description, "formula": formula,
                "message": str(attrs.get("message") or "")}

    def _condition(self, resource: Resource) -> str:
        """The error condition formula: the generator's text for `when and not require`, from the typed
        expressions the model carries (read back from the attributes for a resource only the org still has)."""
        from sos.expr.dialects.sf_formula import SalesforceFormula

        obj = self._rule_object(resource.address)
        try:
            exprs = resource.exprs or exprs_of(resource, self.desired)
            generator = SalesforceFormula(exprs["require"].scope, expression_naming(
                obj, self._field_names(obj), self.stage_names_by_key(), self.status_names_by_key()))
            return str(generator.error_condition(exprs.get("when"), exprs["require"]))
        except SosError as error:
            if resource.origin is not None:
                self.problems.extend(error.diagnostics)
            else:       # a rule sos made that the blueprint no longer has (its deletion skipped): no line to show
                self.problems += [Diagnostic(None, f"{describe(resource.address)}, which sos made in the org and "
                                             f"the blueprint no longer has, cannot be deployed again: {d.message}",
                                             d.code, fix="apply with --allow-delete to remove it from the org, or "
                                                         "put it back in the blueprint") for d in error.diagnostics]
            return "FALSE"

    def _field_names(self, obj: str) -> dict[str, str]:
        if obj not in self._names:
            self._names[obj] = api_names_for(obj, {r.address.key: self._live_name(r.address) or field_api_name(r)
                                                   for r in self.desired.of_kind(Kind.FIELD)
                                                   if r.address.scope == obj})
        return self._names[obj]

    def stage_names_by_key(self) -> dict[str, str]:
        return {address.key: name for address, name in self.stage_names.items()}

    def status_names_by_key(self) -> dict[str, str]:
        return {address.key: name for address, name in self.status_names.items()}

    # -- pipelines -----------------------------------------------------------------------

    def _pipelines_to_write(self) -> list[Address]:
        """Changed pipelines, and the managed ones on an object whose picklist field changes: values a deploy adds
        to a picklist reach an existing record type only through its `picklistValues` (reference, facts table 6)."""
        chosen = {a for a in self.writes if a.kind is Kind.PIPELINE}
        changed = {a.scope for a in self.writes
                   if a.kind is Kind.FIELD and self._desired(a).attrs.get("type") in PICKLIST_TYPES}
        chosen |= {r.address for r in self._managed_after(Kind.PIPELINE)
                   if r.address.scope in changed and r.address in self.desired}
        return sorted(chosen)

    def _record_type_picklists(self, obj: str) -> list[dict[str, Any]]:
        """Every value of each picklist sos manages on `obj`, for a record type to offer (the default marked)."""
        return [{"name": self._live_name(r.address) or field_api_name(r),
                 "values": [PicklistValue(str(v), v == r.attrs.get("default")) for v in r.attrs.get("values", ())]}
                for r in sorted(self._managed_after(Kind.FIELD), key=lambda r: field_api_name(r).lower())
                if r.address.scope == obj and r.attrs.get("type") in PICKLIST_TYPES]

    def _pipeline(self, resource: Resource) -> tuple[dict[str, Any], dict[str, Any]]:
        address, attrs = resource.address, resource.attrs
        name = self._live_name(address) or process_api_name(address.key)
        keys = list(attrs.get("stages", ()))
        first_open = next((k for k in keys if self._stage_outcome(address.key, k) == "open"), keys[0] if keys else "")
        values = [{"name": self.stage_names.get(Address(Kind.STAGE, address.key, k), k), "default": k == first_open}
                  for k in keys]
        process = {"name": name, "description": description_with_mark(self.desired, resource), "values": values}
        record_type = {"name": name, "process": name, "description": ownership_mark([(address, {})]),
                       "label": str(attrs.get("label") or address.key),
                       "picklists": self._record_type_picklists(address.scope)}
        return process, record_type

    def _stage_outcome(self, pipeline: str, key: str) -> str:
        stage = self.desired.get(Address(Kind.STAGE, pipeline, key))
        return str(stage.attrs.get("outcome", "open")) if stage is not None else "open"

    # -- deal aging ----------------------------------------------------------------------

    def _aging_fields(self) -> list[FieldSpec]:
        """`Sos_Days_In_Stage__c` and `Sos_Stale__c` when they are missing or differ from the org's."""
        specs = self._aging_specs()
        for spec in specs:
            clash = next((r for r in self.desired.of_kind(Kind.FIELD) if r.address.scope == "opportunity"
                          and field_api_name(r).lower() == spec.name.lower()), None)
            if clash is not None:
                self.problems.append(Diagnostic(clash.origin, f"field opportunity.{clash.address.key} takes the name "
                                                f"{spec.name}, which sos keeps for deal aging", "reserved-name",
                                                fix="rename the field or set another `api_name:`"))
        if self.live is None:
            stage_work = any(a.kind in (Kind.STAGE, Kind.PIPELINE) for a in self.writes)
            return specs if stage_work else []
        return [s for s in specs if not _same_formula(self.live.formulas.get(f"Opportunity.{s.name}"), s.formula)]

    def _aging_specs(self) -> list[FieldSpec]:
        """The deal-aging fields the org has once this package is deployed (those it has stay: aging.py)."""
        in_org = self.live is not None and any(name.endswith("__c") for name in self.live.formulas)
        return aging_fields(self.desired, self.stage_names, self._process_names(), in_org=in_org)

    def _aging_after(self) -> set[str]:
        return {f"Opportunity.{s.name}" for s in self._aging_specs()}

    def _aging_pipelines(self) -> list[Address]:
        """The managed opportunity pipelines with a stage that has max_days: what the deal-aging fields serve."""
        def aged(pipeline: Resource) -> bool:
            stages = [self.desired.get(Address(Kind.STAGE, pipeline.address.key, k))
                      for k in pipeline.attrs.get("stages", ())]
            return any(s is not None and s.attrs.get("max_days") for s in stages)

        return [r.address for r in self.desired.of_kind(Kind.PIPELINE)
                if r.address.scope == "opportunity" and self._managed_live(r.address) and aged(r)]

    def _process_names(self) -> dict[str, str]:
        return {r.address.key: self._live_name(r.address) or process_api_name(r.address.key)
                for r in self.desired.of_kind(Kind.PIPELINE)}

    # -- permission set ------------------------------------------------------------------

    def _permission_set(self, aging: list[FieldSpec]) -> dict[str, Any] | None:
        """The permission set to deploy, if any: when it differs from the org's (offline: when fields change)."""
        wanted = self._permissions_wanted()
        if self.live is None:
            return wanted if wanted["fields"] and (self.writes or aging) else None
        return None if self.live.permission_set == wanted else wanted

    def _permissions_wanted(self) -> dict[str, Any]:
        """Read/edit on every field sos manages after this deploy (read-only for formulas); its record types."""
        fields: dict[str, bool] = {}
        for resource in self._managed_after(Kind.FIELD):
            obj = OBJECTS[resource.address.scope]
            fields[f"{obj}.{self._live_name(resource.address) or field_api_name(resource)}"] = True
        for name in sorted(self._aging_after()):
            fields[name] = False
        record_types = sorted(f"{OBJECTS[r.address.scope]}."
                              f"{self._live_name(r.address) or process_api_name(r.address.key)}"
                              for r in self._managed_after(Kind.PIPELINE))
        return {"fields": fields, "record_types": record_types}

    # -- drift ---------------------------------------------------------------------------

    def drift(self) -> dict[Address, str]:
        """Built over the org's own state with no changes: what an apply would deploy anyway, per resource."""
        live = self.live
        assert live is not None
        found: dict[Address, list[str]] = {}
        for resource in self._rules_to_write():
            name = live.names.get(resource.address, "")
            switched_off = name not in live.formulas      # formulas holds the active rules only
            found.setdefault(resource.address, []).append(
                "rule switched off in Salesforce" if switched_off else "formula edited in Salesforce")
        aging_pipelines = self._aging_pipelines()
        aging = self._aging_fields()
        if aging:
            missing = all(f"Opportunity.{spec.name}" not in live.formulas for spec in aging)
            for address in aging_pipelines:
                found.setdefault(address, []).append(
                    f"deal-aging fields {'missing from' if missing else 'edited in'} Salesforce")
        self._record_type_drift(live, found)
        self._permission_drift(live, found, aging_pipelines)
        return {address: "; ".join(texts) for address, texts in found.items()}

    def _record_type_drift(self, live: LiveOrg, found: dict[Address, list[str]]) -> None:
        for resource in self.desired.of_kind(Kind.PIPELINE):
            name = live.names.get(resource.address)
            offered = live.offered.get(name or "")
            if name is None or offered is None or not resource.managed:
                continue
            for picklist in self._record_type_picklists(resource.address.scope):
                missing = [v.name for v in picklist["values"] if v.name not in offered.get(picklist["name"], [])]
                if missing:
                    found.setdefault(resource.address, []).append(
                        f"record type does not offer {', '.join(missing)} of {picklist['name']}")

    def _permission_drift(self, live: LiveOrg, found: dict[Address, list[str]],
                          aging_pipelines: list[Address]) -> None:
        wanted = self._permissions_wanted()
        have = live.permission_set or {"fields": {}, "record_types": []}
        if have == wanted:
            return
        where = f"permission set {PERMISSION_SET_LABEL}"
        owners = {name: r.address for r in self.desired if r.managed and (name := live.names.get(r.address))}
        aging_names = self._aging_after()
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
        holder = next((r.address for kind in (Kind.FIELD, Kind.PIPELINE) for r in self.desired.of_kind(kind)
                       if self._managed_live(r.address)), None)
        if extra and holder is not None:     # grants sos did not make: the apply takes them away
            found.setdefault(holder, []).append(f"{where} also grants {', '.join(extra)}")

    # -- deletions -----------------------------------------------------------------------

    def _deletions(self) -> list[Component]:
        deleted: list[Component] = []
        for address in sorted(self.deletes):
            name = self.live.names.get(address) if self.live is not None else None
            if address.kind is Kind.FIELD:
                deleted.append(Component("CustomField", name or f"{OBJECTS[address.scope]}."
                                         f"{salesforce_field_name(address.key)}", address, deleted=True))
            elif address.kind in RULE_KINDS:
                deleted.append(Component("ValidationRule", name or f"{OBJECTS[self._rule_object(address)]}."
                                         f"{validation_rule_name(address)}", address, deleted=True))
            elif address.kind is Kind.PIPELINE:
                full = name or f"{OBJECTS[address.scope]}.{process_api_name(address.key)}"
                deleted += [Component("RecordType", full, address, deleted=True),
                            Component("BusinessProcess", full, address, deleted=True)]
        return deleted


def _object_file(parts: dict[str, list[Any]]) -> bytes:
    return render("object.xml.j2", fields=sorted(parts["fields"], key=lambda f: f.name.lower()),
                  rules=sorted(parts["rules"], key=lambda r: r["name"].lower()),
                  business_processes=sorted(parts["business_processes"], key=lambda p: p["name"].lower()),
                  record_types=sorted(parts["record_types"], key=lambda r: r["name"].lower()))


def org_drift(live: LiveOrg) -> dict[Address, str]:
    """What in the org differs from what sos deploys for the resources it manages, where their attributes cannot
    show it: per managed resource, the reason in words (a plan updates it, and applying it deploys sos's version
    again).

    A rule switched off in Salesforce or its formula edited; the deal-aging fields edited or missing (on the
    opportunity pipelines whose stages have max_days); access to a field or a pipeline's record type changed in the
    permission set (grants sos did not make go on the first managed field). It is what an apply of any plan would
    deploy beyond the plan; no API call.
    """
    return _Builder(live.model, (), live, False, False).drift()


def _same_formula(live: str | None, generated: str) -> bool:
    """Equal but for whitespace and line endings (Salesforce may store either)."""
    return live is not None and live.split() == generated.split()
