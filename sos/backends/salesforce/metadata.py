"""Model ⇄ Metadata API files: what one deploy carries, and what one retrieve says.

`build_package` turns a plan's changes into one mdapi package (package.xml, objects/*.object,
standardValueSets/*, permissionsets/*, destructiveChanges.xml); `parse_retrieved` reads the
files of a retrieve back into a Model, so compile → build_package → parse_retrieved gives the
Model again for the kinds Salesforce holds. `to_source_format` rewrites a package as an SFDX
project for `sf project deploy start`.

Ownership: every component sos makes ends its description with a mark,
`sos: managed (field opportunity.budget_confirmed)`, where an entry may carry a JSON object of
the attributes Salesforce has no place for (`stage new_business.discovery {"max_days": 21}`).
A stage value shared by pipelines lists one entry per pipeline. Rules keep the blueprint's
expression text in a comment at the top of their formula, because formulas are not parsed back.
Deal-aging formula fields are marked `sos: derived (deal aging)`: sos keeps them in step with
the stages but they are not resources of the Model.

The standard-value-set trap (reference §6): a deployed OpportunityStage or LeadStatus file is
the whole list, and the org deactivates what it omits. These files therefore list the org's
current values merged with the blueprint's; a value is deactivated only for a planned DELETE,
and only with `allow_delete`. Offline (`live=None`) nothing of the org is known, and the file
lists the blueprint's values only; `Package.notes` says so.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import zipfile
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence
from xml.etree import ElementTree as ET
from xml.sax.saxutils import escape

from sos.expr.dialects.salesforce_names import api_names_for
from sos.errors import Diagnostic, Severity, SosError, Span
from sos.expr.types import Scope, StageInfo, StatusInfo, scope_for, type_for_field
from sos.model.resources import Address, Kind, Model, Resource
from sos.naming import salesforce_field_name
from sos.plan.change import Action, Change

MD_NS = "http://soap.sforce.com/2006/04/metadata"
API_VERSION = "63.0"
HELD_KINDS = frozenset({Kind.FIELD, Kind.STAGE, Kind.PIPELINE, Kind.LEAD_STATUS, Kind.RULE})
OBJECTS = {"lead": "Lead", "contact": "Contact", "account": "Account", "opportunity": "Opportunity"}
PLURALS = {"lead": "Leads", "contact": "Contacts", "account": "Accounts", "opportunity": "Opportunities"}
STAGE_SET, STATUS_SET = "OpportunityStage", "LeadStatus"
PERMISSION_SET = "Sos_Managed_Fields"
PERMISSION_SET_LABEL = "Sos Managed Fields"
PERMISSION_SET_DESCRIPTION = ("sos: managed (field-level security) Read and edit access to every field sos manages, "
                              "and the record types of its pipelines. Assign it to the people who work these records.")

# Limits (reference §5, §9, §10); breaking one is reported, never silently truncated.
NAME_LIMIT = 40
LABEL_LIMIT = 40
FIELD_DESCRIPTION_LIMIT = 1000
RULE_DESCRIPTION_LIMIT = 255
FORMULA_LIMIT = 3900
LONG_TEXT_LENGTH, LONG_TEXT_LINES, MULTI_PICKLIST_LINES = 32768, 3, 4

FIELD_TYPES = {"text": "Text", "long_text": "LongTextArea", "number": "Number", "currency": "Currency",
               "percent": "Percent", "checkbox": "Checkbox", "date": "Date", "datetime": "DateTime",
               "picklist": "Picklist", "multi_picklist": "MultiselectPicklist", "lookup": "Lookup",
               "email": "Email", "phone": "Phone", "url": "Url"}
BLUEPRINT_TYPES = {sf: bp for bp, sf in FIELD_TYPES.items()}
NUMERIC_TYPES = ("number", "currency", "percent")
# Salesforce's UI calls `Forecast` "Commit" (reference §6, WSDL ForecastCategories).
FORECASTS = {"pipeline": "Pipeline", "best_case": "BestCase", "commit": "Forecast", "closed": "Closed",
             "omitted": "Omitted"}
BLUEPRINT_FORECASTS = {sf: bp for bp, sf in FORECASTS.items()} | {"MostLikely": "best_case"}
# StandardValue children in WSDL order: how value-set files write a value's dict.
STANDARD_VALUE_KEYS = ("fullName", "color", "default", "description", "isActive", "label", "allowEmail", "closed",
                       "converted", "cssExposed", "forecastCategory", "groupingString", "highPriority",
                       "probability", "reverseRole", "reviewed", "won")
_BOOLEAN_VALUE_KEYS = {"default", "isActive", "allowEmail", "closed", "converted", "cssExposed", "highPriority",
                       "reviewed", "won"}

DAYS_IN_STAGE = "Sos_Days_In_Stage__c"
STALE = "Sos_Stale__c"
AGING_MARK = "sos: derived (deal aging)"
MANAGED = "sos: managed"
REQUIRED_SUFFIX = "__required"   # compile.requirement_rule_key: rules made from stages' `require`

# mdapi child element → (source-format type, folder, file suffix)
SOURCE_CHILDREN = {"fields": ("CustomField", "fields", "field"),
                   "validationRules": ("ValidationRule", "validationRules", "validationRule"),
                   "businessProcesses": ("BusinessProcess", "businessProcesses", "businessProcess"),
                   "recordTypes": ("RecordType", "recordTypes", "recordType")}
ZIP_DATE = (1980, 1, 1, 0, 0, 0)
SOURCE_ROOT = "force-app/main/default"


# -- what a build produces and a retrieve gives ------------------------------------------


@dataclass(frozen=True, slots=True)
class Component:
    """One component of a package, as package.xml (or destructiveChanges.xml) names it."""

    type: str            # CustomField | ValidationRule | StandardValueSet | BusinessProcess | RecordType | PermissionSet
    full_name: str       # "Opportunity.Budget_Confirmed__c", "OpportunityStage", "Opportunity.New_Business"
    address: Address | None   # the Model resource it comes from; None for derived ones (permission set, value sets)
    deleted: bool = False     # listed in destructiveChanges.xml


@dataclass(frozen=True, slots=True)
class Package:
    """An mdapi package: files by zip path, the components they hold, and what a reviewer should know."""

    files: dict[str, bytes]
    components: tuple[Component, ...]
    notes: tuple[Diagnostic, ...] = ()   # warnings: what deploying this does beyond the plan (value sets)
    api_version: str = API_VERSION

    def zip_bytes(self) -> bytes:
        """The deploy zip: sorted, fixed timestamps, so equal packages give equal bytes."""
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for name in sorted(self.files):
                archive.writestr(zipfile.ZipInfo(name, date_time=ZIP_DATE), self.files[name])
        return buffer.getvalue()


@dataclass
class LiveOrg:
    """What one retrieve says about the org, in sos's terms and in the org's."""

    model: Model                      # managed=True only where the sos mark is found
    stage_values: list[dict[str, Any]]        # every OpportunityStage value as retrieved, in order
    lead_status_values: list[dict[str, Any]]  # every LeadStatus value as retrieved, in order
    names: dict[Address, str] = field(default_factory=dict)     # each live resource's API name (value name for stages)
    formulas: dict[str, str] = field(default_factory=dict)      # "Opportunity.Sos_X" → formula, sos rules (active
    #                                                              ones) and deal-aging fields: to notice drift
    permission_set: dict[str, Any] | None = None                # {"fields": {name: editable}, "record_types": [...]}


# -- marks ----------------------------------------------------------------------------------

_ENTRY = re.compile(r"([a-z_]+) ([a-z0-9_]+)\.([a-z0-9_]+)")
_DECODER = json.JSONDecoder()


def ownership_mark(entries: Iterable[tuple[Address, Mapping[str, Any]]]) -> str:
    """`sos: managed (stage new_business.discovery {"max_days": 21}; stage renewal.discovery)`."""
    parts = []
    for address, extras in entries:
        part = f"{address.kind.value} {address.scope}.{address.key}"
        if extras:
            part += " " + json.dumps(dict(extras), sort_keys=True)
        parts.append(part)
    return f"{MANAGED} ({'; '.join(parts)})"


def with_mark(human: str, mark: str) -> str:
    """A description: the blueprint's text, a blank line, then the mark (the mark alone if no text)."""
    return f"{human}\n\n{mark}" if human else mark


