"""What Pipedrive would refuse, or hold otherwise than the blueprint says, known offline: `sos validate` runs it for
every pipedrive target, and a plan refuses on its errors before reading the account (reference/pipedrive.md §5-§7).
"""

from __future__ import annotations

from sos.backends.pipedrive.lower import ENTITIES, LOOKUPS
from sos.errors import Diagnostic, Severity
from sos.model.resources import Address, Kind, Model, Resource

def lint(desired: Model) -> list[Diagnostic]:
    problems: list[Diagnostic] = []
    for field in desired.of_kind(Kind.FIELD):
        _field(field, problems)
    for pipeline in desired.of_kind(Kind.PIPELINE):
        _pipeline(desired, pipeline, problems)
    for requirement in desired.of_kind(Kind.STAGE_REQUIREMENT):
        _requirement(desired, requirement, problems)
    return problems


def _field(field: Resource, problems: list[Diagnostic]) -> None:
    kind = str(field.attrs.get("type"))
    where = field.spans.get("type", field.origin)
    name = f"field {field.address.scope}.{field.address.key}"
    if kind == "checkbox":
        problems.append(Diagnostic(where, f"{name} is a checkbox, which Pipedrive has no field type for: sos makes "
                                   "it a Yes/No dropdown (an enum field with the options Yes and No)", "pd-checkbox",
                                   Severity.WARNING, fix="keep it so, or choose another type (docs/pipedrive.md)"))
    if kind == "datetime":
        problems.append(Diagnostic(where, f"{name} is a date and time, which Pipedrive has no field type for: sos "
                                   "makes it a date field, and the time of day is not kept", "pd-datetime",
                                   Severity.WARNING, fix="keep it so, or make it a date"))
    if kind == "lookup" and str(field.attrs.get("to")) not in LOOKUPS:
        problems.append(Diagnostic(where, f"field {field.address.scope}.{field.address.key} looks up "
                                   f"{field.attrs.get('to')} records, which Pipedrive has no field type for (it links "
                                   "users, organizations and people)", "pd-lookup",
                                   fix="look up a user, an account or a contact, or leave the field out of "
                                       "this target's blueprint"))
    if field.address.scope not in ENTITIES:
        problems.append(Diagnostic(field.origin, f"Pipedrive has no {field.address.scope} fields", "pd-object"))


def _pipeline(desired: Model, pipeline: Resource, problems: list[Diagnostic]) -> None:
    if pipeline.address.scope != "opportunity":
        problems.append(Diagnostic(pipeline.origin, f"pipeline {pipeline.address.key} is a {pipeline.address.scope} "
                                   "pipeline; Pipedrive's pipelines hold deals only", "pd-object",
                                   fix="make it a pipeline of opportunities, or leave it out of this target"))
    stages = [desired.get(Address(Kind.STAGE, pipeline.address.key, key)) for key in pipeline.attrs.get("stages", ())]
    won = [s for s in stages if s is not None and s.attrs.get("outcome") == "won"]
    lost = [s for s in stages if s is not None and s.attrs.get("outcome") == "lost"]
    if len(won) > 1:
        problems.append(Diagnostic(won[1].origin, f"pipeline {pipeline.address.key} has {len(won)} won stages "
                                   f"({_labels(won)}); Pipedrive has one won status, so they are all that status",
                                   "pd-won-stages", Severity.WARNING, fix="merge the won stages"))
    if len(lost) > 1:
        problems.append(Diagnostic(lost[1].origin, f"pipeline {pipeline.address.key} has {len(lost)} lost stages "
                                   f"({_labels(lost)}); Pipedrive has one lost status, so a lost deal's lost reason "
                                   "says which: sos counts a deal lost with a reason named as one of them in that "
                                   "stage, and any other lost deal in the first", "pd-lost-stages", Severity.WARNING,
                                   fix="in Pipedrive, add a lost reason named after each lost stage's key "
                                       "(Disqualified for disqualified) under Company settings → Lost reasons, or "
                                       "merge the stages"))


def _labels(stages: list[Resource]) -> str:
    return ", ".join(str(s.attrs.get("label")) for s in stages)


def _requirement(desired: Model, requirement: Resource, problems: list[Diagnostic]) -> None:
    pipeline = requirement.address.scope
    stages = [desired.get(Address(Kind.STAGE, pipeline, key)) for key in requirement.attrs.get("stages", ())]
    opened = any(s is not None and s.attrs.get("outcome") not in ("won", "lost") for s in stages)
    for key in requirement.attrs.get("fields", ()):
        field = desired.get(Address(Kind.FIELD, "opportunity", key))
        where = f"stage {pipeline}.{requirement.address.key} requires {key}"
        if field is None:
            problems.append(Diagnostic(requirement.origin, f"{where}, a standard deal field, which Pipedrive's API "
                                       "cannot make required per stage", "pd-standard-required", Severity.WARNING,
                                       fix="`sos audit` checks it; or make it required in Pipedrive's settings"))
        elif field.attrs.get("type") == "checkbox":
            problems.append(Diagnostic(requirement.origin, f"{where}, a checkbox: Pipedrive only requires its Yes/No "
                                       "dropdown to be answered, and No is an answer", "pd-checkbox-required",
                                       Severity.WARNING, fix="`sos audit` checks that it is Yes"))
        elif not opened:
            problems.append(Diagnostic(requirement.origin, f"{where} only when a deal is won or lost, which Pipedrive "
                                       "cannot say without requiring it in every stage", "pd-closed-required",
                                       Severity.WARNING, fix="`sos audit` checks it; or require it in an open "
                                                             "stage too"))
