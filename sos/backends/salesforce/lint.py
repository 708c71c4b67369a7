"""What Salesforce would refuse in a desired Model, known offline: `sos validate` runs it for every
salesforce target, and plans refuse on it before reading the org.

Each check is one small function over the Model, reporting at the resource's blueprint line with
the limit and the fix (reference §5, §6, §7, §10 and the facts table: field API names and labels,
255-character descriptions, picklist value limits, the forecast categories of closed stages).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from sos.backends.salesforce.marks import mark_extras, ownership_mark, with_mark
from sos.backends.salesforce.names import FORECASTS, LABEL_LIMIT, field_api_name, field_name_problem
from sos.errors import Diagnostic, Severity
from sos.model.resources import Address, Kind, Model, Resource

DESCRIPTION_LIMITS = {Kind.FIELD: 1000, Kind.PIPELINE: 255, Kind.STAGE: 255, Kind.LEAD_STATUS: 255}
HOLDERS = {Kind.FIELD: "custom field", Kind.PIPELINE: "business process", Kind.STAGE: "stage value",
           Kind.LEAD_STATUS: "lead status value"}     # the Salesforce component whose description it is
PICKLIST_VALUE_LIMIT = 1000        # values per picklist, active and inactive
PICKLIST_VALUE_LENGTH = 255        # characters per value
NOTIFICATION_BODY_LIMIT = 750      # characters of a custom notification's body
# The forecast category Salesforce keeps for closed stages (reference §6): won is Closed, lost Omitted.
CLOSED_FORECASTS = {"won": "closed", "lost": "omitted"}


def lint(desired: Model, *, formulas: bool = True) -> list[Diagnostic]:
    """Every problem Salesforce would refuse at deploy that `desired` already shows, and the warnings a team should
    hear before it deploys. `formulas=False` leaves out lowering the rules (a build lowers them itself and reports the
    same problems)."""
    problems: list[Diagnostic] = []
    for check in CHECKS:
        if formulas or check is not check_formulas:
            check(desired, problems)
    return problems


def description_with_mark(desired: Model, resource: Resource, sharing: Iterable[Address] = ()) -> str:
    """The description sos deploys for `resource`: the blueprint's text and the ownership mark, which names
    every address in `sharing` too (the pipelines that share one stage value)."""
    marked = {address: desired.resources[address] for address in sharing} | {resource.address: resource}
    entries = [(address, mark_extras(marked[address])) for address in sorted(marked)]
    return with_mark(str(resource.attrs.get("description") or ""), ownership_mark(entries))


def check_field_names(desired: Model, problems: list[Diagnostic]) -> None:
    """Each custom field's API name and label as Salesforce allows them, and no two fields of an object with one
    API name (Salesforce compares them without regard to case)."""
    taken: dict[tuple[str, str], Resource] = {}
    for field in desired.of_kind(Kind.FIELD):
        obj, key, label = field.address.scope, field.address.key, str(field.attrs.get("label", ""))
        if len(label) > LABEL_LIMIT:
            problems.append(Diagnostic(field.spans.get("label", field.origin), f"field {obj}.{key} has a "
                                       f"{len(label)}-character label; Salesforce allows {LABEL_LIMIT}",
                                       "label-too-long", fix="shorten the label and put the rest in `help:`"))
        name = field_api_name(field)
        if problem := field_name_problem(name):
            problems.append(Diagnostic(field.origin, f"field {obj}.{key} becomes Salesforce API name '{name}': "
                                       f"{problem}", "api-name",
                                       fix="shorten the key or set `api_name:` for salesforce"))
        other = taken.setdefault((obj, name.casefold()), field)
        if other is not field:
            problems.append(Diagnostic(field.origin, f"fields {obj}.{other.address.key} and {obj}.{key} both become "
                                       f"Salesforce field '{name}'", "api-name-collision",
                                       fix="rename one of them or set a distinct `api_name:`"))


def check_descriptions(desired: Model, problems: list[Diagnostic]) -> None:
    stage_values: dict[str, list[Address]] = {}      # offline, a stage value is named by its label
    for stage in desired.of_kind(Kind.STAGE):
        stage_values.setdefault(_value_name(stage), []).append(stage.address)
    for kind, limit in DESCRIPTION_LIMITS.items():
        for resource in desired.of_kind(kind):
            sharing = stage_values[_value_name(resource)] if kind is Kind.STAGE else ()
            deployed = description_with_mark(desired, resource, sharing)
            if len(deployed) <= limit:
                continue
            human = str(resource.attrs.get("description") or "")
            room = max(limit - (len(deployed) - len(human)), 0)
            problems.append(Diagnostic(
                resource.origin, f"{_what(resource.address)} has a {len(human)}-character description; with sos's "
                f"ownership mark ({len(deployed) - len(human)} characters) Salesforce keeps {limit}",
                "salesforce-description",
                why=f"Salesforce stores at most {limit} characters in a {HOLDERS[kind]} description, and sos "
                    "ends it with the mark that tells its own components apart",
                fix=f"shorten `description:` to at most {room} characters"))


def check_picklist_values(desired: Model, problems: list[Diagnostic]) -> None:
    for field in desired.of_kind(Kind.FIELD):
        values = [str(v) for v in field.attrs.get("values", ())]
        what = _what(field.address)
        if len(values) > PICKLIST_VALUE_LIMIT:
            problems.append(Diagnostic(field.origin, f"{what} has {len(values)} values; Salesforce allows "
                                       f"{PICKLIST_VALUE_LIMIT} per picklist", "salesforce-picklist-size",
                                       fix="drop unused values, or make it a text field"))
        for value in values:
            if ";" in value and field.attrs.get("type") == "multi_picklist":
                problems.append(Diagnostic(field.origin, f"{what} has the value '{value}', which contains ';'",
                                           "salesforce-picklist-semicolon",
                                           why="Salesforce stores the values chosen in a multi-select picklist "
                                               "joined with ';', so a value cannot contain one",
                                           fix=f"write it without ';', e.g. '{value.replace(';', ',')}'"))
            if len(value) > PICKLIST_VALUE_LENGTH:
                problems.append(Diagnostic(field.origin, f"{what} has a value of {len(value)} characters "
                                           f"('{value[:30]}…'); Salesforce allows {PICKLIST_VALUE_LENGTH}",
                                           "salesforce-picklist-value-length",
                                           fix=f"shorten it to {PICKLIST_VALUE_LENGTH} characters"))


def check_closed_forecasts(desired: Model, problems: list[Diagnostic]) -> None:
    for stage in desired.of_kind(Kind.STAGE):
        outcome, forecast = str(stage.attrs.get("outcome", "open")), stage.attrs.get("forecast")
        expected = CLOSED_FORECASTS.get(outcome)
        if expected is not None and forecast != expected:
            problems.append(Diagnostic(
                stage.origin, f"{outcome} stage {stage.address.scope}.{stage.address.key} has forecast '{forecast}'; "
                f"Salesforce keeps {outcome} stages in forecast category '{expected}' ({FORECASTS[expected]})",
                "salesforce-forecast", fix=f"set `forecast: {expected}` or leave `forecast:` out"))
        elif expected is None and forecast == "closed":
            problems.append(Diagnostic(
                stage.origin, f"open stage {stage.address.scope}.{stage.address.key} has forecast 'closed'; "
                "Salesforce keeps that category for won stages", "salesforce-forecast",
                fix="use pipeline, best_case, commit or omitted"))


def check_formulas(desired: Model, problems: list[Diagnostic]) -> None:
    """Every rule and stage requirement lowered to its validation rule formula: what a formula cannot say (a
    lead's compound Name, a function Salesforce lacks) is found at `sos validate`, at the expression's span."""
    from sos.backends.salesforce.lower import formula_problems

    problems += formula_problems(desired)


def _value_name(stage: Resource) -> str:
    return str(stage.attrs.get("label") or stage.address.key).casefold()


def _what(address: Address) -> str:
    if address.kind is Kind.LEAD_STATUS:
        return f"lead status {address.key}"
    return f"{address.kind.value} {address.scope}.{address.key}"


Check = Callable[[Model, list[Diagnostic]], None]

def check_notifications(desired: Model, problems: list[Diagnostic]) -> None:
    """A notify cadence's message as the body of a custom notification, which holds 750 characters (Actions
    Developer Guide, "Custom Notification Actions": body); a longer one would fail the flow, and the save with it."""
    from sos.backends.salesforce.lower.flows import held
    from sos.model.automation import Notify, automation_of

    for cadence in filter(held, desired.of_kind(Kind.AUTOMATION)):
        action = automation_of(cadence).action
        if isinstance(action, Notify) and len(action.message) > NOTIFICATION_BODY_LIMIT:
            problems.append(Diagnostic(cadence.spans.get("message", cadence.origin),
                                       f"cadence {cadence.address.key} has a {len(action.message)}-character "
                                       f"message; a Salesforce notification holds {NOTIFICATION_BODY_LIMIT}",
                                       "sf-notification-too-long", fix="shorten the message"))


def check_cadences_run(desired: Model, problems: list[Diagnostic]) -> None:
    """A warning at each cadence on a record that Salesforce will not run (a schedule runs from CI): the sandbox runs
    it, so nothing else would tell the team it never fires in the org. `sos validate` says them; a deploy goes on."""
    from sos.backends.salesforce.lower.flows import not_run
    from sos.model.automation import Schedule, automation_of

    for cadence in desired.of_kind(Kind.AUTOMATION):
        why = not_run(cadence) if cadence.attrs and not isinstance(automation_of(cadence).trigger, Schedule) else None
        if why:
            problems.append(Diagnostic(cadence.origin, f"cadence {cadence.address.key} is not applied to Salesforce: "
                                       f"{why}", "sf-cadence-not-run", severity=Severity.WARNING,
                                       fix="change it into one Salesforce runs (docs/salesforce.md, \"Cadences as "
                                           "Flows\"), or keep it knowing only the sandbox runs it"))


CHECKS: tuple[Check, ...] = (check_field_names, check_descriptions, check_picklist_values, check_closed_forecasts,
                            check_notifications, check_cadences_run, check_formulas)