def split_description(text: str | None) -> tuple[str, list[tuple[Address, dict[str, Any]]] | None, bool]:
    """(the human text, the mark's entries or None, whether it is a derived-component mark)."""
    text = text or ""
    for mark, derived in ((AGING_MARK, True), (f"{MANAGED} (", False)):
        at = text.rfind(mark)
        if at < 0 or not (at == 0 or text[:at].endswith("\n\n") or text[:at].endswith("\r\n\r\n")):
            continue
        human = text[:at].removesuffix("\r\n\r\n").removesuffix("\n\n")
        if derived:
            return human, None, True
        entries = _mark_entries(text[at + len(mark):].rstrip())
        if entries is not None:
            return human, entries, False
    return text, None, False


def _mark_entries(body: str) -> list[tuple[Address, dict[str, Any]]] | None:
    entries, position = [], 0
    while True:
        found = _ENTRY.match(body, position)
        if found is None:
            return None
        try:
            address = Address(Kind(found[1]), found[2], found[3])
        except ValueError:
            return None
        position, extras = found.end(), dict[str, Any]()
        if body.startswith(" {", position):
            try:
                extras, position = _DECODER.raw_decode(body, position + 1)
            except ValueError:
                return None
        entries.append((address, extras))
        if body.startswith("; ", position):
            position += 2
            continue
        return entries if body[position:] == ")" else None


def _extras(resource: Resource) -> dict[str, Any]:
    """The attributes Salesforce cannot hold or tell apart, carried in the mark."""
    attrs = resource.attrs
    if resource.address.kind is Kind.FIELD:
        extras: dict[str, Any] = {"api_names": dict(attrs["api_names"])} if attrs.get("api_names") else {}
        if attrs.get("default") is False:      # `default: false` and no default both deploy as defaultValue false
            extras["default"] = False
        return extras
    if resource.address.kind is Kind.STAGE and attrs.get("max_days") is not None:
        return {"max_days": attrs["max_days"]}
    return {}


# -- names ----------------------------------------------------------------------------------


def _words(key: str) -> list[str]:
    return [word.capitalize() for word in key.split("_") if word]


def developer_name(words: Sequence[str], identity: str, *, exact: bool = True, limit: int = NAME_LIMIT) -> str:
    """`words` joined by underscores, the Salesforce name rules kept (≤ `limit`, no double underscores).

    When the words do not say exactly what `identity` is (`exact=False`), or are too long,
    whole words are dropped from the end and a stable hash of `identity` is appended.
    """
    name = "_".join(words)
    if exact and len(name) <= limit:
        return name
    suffix = hashlib.sha1(identity.encode()).hexdigest()[:6]
    room = limit - len(suffix) - 1
    kept = list(words)
    while len(kept) > 1 and len("_".join(kept)) > room:
        kept.pop()
    return "_".join(kept)[:room].rstrip("_") + "_" + suffix


def rule_api_name(key: str) -> str:
    """`close_date_not_past` → `Sos_Close_Date_Not_Past`; a stage-requirement rule
    `new_business__proposal__required` → `Sos_New_Business_Proposal_<hash>` (its key does not fit the name rules)."""
    generated = key.endswith(REQUIRED_SUFFIX)
    base = key[: -len(REQUIRED_SUFFIX)] if generated else key
    exact = not generated and "__" not in key and not key.endswith("_")
    return developer_name(["Sos", *_words(base)], f"rule {key}", exact=exact)


def process_api_name(key: str) -> str:
    """The BusinessProcess and RecordType name of a pipeline: `new_business` → `New_Business`."""
    return developer_name(_words(key), f"pipeline {key}", exact="__" not in key and not key.endswith("_"))


def field_api_name(resource: Resource) -> str:
    """`Budget_Confirmed__c`, or the blueprint's `api_name` for Salesforce."""
    return salesforce_field_name(resource.address.key, resource.attrs.get("api_names"))


def stage_value_name(address: Address, attrs: Mapping[str, Any], live: LiveOrg | None) -> str:
    """The value Salesforce stores (StageName, Status) for a stage or lead status: the org's, else its label."""
    found = live.names.get(address) if live is not None else None
    return found or str(attrs.get("label") or address.key)


def retrieve_members(desired: Model) -> dict[str, list[str]]:
    """Types → members for ONE retrieve that reads everything a plan and a build need.

    Whole objects (their custom fields, validation rules, business processes and record
    types: sos-made ones the blueprint dropped must be found too), both value sets, and the
    sos permission set. `desired` does not narrow it: deletions are found among what it lacks.
    """
    return {"CustomObject": sorted(OBJECTS.values()), "PermissionSet": [PERMISSION_SET],
            "StandardValueSet": [STATUS_SET, STAGE_SET]}


# -- templates ------------------------------------------------------------------------------


def _xml_text(value: object) -> str:
    """Every `{{ }}` in a template: booleans as Salesforce writes them, text escaped for XML."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return escape(str(value))


@cache
def _templates() -> Any:
    import jinja2  # only builds need it (STYLE §1: heavy imports where used)

    return jinja2.Environment(loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
                              autoescape=False, finalize=_xml_text, trim_blocks=True, lstrip_blocks=True,
                              keep_trailing_newline=True, undefined=jinja2.StrictUndefined)


def _render(template: str, **context: Any) -> bytes:
    return str(_templates().get_template(template).render(**context)).encode("utf-8")


# -- build ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PicklistValue:
    name: str
    default: bool


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """One CustomField as custom_field.xml.j2 writes it."""

    name: str
    type: str
    label: str
    description: str
    help: str = ""
    length: int | None = None
    precision: int | None = None
    scale: int | None = None
    default_value: str | None = None
    picklist_values: tuple[PicklistValue, ...] = ()
    visible_lines: int | None = None
    reference_to: str = ""
    relationship_name: str = ""
    relationship_label: str = ""
    formula: str = ""


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
    return _Builder(desired, changes, live, allow_delete, value_sets).package(api_version)


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
        self._scopes: dict[str, Scope] = {}
        self._names: dict[str, dict[str, str]] = {}
        self.stage_names, self.status_names = self._value_names()

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
            obj = OBJECTS[resource.address.scope]
            rule = self._rule(resource)
            add(obj, "rules", rule, Component("ValidationRule", f"{obj}.{rule['name']}", resource.address))
        for address in sorted(a for a in self.writes if a.kind is Kind.PIPELINE):
            process, record_type = self._pipeline(self._desired(address))
            obj = OBJECTS[address.scope]
            add(obj, "business_processes", process,
                Component("BusinessProcess", f"{obj}.{process['name']}", address))
            add(obj, "record_types", record_type, Component("RecordType", f"{obj}.{record_type['name']}", address))
        aging = self._aging_fields()
        for spec in aging:
            add("Opportunity", "fields", spec, Component("CustomField", f"Opportunity.{spec.name}", None))

        files: dict[str, bytes] = {}
        for obj, parts in sorted(objects.items()):
            files[f"objects/{obj}.object"] = _render(
                "object.xml.j2", fields=sorted(parts["fields"], key=lambda f: f.name.lower()),
                rules=sorted(parts["rules"], key=lambda r: r["name"].lower()),
                business_processes=sorted(parts["business_processes"], key=lambda p: p["name"].lower()),
                record_types=sorted(parts["record_types"], key=lambda r: r["name"].lower()))
        for set_name, values in self._value_sets().items():
            files[f"standardValueSets/{set_name}.standardValueSet"] = _render(
                "standard_value_set.xml.j2", values=values, keys=STANDARD_VALUE_KEYS)
            components.append(Component("StandardValueSet", set_name, None))
        permission = self._permission_set(aging)
        if permission is not None:
            files[f"permissionsets/{PERMISSION_SET}.permissionset"] = _render(
                "permission_set.xml.j2", description=PERMISSION_SET_DESCRIPTION, label=PERMISSION_SET_LABEL,
                field_permissions=[{"field": name, "editable": editable}
                                   for name, editable in sorted(permission["fields"].items())],
                record_types=permission["record_types"])
            components.append(Component("PermissionSet", PERMISSION_SET, None))
        deleted = self._deletions()
        components += deleted
        if self.problems:
            raise SosError(sorted(self.problems, key=Diagnostic.sort_key))
        files["package.xml"] = _manifest([c for c in components if not c.deleted], api_version)
        if deleted:
            files["destructiveChanges.xml"] = _manifest(deleted, None)
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
        if len(label) > LABEL_LIMIT:
            self.problems.append(Diagnostic(
                resource.origin, f"field {address.scope}.{address.key} has a label of {len(label)} characters: "
                f"'{label}'; Salesforce allows {LABEL_LIMIT}", "salesforce-label",
                fix=f"shorten its `label:` to at most {LABEL_LIMIT} characters"))
        description = with_mark(str(attrs.get("description") or ""),
                                ownership_mark([(address, _extras(resource))]))
        if len(description) > FIELD_DESCRIPTION_LIMIT:
            room = FIELD_DESCRIPTION_LIMIT - (len(description) - len(str(attrs.get("description"))))
            self.problems.append(Diagnostic(
                resource.origin, f"field {address.scope}.{address.key} has a description of "
                f"{len(str(attrs.get('description')))} characters; with sos's ownership mark Salesforce keeps "
                f"{room}", "salesforce-description", fix=f"shorten its `description:` to {room} characters"))
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
        elif blueprint_type in ("picklist", "multi_picklist"):
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
        """Changed rules, and managed ones whose generated formula drifted from the org's."""
        chosen = [self._desired(a) for a in sorted(self.writes) if a.kind is Kind.RULE]
        if self.live is not None:
            for resource in self.desired.of_kind(Kind.RULE):
                if resource.address in self.writes or not self._managed_live(resource.address):
                    continue
                name = f"{OBJECTS[resource.address.scope]}.{self._rule_name(resource.address)}"
                if not _same_formula(self.live.formulas.get(name), self._rule(resource)["formula"]):
                    chosen.append(resource)     # inactive (no formula recorded) or edited in Salesforce
        return chosen

    def _rule_name(self, address: Address) -> str:
        return self._live_name(address) or rule_api_name(address.key)

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
        comment = {"when": attrs.get("when"), "require": attrs.get("require")}
        if len(description) > RULE_DESCRIPTION_LIMIT:
            # The whole text travels in the formula's comment; the description shows as much as fits.
            room = RULE_DESCRIPTION_LIMIT - len(mark) - 3
            description = with_mark(human[:room].rstrip() + "…", mark)
            comment["description"] = human
        formula = _formula_comment(address, comment) + self._condition(resource)
        if len(formula) > FORMULA_LIMIT:
            self.problems.append(Diagnostic(
                resource.origin, f"rule {address.key} becomes a Salesforce formula of {len(formula)} characters; "
                f"Salesforce allows {FORMULA_LIMIT}", "salesforce-formula-length",
                fix="split it into smaller rules"))
        return {"name": self._rule_name(address), "description": description, "formula": formula,
                "message": str(attrs.get("message") or "")}

    def _condition(self, resource: Resource) -> str:
        """The error condition formula: the generator's text for `when and not require`."""
        from sos.expr.dialects.sf_formula import SalesforceFormula
        from sos.expr.parse import parse_expression

        attrs, obj = resource.attrs, resource.address.scope
        where = resource.origin or Span(f"rule {resource.address.key}", 1, 1)
        try:
            when = parse_expression(str(attrs["when"]), lambda start, end: where) if attrs.get("when") else None
            require = parse_expression(str(attrs.get("require") or "true"), lambda start, end: where)
            generator = SalesforceFormula(self._scope(obj), self._field_names(obj), self.stage_names_by_key(),
                                          self.status_names_by_key())
            return str(generator.error_condition(when, require))
        except SosError as error:
            self.problems.extend(error.diagnostics)
            return "FALSE"

    def _scope(self, obj: str) -> Scope:
        if obj not in self._scopes:
            self._scopes[obj] = self._make_scope(obj)
        return self._scopes[obj]

    def _make_scope(self, obj: str) -> Scope:
        custom = {r.address.key: type_for_field(str(r.attrs.get("type")), values=r.attrs.get("values", ()),
                                                to=str(r.attrs.get("to") or ""))
                  for r in self.desired.of_kind(Kind.FIELD) if r.address.scope == obj}
        stages: dict[str, StageInfo] = {}
        for pipeline in self.desired.of_kind(Kind.PIPELINE):
            if pipeline.address.scope != obj:
                continue
            for key in pipeline.attrs.get("stages", ()):
                outcome = self._stage_outcome(pipeline.address.key, key)
                stages.setdefault(key, StageInfo(key, "won" if outcome == "won" else "lost" if outcome == "lost"
                                                 else "open"))
        statuses = [StatusInfo(r.address.key, bool(r.attrs.get("converted")))
                    for r in sorted(self.desired.of_kind(Kind.LEAD_STATUS), key=lambda r: r.attrs.get("position", 0))]
        return scope_for(obj, custom, stages=stages.values(), statuses=statuses if obj == "lead" else ())

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

    def _pipeline(self, resource: Resource) -> tuple[dict[str, Any], dict[str, Any]]:
        address, attrs = resource.address, resource.attrs
        name = self._live_name(address) or process_api_name(address.key)
        keys = list(attrs.get("stages", ()))
        first_open = next((k for k in keys if self._stage_outcome(address.key, k) == "open"), keys[0] if keys else "")
        values = [{"name": self.stage_names.get(Address(Kind.STAGE, address.key, k), k), "default": k == first_open}
                  for k in keys]
        mark = ownership_mark([(address, {})])
        process = {"name": name, "description": with_mark(str(attrs.get("description") or ""), mark),
                   "values": values}
        record_type = {"name": name, "process": name, "description": mark,
                       "label": str(attrs.get("label") or address.key)}
        return process, record_type

    def _stage_outcome(self, pipeline: str, key: str) -> str:
        stage = self.desired.get(Address(Kind.STAGE, pipeline, key))
        return str(stage.attrs.get("outcome", "open")) if stage is not None else "open"

    # -- stage and status values ---------------------------------------------------------

    def _value_names(self) -> tuple[dict[Address, str], dict[Address, str]]:
        """The value (fullName) of every desired stage and lead status.

        A value sos already manages keeps its name (the stored value on records), so a label
        change renames it visibly instead of adding a value; a new one is named by its label.
        A stage key shared by pipelines is one value.
        """
        names: dict[Kind, dict[Address, str]] = {Kind.STAGE: {}, Kind.LEAD_STATUS: {}}
        for kind, by_name in names.items():
            by_key: dict[str, str] = {}
            for resource in self.desired.of_kind(kind):
                address = resource.address
                name = by_key.get(address.key) or stage_value_name(address, resource.attrs, self.live)
                by_key.setdefault(address.key, name)
                by_name[address] = name
        self._check_shared_values(names[Kind.STAGE])
        return names[Kind.STAGE], names[Kind.LEAD_STATUS]

    def _check_shared_values(self, names: dict[Address, str]) -> None:
        shapes: dict[str, tuple[Address, tuple[Any, ...]]] = {}
        for address, name in sorted(names.items()):
            attrs = self.desired.resources[address].attrs
            shape = tuple(attrs.get(a) for a in ("probability", "forecast", "outcome"))
            first = shapes.setdefault(name.lower(), (address, shape))
            if first[1] != shape and first[0].key != address.key:
                self.problems.append(Diagnostic(
                    self.desired.resources[address].origin,
                    f"stages {first[0].scope}.{first[0].key} and {address.scope}.{address.key} are both the "
                    f"Salesforce stage '{name}' but differ in probability, forecast or outcome", "stage-value-conflict",
                    why="Salesforce keeps one list of stage values for every sales process",
                    fix="give one of them another label, or make them agree"))

    def _value_sets(self) -> dict[str, list[dict[str, Any]]]:
        if not self.value_sets:
            return {}
        sets: dict[str, list[dict[str, Any]]] = {}
        for kind, set_name in ((Kind.STAGE, STAGE_SET), (Kind.LEAD_STATUS, STATUS_SET)):
            touched = any(a.kind is kind for a in [*self.writes, *self.deletes])
            if kind is Kind.STAGE:
                touched = touched or any(a.kind is Kind.PIPELINE for a in self.writes)
            if touched:
                sets[set_name] = self._merged_values(kind, set_name)
        return sets

    def _merged_values(self, kind: Kind, set_name: str) -> list[dict[str, Any]]:
        """The whole value list to deploy: the blueprint's values in blueprint order, then the org's others."""
        names = self.stage_names if kind is Kind.STAGE else self.status_names
        live_values = (self.live.stage_values if kind is Kind.STAGE else self.live.lead_status_values) \
            if self.live is not None else []
        by_name = {str(v["fullName"]).lower(): v for v in live_values}
        order: list[str] = []
        for name in self._blueprint_order(kind, names):
            if name.lower() not in (n.lower() for n in order):
                order.append(name)
        order += [str(v["fullName"]) for v in live_values if str(v["fullName"]).lower() not in
                  {n.lower() for n in order}]
        addresses: dict[str, list[Address]] = {}
        for address, name in names.items():
            addresses.setdefault(name.lower(), []).append(address)
        for address in self.deletes:
            if address.kind is kind and self.live is not None and address in self.live.names:
                addresses.setdefault(self.live.names[address].lower(), []).append(address)
        values = []
        for name in order:
            live_value = by_name.get(name.lower())
            mine = sorted(addresses.get(name.lower(), []))
            written = [a for a in mine if a in self.writes or (self.live is None and a in self.desired)]
            if written:
                values.append(self._written_value(kind, name, [a for a in mine if self._kept(a)], live_value))
            elif live_value is not None:
                values.append(self._kept_value(live_value, mine))
        if kind is Kind.LEAD_STATUS:
            self._one_default(values)
        if self.live is None:
            noun = "stage" if kind is Kind.STAGE else "lead status"
            self.notes.append(Diagnostic(None, f"standardValueSets/{set_name}.standardValueSet lists only the "
                                         f"blueprint's {len(values)} {noun} values; deploying it deactivates every "
                                         f"other {noun} value in the org (and fails if records use one)",
                                         "value-set-replaces", Severity.WARNING,
                                         fix="deploy with `sos apply`, which merges the org's current values"))
        return values

    def _blueprint_order(self, kind: Kind, names: Mapping[Address, str]) -> list[str]:
        if kind is Kind.LEAD_STATUS:
            statuses = sorted(self.desired.of_kind(Kind.LEAD_STATUS), key=lambda r: r.attrs.get("position", 0))
            return [names[r.address] for r in statuses]
        order = []
        for pipeline in self.desired.of_kind(Kind.PIPELINE):
            order += [names[a] for k in pipeline.attrs.get("stages", ())
                      if (a := Address(Kind.STAGE, pipeline.address.key, k)) in names]
        return order + [names[r.address] for r in self.desired.of_kind(Kind.STAGE)]

    def _written_value(self, kind: Kind, name: str, managed: list[Address],
                       live_value: Mapping[str, Any] | None) -> dict[str, Any]:
        resource = self.desired.resources[managed[0]] if managed else None
        attrs = resource.attrs if resource is not None else {}
        mark = ownership_mark([(a, _extras(self.desired.resources[a])) for a in managed])
        value: dict[str, Any] = {"fullName": name, "default": bool((live_value or {}).get("default", False)),
                                 "description": with_mark(str(attrs.get("description") or ""), mark),
                                 "label": str(attrs.get("label") or name)}
        if live_value is not None and live_value.get("isActive") is False:
            value["isActive"] = True
        if kind is Kind.STAGE:
            outcome = attrs.get("outcome", "open")
            value.update(closed=outcome != "open", won=outcome == "won",
                         forecastCategory=FORECASTS.get(str(attrs.get("forecast")), "Pipeline"),
                         probability=int(attrs.get("probability", 0)))
        else:
            value.update(default=bool(attrs.get("default")), converted=bool(attrs.get("converted")))
        return value

    def _kept_value(self, live_value: Mapping[str, Any], mine: list[Address]) -> dict[str, Any]:
        """An org value as it is, unless a planned deletion takes sos's mark (and maybe the value) off it."""
        value = dict(live_value)
        human, entries, _ = split_description(value.get("description"))
        deleted = [a for a in mine if a in self.deletes]
        if not entries or not deleted:
            return value
        remaining = [(a, extras) for a, extras in entries if a not in self.deletes]
        if remaining:
            value["description"] = with_mark(human, ownership_mark(remaining))
        else:
            value["description"] = human
            value["isActive"] = False
            value["default"] = False
            if not human:
                del value["description"]
        return value

    def _one_default(self, values: list[dict[str, Any]]) -> None:
        """LeadStatus has exactly one default: a blueprint default written now takes it from the org's."""
        chosen = [v for v in values if v.get("default") and v.get("isActive") is not False]
        if len(chosen) <= 1:
            return
        mine = [v for v in chosen if split_description(v.get("description"))[1]]
        keep = mine[0] if mine else chosen[0]
        for value in chosen:
            if value is not keep:
                value["default"] = False
                if self.live is not None:
                    self.notes.append(Diagnostic(None, f"lead status '{keep['fullName']}' becomes the default "
                                                 f"instead of '{value['fullName']}'", "default-status",
                                                 Severity.WARNING))

    # -- deal aging ----------------------------------------------------------------------

    def _aging_fields(self) -> list[FieldSpec]:
        """`Sos_Days_In_Stage__c` and `Sos_Stale__c` when they are missing or differ from the org's."""
        specs = aging_fields(self.desired, self.stage_names, self._process_names())
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

    def _aging_after(self) -> set[str]:
        """The deal-aging fields the org has once this package is deployed."""
        wanted = {f"Opportunity.{s.name}" for s in aging_fields(self.desired, self.stage_names, self._process_names())}
        if wanted or self.live is None:
            return wanted
        existing = {name for name in self.live.formulas if name.endswith("__c")}
        return set() if self.allow_delete else existing

    def _process_names(self) -> dict[str, str]:
        return {r.address.key: self._live_name(r.address) or process_api_name(r.address.key)
                for r in self.desired.of_kind(Kind.PIPELINE)}

    # -- permission set ------------------------------------------------------------------

    def _permission_set(self, aging: list[FieldSpec]) -> dict[str, Any] | None:
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
        wanted = {"fields": fields, "record_types": record_types}
        if self.live is None:
            return wanted if fields and (self.writes or aging) else None
        return None if self.live.permission_set == wanted else wanted

    # -- deletions -----------------------------------------------------------------------

    def _deletions(self) -> list[Component]:
        deleted: list[Component] = []
        for address in sorted(self.deletes):
            name = self.live.names.get(address) if self.live is not None else None
            if address.kind is Kind.FIELD:
                deleted.append(Component("CustomField", name or f"{OBJECTS[address.scope]}."
                                         f"{salesforce_field_name(address.key)}", address, deleted=True))
            elif address.kind is Kind.RULE:
                deleted.append(Component("ValidationRule", name or f"{OBJECTS[address.scope]}."
                                         f"{rule_api_name(address.key)}", address, deleted=True))
            elif address.kind is Kind.PIPELINE:
                full = name or f"{OBJECTS[address.scope]}.{process_api_name(address.key)}"
                deleted += [Component("RecordType", full, address, deleted=True),
                            Component("BusinessProcess", full, address, deleted=True)]
        if self.allow_delete and self.live is not None and not self._aging_after():
            deleted += [Component("CustomField", name, None, deleted=True)
                        for name in sorted(self.live.formulas) if name.endswith("__c")]
        return deleted


def _formula_comment(address: Address, texts: Mapping[str, Any]) -> str:
    """The comment that keeps a rule's blueprint text in its formula (JSON strings: no `*/` inside)."""
    lines = [f"/* sos: rule {address.scope}.{address.key}"]
    for name in ("when", "require", "description"):
        if texts.get(name):
            lines.append(f"{name}: " + json.dumps(str(texts[name]), ensure_ascii=False).replace("/", "\\/"))
    return "\n".join(lines) + " */\n"


_COMMENT = re.compile(r'\A/\* sos: rule \S+((?:\r?\n[a-z]+: "(?:[^"\\]|\\.)*")*) \*/\r?\n')
_COMMENT_LINE = re.compile(r'\r?\n([a-z]+): ("(?:[^"\\]|\\.)*")')


def _comment_texts(formula: str) -> dict[str, str]:
    found = _COMMENT.match(formula)
    if found is None:
        return {}
    return {m[1]: json.loads(m[2]) for m in _COMMENT_LINE.finditer(found[1])}


def _same_formula(live: str | None, generated: str) -> bool:
    """Equal but for whitespace and line endings (Salesforce may store either)."""
    return live is not None and live.split() == generated.split()


def aging_fields(desired: Model, stage_names: Mapping[Address, str],
                 process_names: Mapping[str, str]) -> list[FieldSpec]:
    """The deal-aging formula fields on Opportunity: days in stage, and stale past the stage's max_days.

    Empty when no stage has max_days. When pipelines sharing a stage give it different
    limits, the limit is chosen by record type (each pipeline's sales process).
    """
    limits: dict[str, dict[str, int]] = {}
    for pipeline in desired.of_kind(Kind.PIPELINE):
        if pipeline.address.scope != "opportunity":
            continue
        for key in pipeline.attrs.get("stages", ()):
            address = Address(Kind.STAGE, pipeline.address.key, key)
            stage = desired.get(address)
            if stage is not None and stage.attrs.get("max_days"):
                limits.setdefault(pipeline.address.key, {})[stage_names[address]] = int(stage.attrs["max_days"])
    if not limits:
        return []
    merged: dict[str, int] = {}
    agree = True
    for by_value in limits.values():
        for name, limit in by_value.items():
            agree = agree and merged.setdefault(name, limit) == limit
    if agree:
        condition = _stage_case(merged)
    else:
        branches = "".join(f"\n    '{process_names[p]}', {_stage_case(limits[p], indent=8)}," for p in sorted(limits))
        first = min(limits)
        condition = f"CASE(RecordType.DeveloperName,{branches}\n    {_stage_case(limits[first], indent=8)})"
    days = "TODAY() - DATEVALUE(BLANKVALUE(LastStageChangeDate, CreatedDate))"
    return [
        FieldSpec(name=DAYS_IN_STAGE, type="Number", label="Days in Stage", precision=18, scale=0, formula=days,
                  description=with_mark("Days since the deal entered its current stage.", AGING_MARK)),
        FieldSpec(name=STALE, type="Checkbox", label="Stale in Stage", formula=f"{condition} = 1",
                  description=with_mark("Ticked when the deal has sat in its stage longer than the stage's "
                                        "max_days in the blueprint.", AGING_MARK)),
    ]


def _stage_case(limits: Mapping[str, int], indent: int = 4) -> str:
    """CASE(StageName, 'Discovery', IF(days > 21, 1, 0), ..., 0): numbers, since CASE results are not booleans."""
    from sos.expr.dialects.sf_formula import quote

    pad = " " * indent
    branches = "".join(f"\n{pad}{quote(name)}, IF({DAYS_IN_STAGE} > {days}, 1, 0),"
                       for name, days in limits.items())
    return f"CASE(StageName,{branches}\n{pad}0)"


def _manifest(components: Iterable[Component], version: str | None) -> bytes:
    by_type: dict[str, set[str]] = {}
    for component in components:
        by_type.setdefault(component.type, set()).add(component.full_name)
    types = [{"name": name, "members": sorted(members, key=lambda m: (m.lower(), m))}
             for name, members in sorted(by_type.items())]
    return _render("package.xml.j2", types=types, version=version)


# -- parse ----------------------------------------------------------------------------------


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _children(element: ET.Element, name: str) -> list[ET.Element]:
    return [child for child in element if _local(child.tag) == name]


def _text(element: ET.Element, name: str) -> str | None:
    found = _children(element, name)
    return (found[0].text or "") if found else None


def _flag(element: ET.Element, name: str) -> bool:
    return (_text(element, name) or "").strip().lower() == "true"


def _int(element: ET.Element, name: str) -> int | None:
    value = (_text(element, name) or "").strip()
    try:
        return int(float(value)) if value else None
    except ValueError:
        return None


def _compact(attrs: dict[str, Any]) -> dict[str, Any]:
    """As sos.model.compile keeps attributes: no None, empty text or empty list."""
    return {k: v for k, v in attrs.items() if v is not None and v != "" and v != []}


def parse_retrieved(files: Mapping[str, bytes], desired: Model | None = None) -> LiveOrg:
    """The org as one retrieve (`retrieve_members`) shows it, unzipped: resources in sos's terms.

    A component with sos's mark becomes a managed resource at the address the mark names.
    With `desired`, an unmarked component that has a desired resource's Salesforce name
    becomes a managed=False resource there (a look-alike sos must leave alone). Stage and
    status values that are inactive are not resources (they are still in `stage_values`).
    """
    reader = _Reader(desired)
    files = {name.removeprefix("unpackaged/"): body for name, body in files.items()}
    for name in sorted(files):
        folder, _, rest = name.partition("/")
        if folder == "objects" and rest.endswith(".object"):
            obj = rest.removesuffix(".object")
            key = next((k for k, v in OBJECTS.items() if v.lower() == obj.lower()), None)
            if key is not None:
                reader.object_file(key, ET.fromstring(files[name]))
        elif name == f"standardValueSets/{STAGE_SET}.standardValueSet":
            reader.stage_values = _standard_values(ET.fromstring(files[name]))
        elif name == f"standardValueSets/{STATUS_SET}.standardValueSet":
            reader.status_values = _standard_values(ET.fromstring(files[name]))
        elif name == f"permissionsets/{PERMISSION_SET}.permissionset":
            reader.permission_set(ET.fromstring(files[name]))
    return reader.live()


def _standard_values(root: ET.Element) -> list[dict[str, Any]]:
    values = []
    for element in _children(root, "standardValue"):
        value: dict[str, Any] = {}
        for child in element:
            key, text = _local(child.tag), child.text or ""
            if key in _BOOLEAN_VALUE_KEYS:
                value[key] = text.strip().lower() == "true"
            elif key == "probability":
                value[key] = int(float(text)) if text.strip() else None
            else:
                value[key] = text
        value.setdefault("default", False)
        values.append(value)
    return values


class _Reader:
    def __init__(self, desired: Model | None) -> None:
        self.desired = desired
        self.model = Model()
        self.names: dict[Address, str] = {}
        self.formulas: dict[str, str] = {}
        self.stage_values: list[dict[str, Any]] = []
        self.status_values: list[dict[str, Any]] = []
        self.permissions: dict[str, Any] | None = None
        self.processes: list[tuple[str, str, ET.Element]] = []     # (object key, name, element)
        self.record_types: dict[tuple[str, str], ET.Element] = {}  # (object key, process name lower) → element

    def add(self, address: Address, attrs: dict[str, Any], name: str, *, managed: bool = True) -> None:
        self.model.add(Resource(address, _compact(attrs), None, managed))
        self.names[address] = name

    def look_alike(self, kind: Kind, obj: str, name: str, named: Any) -> Address | None:
        """The desired address whose Salesforce name is `name` (case-insensitive), if any."""
        if self.desired is None:
            return None
        for resource in self.desired.of_kind(kind):
            if (kind is Kind.STAGE or resource.address.scope == obj) and named(resource).lower() == name.lower():
                return resource.address
        return None

    # -- objects -------------------------------------------------------------------------

    def object_file(self, obj: str, root: ET.Element) -> None:
        for element in root:
            tag = _local(element.tag)
            name = _text(element, "fullName") or ""
            if tag == "fields" and name.endswith("__c"):
                self.custom_field(obj, name, element)
            elif tag == "validationRules":
                self.validation_rule(obj, name, element)
            elif tag == "businessProcesses":
                self.processes.append((obj, name, element))
            elif tag == "recordTypes":
                self.record_types[(obj, (_text(element, "businessProcess") or "").lower())] = element

    def custom_field(self, obj: str, name: str, element: ET.Element) -> None:
        human, entries, derived = split_description(_text(element, "description"))
        full = f"{OBJECTS[obj]}.{name}"
        if derived:
            self.formulas[full] = _text(element, "formula") or ""
            return
        entry = next(((a, x) for a, x in entries or [] if a.kind is Kind.FIELD and a.scope == obj), None)
        if entry is not None:
            self.add(entry[0], _field_attrs(element, human, entry[1]), full)
            return
        address = self.look_alike(Kind.FIELD, obj, name, field_api_name)
        if address is not None and address not in self.model:
            self.add(address, _field_attrs(element, human, {}), full, managed=False)

    def validation_rule(self, obj: str, name: str, element: ET.Element) -> None:
        human, entries, _ = split_description(_text(element, "description"))
        formula = _text(element, "errorConditionFormula") or ""
        texts = _comment_texts(formula)
        attrs = {"when": texts.get("when"), "require": texts.get("require"), "message": _text(element, "errorMessage"),
                 "description": texts.get("description", human)}
        full = f"{OBJECTS[obj]}.{name}"
        entry = next((a for a, _ in entries or [] if a.kind is Kind.RULE and a.scope == obj), None)
        if entry is not None:
            self.add(entry, attrs, full)
            if _flag(element, "active"):
                self.formulas[full] = formula
            return
        address = self.look_alike(Kind.RULE, obj, name, lambda r: rule_api_name(r.address.key))
        if address is not None and address not in self.model:
            self.add(address, {**attrs, "description": human}, full, managed=False)

    # -- values, processes, permission set ---------------------------------------------------

    def values(self, kind: Kind, values: list[dict[str, Any]]) -> dict[str, Address]:
        """Stage or status resources from the active values; returns value name (lower) → one address."""
        found: dict[str, Address] = {}
        position = 0
        for value in values:
            if value.get("isActive") is False:
                continue
            name = str(value.get("fullName", ""))
            human, entries, _ = split_description(value.get("description"))
            mine = [(a, x) for a, x in entries or [] if a.kind is kind]
            if not mine:
                address = self.look_alike(kind, "lead", name, lambda r: str(r.attrs.get("label") or r.address.key))
                if address is not None and address not in self.model:
                    mine, managed = [(address, {})], False
                else:
                    continue
            else:
                managed = True
            for address, extras in mine:
                if kind is Kind.STAGE:
                    attrs = _stage_attrs(value, human, extras)
                else:
                    attrs = {"label": value.get("label") or name, "default": bool(value.get("default")),
                             "converted": bool(value.get("converted")), "description": human, "position": position}
                self.add(address, attrs, name, managed=managed)
                found.setdefault(name.lower(), address)
            position += 1
        return found

    def pipelines(self, stages: dict[str, Address]) -> None:
        by_value: dict[tuple[str, str], str] = {}    # (pipeline key, value name lower) → stage key
        for address in self.model.resources:
            if address.kind is Kind.STAGE:
                by_value[(address.scope, self.names[address].lower())] = address.key
        for obj, name, element in self.processes:
            human, entries, _ = split_description(_text(element, "description"))
            entry = next((a for a, _ in entries or [] if a.kind is Kind.PIPELINE and a.scope == obj), None)
            managed = entry is not None
            if entry is None:
                entry = self.look_alike(Kind.PIPELINE, obj, name, lambda r: process_api_name(r.address.key))
                if entry is None or entry in self.model:
                    continue
            keys = []
            for value in _children(element, "values"):
                value_name = (_text(value, "fullName") or "").lower()
                key = by_value.get((entry.key, value_name))
                if key is None:
                    key = stages[value_name].key if value_name in stages else re.sub(r"\W+", "_", value_name).strip("_")
                keys.append(key)
            record_type = self.record_types.get((obj, name.lower()))
            label = _text(record_type, "label") if record_type is not None else None
            self.add(entry, {"label": label, "description": human, "stages": keys}, f"{OBJECTS[obj]}.{name}",
                     managed=managed)

    def permission_set(self, root: ET.Element) -> None:
        self.permissions = {
            "fields": {(_text(p, "field") or ""): _flag(p, "editable") for p in _children(root, "fieldPermissions")
                       if _flag(p, "readable")},
            "record_types": sorted((_text(v, "recordType") or "") for v in _children(root, "recordTypeVisibilities")
                                   if _flag(v, "visible")),
        }

    def live(self) -> LiveOrg:
        stages = self.values(Kind.STAGE, self.stage_values)
        self.values(Kind.LEAD_STATUS, self.status_values)
        self.pipelines(stages)
        return LiveOrg(self.model, self.stage_values, self.status_values, self.names, self.formulas,
                       self.permissions)


def _field_attrs(element: ET.Element, human: str, extras: Mapping[str, Any]) -> dict[str, Any]:
    sf_type = (_text(element, "type") or "").strip()
    kind = BLUEPRINT_TYPES.get(sf_type, sf_type.lower())
    attrs: dict[str, Any] = {"type": kind, "label": _text(element, "label"), "help": _text(element, "inlineHelpText"),
                             "description": human, "api_names": extras.get("api_names")}
    if kind == "text":
        attrs["length"] = _int(element, "length")
    elif kind in NUMERIC_TYPES:
        attrs.update(precision=_int(element, "precision"), scale=_int(element, "scale"))
    elif kind == "checkbox":
        attrs["default"] = True if (_text(element, "defaultValue") or "").strip().lower() == "true" \
            else extras.get("default")
    elif kind in ("picklist", "multi_picklist"):
        values = []
        for value_set in _children(element, "valueSet"):
            for definition in _children(value_set, "valueSetDefinition"):
                values = [v for v in _children(definition, "value") if _text(v, "isActive") != "false"]
        attrs["values"] = [_text(v, "fullName") for v in values]
        attrs["default"] = next((_text(v, "fullName") for v in values if _flag(v, "default")), None)
    elif kind == "lookup":
        target = (_text(element, "referenceTo") or "").strip()
        attrs["to"] = next((k for k, v in OBJECTS.items() if v.lower() == target.lower()), target)
    return attrs


def _stage_attrs(value: Mapping[str, Any], human: str, extras: Mapping[str, Any]) -> dict[str, Any]:
    closed, won = bool(value.get("closed")), bool(value.get("won"))
    category = str(value.get("forecastCategory") or "")
    return {"label": value.get("label") or value.get("fullName"), "probability": value.get("probability"),
            "forecast": BLUEPRINT_FORECASTS.get(category, category.lower() or None),
            "outcome": "won" if closed and won else "lost" if closed else "open",
            "max_days": extras.get("max_days"), "description": human}


# -- source format --------------------------------------------------------------------------


def to_source_format(package: Package, *, project_name: str = "sos") -> dict[str, bytes]:
    """The package as an SFDX project: `sf project deploy start --manifest manifest/package.xml` deploys it.

    Object files split into one file per field, rule, business process and record type
    (objects/Opportunity/fields/X__c.field-meta.xml); other files gain `-meta.xml`; the
    manifests go to manifest/ (with destructiveChanges.xml for `--post-destructive-changes`).
    """
    tree: dict[str, bytes] = {}
    for name, body in sorted(package.files.items()):
        if name == "package.xml" or name.startswith("destructiveChanges"):
            tree[f"manifest/{name}"] = body
            continue
        folder, _, rest = name.partition("/")
        if folder != "objects":
            tree[f"{SOURCE_ROOT}/{name}-meta.xml"] = body
            continue
        obj = rest.removesuffix(".object")
        for element in ET.fromstring(body):
            type_name, child_folder, suffix = SOURCE_CHILDREN[_local(element.tag)]
            member = _text(element, "fullName") or ""
            tree[f"{SOURCE_ROOT}/objects/{obj}/{child_folder}/{member}.{suffix}-meta.xml"] = \
                _source_document(type_name, element)
    project = {"name": project_name, "namespace": "", "packageDirectories": [{"default": True, "path": "force-app"}],
               "sfdcLoginUrl": "https://login.salesforce.com", "sourceApiVersion": package.api_version}
    tree["sfdx-project.json"] = (json.dumps(project, indent=4, sort_keys=True) + "\n").encode("utf-8")
    return tree


def _source_document(type_name: str, element: ET.Element) -> bytes:
    root = ET.Element(type_name, {"xmlns": MD_NS})
    _copy_children(element, root)
    ET.indent(root, space="    ")
    body = bytes(ET.tostring(root, encoding="utf-8", xml_declaration=False))
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + body + b"\n"


def _copy_children(source: ET.Element, target: ET.Element) -> None:
    for child in source:
        copy = ET.SubElement(target, _local(child.tag))
        if len(child):
            _copy_children(child, copy)
        else:
            copy.text = child.text
