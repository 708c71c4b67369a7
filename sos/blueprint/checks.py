"""Semantic checks on a resolved blueprint: one small function each, listed in CHECKS.

Each check appends to Diagnostics and never raises; together they report every
problem at once, after the schema has vouched for the shapes.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Callable, Collection, Iterable

from sos.blueprint.handoffs import check_handoffs
from sos.blueprint.renames import check_renames
from sos.blueprint.scope import standard_field_names, typed_expr
from sos.blueprint.types import NUMBER_DEFAULTS, Blueprint, Field, Pipeline
from sos.blueprint.vars import type_problem
from sos.blueprint.yaml import Node
from sos.errors import Diagnostic, Diagnostics, Span, did_you_mean
from sos.expr.ast import Call, walk
from sos.expr.typecheck import SAVE_FUNCTIONS
from sos.expr.types import STAGE_FIELDS
from sos.naming import EXIT_SUFFIX, REQUIREMENT_RULE_SUFFIX

TYPE_OPTIONS = {
    "length": {"text"},
    "precision": {"number", "currency", "percent"},
    "scale": {"number", "currency", "percent"},
    "values": {"picklist", "multi_picklist"},
    "to": {"lookup"},
    "default": {"checkbox", "picklist"},
}


def _span(node: Node | None, key: str, fallback: Span) -> Span:
    if node is None:
        return fallback
    child = node.get(key)
    return child.span if child is not None else fallback


def check_field_options(bp: Blueprint, diags: Diagnostics) -> None:
    for field in bp.all_fields():
        for option, types in TYPE_OPTIONS.items():
            if field.node is not None and field.node.get(option) is not None and field.type not in types:
                diags.error(field.node.key_span(option),
                            f"field {field.object}.{field.key} is a {field.type}; '{option}' does not apply",
                            "option-not-for-type", fix=f"'{option}' is for {' and '.join(sorted(types))} fields")
        if field.type in ("picklist", "multi_picklist"):
            _check_picklist_values(field, diags)
        precision = field.precision or NUMBER_DEFAULTS.get(field.type, (18, 0))[0]
        if field.scale is not None and field.scale > precision:
            diags.error(_span(field.node, "scale", field.origin),
                        f"scale {field.scale} is larger than precision {precision}", "bad-scale",
                        why="precision counts all digits, scale those after the decimal point")


def _check_picklist_values(field: Field, diags: Diagnostics) -> None:
    values_node = field.node.get("values") if field.node else None
    seen: dict[str, int] = {}
    for index, value in enumerate(field.values):
        span = values_node.value[index].span if values_node else field.origin
        if not value.strip():
            diags.error(span, f"picklist {field.object}.{field.key} has an empty value", "empty-value")
        folded = value.strip().casefold()
        if folded in seen:
            diags.error(span, f"picklist {field.object}.{field.key} lists '{value}' twice", "duplicate-value",
                        why="CRMs compare picklist values without regard to case")
        seen.setdefault(folded, index)
    if field.type == "picklist" and field.default is not None and field.default not in field.values:
        diags.error(_span(field.node, "default", field.origin),
                    f"default '{field.default}' is not one of the values of {field.object}.{field.key}",
                    "bad-default", fix=did_you_mean(str(field.default), field.values))


def check_standard_names(bp: Blueprint, diags: Diagnostics) -> None:
    for obj, fields in bp.fields.items():
        standard = standard_field_names(obj)
        for field in fields.values():
            if field.key in standard:
                diags.error(field.node.key_span(field.key) if field.node else field.origin,
                            f"field {obj}.{field.key} has the name of a standard {obj} field", "shadows-standard",
                            fix=f"rename it, e.g. '{field.key}_custom', or use the standard field")


def check_duplicate_labels(bp: Blueprint, diags: Diagnostics) -> None:
    for obj, fields in bp.fields.items():
        _unique_labels(((f.label, f.origin, f"field {obj}.{f.key}") for f in fields.values()), diags)
    for pipeline in bp.pipelines.values():
        _unique_labels(((s.label, s.origin, f"stage {pipeline.key}.{s.key}") for s in pipeline.stages), diags)
    _unique_labels(((s.label, s.origin, f"lead status {s.key}") for s in bp.lead_statuses), diags)


def _unique_labels(items: Iterable[tuple[str, Span, str]], diags: Diagnostics) -> None:
    first: dict[str, str] = {}
    for label, span, what in items:
        folded = label.strip().casefold()
        if folded in first:
            diags.error(span, f"{what} has the label '{label}', as {first[folded]} does", "duplicate-label",
                        why="reps pick by label; two alike cannot be told apart")
        first.setdefault(folded, what)


def check_pipelines(bp: Blueprint, diags: Diagnostics) -> None:
    for pipeline in bp.pipelines.values():
        _check_outcomes(pipeline, diags)
        _check_stage_order(pipeline, diags)
        _check_probabilities(pipeline, diags)
        for stage in pipeline.stages:
            if stage.max_days is not None and not stage.is_open:
                diags.error(_span(stage.node, "max_days", stage.origin),
                            f"stage {pipeline.key}.{stage.key} is closed; max_days applies to open stages only",
                            "max-days-closed")


def _check_stage_order(pipeline: Pipeline, diags: Diagnostics) -> None:
    closed = None
    for stage in pipeline.stages:
        if not stage.is_open and closed is None:
            closed = stage
        elif stage.is_open and closed is not None:
            diags.warning(stage.origin, f"open stage {pipeline.key}.{stage.key} comes after {closed.outcome} stage "
                          f"'{closed.key}'", "stage-order", why="reps expect open stages first, closed ones last",
                          fix=f"move it before the closed stages (in a child blueprint: `before: {closed.key}`)")


def _check_outcomes(pipeline: Pipeline, diags: Diagnostics) -> None:
    outcomes = {stage.outcome for stage in pipeline.stages}
    for outcome, example in (("open", "Discovery"), ("won", "Closed Won"), ("lost", "Closed Lost")):
        if outcome not in outcomes:
            diags.error(pipeline.origin, f"pipeline '{pipeline.key}' has no {outcome} stage", "pipeline-outcomes",
                        why="every pipeline needs at least one open, one won and one lost stage",
                        fix=f"add a stage such as {{key: ..., label: {example}, outcome: {outcome}, ...}}")


def _check_probabilities(pipeline: Pipeline, diags: Diagnostics) -> None:
    previous = None
    for stage in pipeline.stages:
        if not stage.is_open:
            continue
        if previous is not None and stage.probability < previous.probability:
            diags.warning(_span(stage.node, "probability", stage.origin),
                          f"stage {pipeline.key}.{stage.key} has probability {stage.probability}, "
                          f"below the {previous.probability} of '{previous.key}' before it",
                          "probability-order", why="win probability usually rises as a deal advances")
        previous = stage
    for stage in pipeline.stages:
        expected = {"won": 100, "lost": 0}.get(stage.outcome)
        if expected is not None and stage.probability != expected:
            diags.warning(_span(stage.node, "probability", stage.origin),
                          f"{stage.outcome} stage {pipeline.key}.{stage.key} has probability {stage.probability}; "
                          f"{expected} is usual", "probability-closed")


def check_stage_requirements(bp: Blueprint, diags: Diagnostics) -> None:
    for pipeline in bp.pipelines.values():
        known = set(bp.fields.get(pipeline.object, {})) | standard_field_names(pipeline.object)
        for stage in pipeline.stages:
            for name, keys in (("require", stage.require), ("require_to_leave", stage.require_to_leave)):
                require_node = stage.node.get(name) if stage.node else None
                for index, key in enumerate(keys):
                    if key not in known:
                        span = require_node.value[index].span if require_node else stage.origin
                        diags.error(span, f"stage '{stage.key}' requires unknown field '{key}'", "unknown-field",
                                    why=f"a stage may only require fields declared under fields.{pipeline.object}, "
                                        "or standard fields",
                                    fix=did_you_mean(key, known) or f"declare it under fields.{pipeline.object}")
            if stage.node is not None and stage.node.get("enforce") is not None and not (
                    stage.require or stage.require_to_leave):
                diags.warning(_span(stage.node, "enforce", stage.origin), f"stage '{stage.key}' sets enforce but "
                              "requires nothing", "enforce-unused", fix="add `require` or `require_to_leave`, or drop "
                              "`enforce`")
            if stage.require_to_leave and not stage.is_open:
                diags.error(_span(stage.node, "require_to_leave", stage.origin),
                            f"stage '{stage.key}' is {stage.outcome}: a deal does not move on from it",
                            "leave-closed", fix="put the fields in `require`")
            if stage.key.endswith(EXIT_SUFFIX):
                diags.error(_span(stage.node, "key", stage.origin), f"stage key '{stage.key}' ends in "
                            f"'{EXIT_SUFFIX}', which sos keeps for stages' `require_to_leave`", "reserved-key",
                            fix="rename the stage")


def check_stage_consistency(bp: Blueprint, diags: Diagnostics) -> None:
    """A stage key shared by pipelines is one CRM stage value, so it must mean one thing."""
    seen: dict[str, tuple[str, tuple[object, ...]]] = {}
    for pipeline in bp.pipelines.values():
        for stage in pipeline.stages:
            shape = (stage.label, stage.probability, stage.forecast, stage.outcome)
            if stage.key in seen and seen[stage.key][1] != shape:
                diags.error(stage.origin, f"stage '{stage.key}' in pipeline '{pipeline.key}' differs from the "
                            f"stage of that key in pipeline '{seen[stage.key][0]}'", "stage-conflict",
                            why="CRMs keep one stage list; a shared stage needs the same label, probability, "
                                "forecast and outcome", fix="give it a different key, or make them agree")
            seen.setdefault(stage.key, (pipeline.key, shape))


def check_lead_statuses(bp: Blueprint, diags: Diagnostics) -> None:
    if not bp.lead_statuses:
        return
    where = bp.lead_statuses[0].origin
    defaults = [s for s in bp.lead_statuses if s.default]
    if len(defaults) != 1:
        spans = [s.origin for s in defaults[1:]] or [where]
        for span in spans:
            diags.error(span, f"lead statuses need exactly one default; found {len(defaults)}", "status-default",
                        fix="mark the status new leads start in with `default: true`")
    if not any(s.converted for s in bp.lead_statuses):
        diags.error(where, "no lead status is marked converted", "status-converted",
                    fix="mark the qualified status with `converted: true`")


def check_expressions(bp: Blueprint, diags: Diagnostics) -> None:
    conditions = [*((e, r.object) for r in bp.rules.values() for e in (r.when, r.require)),
                  *((c.when, c.scope) for c in bp.cadences.values()), *((r.when, r.object) for r in bp.routing)]
    for expr, obj in conditions:
        if expr is not None:
            diags.extend(typed_expr(bp, expr, obj)[1])


def check_cadences(bp: Blueprint, diags: Diagnostics) -> None:
    stage_keys = {s.key for p in bp.pipelines.values() for s in p.stages}
    status_keys = {s.key for s in bp.lead_statuses}
    has_max_days = any(s.max_days for p in bp.pipelines.values() for s in p.stages)
    for cadence in bp.cadences.values():
        trigger = cadence.trigger or {}
        trigger_node = cadence.node.get("trigger") if cadence.node else None
        span = trigger_node.span if trigger_node else cadence.origin
        if trigger.get("stage_age_over") == "max_days" and not has_max_days:
            diags.error(span, f"cadence '{cadence.key}' fires on max_days, but no stage sets max_days",
                        "no-max-days", fix="add `max_days:` to the open stages, or use a number of days")
        if (stage := trigger.get("stage_entered")) is not None and stage not in stage_keys:
            diags.error(span, f"cadence '{cadence.key}' fires on unknown stage '{stage}'", "unknown-stage",
                        fix=did_you_mean(str(stage), stage_keys))
        if (status := trigger.get("status_entered")) is not None and status not in status_keys:
            diags.error(span, f"cadence '{cadence.key}' fires on unknown lead status '{status}'", "unknown-status",
                        fix=did_you_mean(str(status), status_keys))
        action = cadence.action or {}
        if "create_task" in action:
            assignee = action["create_task"].get("assign_to", "owner")
        elif "notify" in action:
            assignee = action["notify"].get("to", "owner")
        else:
            assignee = None
        if cadence.schedule is not None and assignee == "owner":
            diags.error(cadence.origin, f"scheduled cadence '{cadence.key}' assigns to 'owner', but no record "
                        "triggers it", "owner-without-record", fix="assign to a {user: ...} or {queue: ...}")


def check_schedule_timezones(bp: Blueprint, diags: Diagnostics) -> None:
    for cadence in bp.cadences.values():
        zone = (cadence.schedule or {}).get("timezone")
        if zone is not None and type_problem("timezone", zone):
            schedule = cadence.node.get("schedule") if cadence.node is not None else None
            diags.error(_span(schedule, "timezone", cadence.origin),
                        f"cadence '{cadence.key}' is scheduled in unknown time zone '{zone}'", "unknown-timezone",
                        fix=did_you_mean(str(zone), zoneinfo.available_timezones())
                        or "use an IANA name like Europe/Berlin or America/New_York")


def check_routing(bp: Blueprint, diags: Diagnostics) -> None:
    catch_all = None
    for route in bp.routing:
        if catch_all is not None:
            diags.warning(route.origin, f"route '{route.key}' comes after catch-all route '{catch_all.key}' "
                          "and is never reached", "unreachable-route",
                          fix=f"move it before '{catch_all.key}' (`before: {catch_all.key}`)")
        elif route.when is None and not route.when_text:
            catch_all = route
    if bp.routing and catch_all is None:
        diags.warning(bp.routing[-1].origin, "no catch-all route: leads that match no route stay unassigned",
                      "no-catch-all", fix="end routing with a route that has no `when`")


def check_reserved_rule_keys(bp: Blueprint, diags: Diagnostics) -> None:
    for rule in bp.rules.values():
        if rule.key.endswith(REQUIREMENT_RULE_SUFFIX):
            diags.error(rule.origin, f"rule key '{rule.key}' ends in '{REQUIREMENT_RULE_SUFFIX}', which sos keeps "
                        "for the rules it makes from stages' `require`", "reserved-key", fix="rename the rule")


def check_save_functions(bp: Blueprint, diags: Diagnostics) -> None:
    """is_new(), is_changed() and prior() read a save in progress: only a rule that blocks saves has one."""
    places = [*((f"rule '{r.key}' is audit-only: `sos audit` reads records as they are", e)
                for r in bp.rules.values() if r.enforce == "audit" for e in (r.when, r.require)),
              *((f"cadence '{c.key}' runs on an event or a schedule, not a save", c.when)
                for c in bp.cadences.values()),
              *((f"route '{r.key}' assigns a lead, which is not a save being checked", r.when) for r in bp.routing)]
    for why, expr in places:
        for node in walk(expr) if expr is not None else ():
            if isinstance(node, Call) and node.func in SAVE_FUNCTIONS:
                diags.error(node.func_span, f"{node.func}() has no meaning here", "save-only", why=why,
                            fix="use it in a rule enforced always or on_stage_change")


def check_rule_enforce(bp: Blueprint, diags: Diagnostics) -> None:
    for rule in bp.rules.values():
        if rule.enforce == "on_stage_change" and rule.object not in STAGE_FIELDS:
            diags.error(_span(rule.node, "enforce", rule.origin),
                        f"rule '{rule.key}' is enforced on_stage_change, but {rule.object}s have no stage",
                        "enforce-no-stage", why="only opportunities (their stage) and leads (their status) move "
                        "through stages", fix="use enforce: always, or enforce: audit")


Check = Callable[[Blueprint, Diagnostics], None]

# RFC 2606 and RFC 6761: domains reserved for examples and tests, never a real mailbox.
PLACEHOLDER_DOMAINS = ("example.com", "example.net", "example.org")
PLACEHOLDER_TLDS = (".example", ".test", ".invalid", ".localhost")


def is_placeholder_address(text: str) -> bool:
    domain = text.rpartition("@")[2].lower()
    return "@" in text and (domain in PLACEHOLDER_DOMAINS or domain.endswith(PLACEHOLDER_TLDS)
                            or any(domain.endswith("." + d) for d in PLACEHOLDER_DOMAINS))


def placeholder_addresses(nodes: Iterable[Node]) -> Iterable[Node]:
    """The scalars under `nodes` that are addresses at a placeholder domain."""
    for node in nodes:
        if node.is_map or node.is_list:
            yield from placeholder_addresses(node.value.values() if node.is_map else node.value)
        elif isinstance(node.value, str) and is_placeholder_address(node.value):
            yield node


def placeholder_errors(bp: Blueprint, cadences: Collection[str], routes: Collection[str]) -> list[Diagnostic]:
    """Each placeholder address in the named cadences and routes as an error: what `sos apply` to a CRM
    refuses when it would write them."""
    places = [c.node for c in bp.cadences.values() if c.node and c.key in cadences] + [
        r.node for r in bp.routing if r.node and r.key in routes]
    return [Diagnostic(node.span, f"{node.value} is a placeholder address, not a user or team of the client",
                       "placeholder-address") for node in placeholder_addresses(places)]


def check_placeholder_addresses(bp: Blueprint, diags: Diagnostics) -> None:
    """Users, queues and notifications at example.com are a starter's stand-ins: fine in the sandbox, refused by
    `sos apply` to a CRM (sos.engine), where they would assign leads to nobody. One warning for them all."""
    places = [c.node for c in bp.cadences.values() if c.node] + [r.node for r in bp.routing if r.node]
    found = list(placeholder_addresses(places))
    if found:
        more = f" and {len(found) - 1} more" if len(found) > 1 else ""
        diags.warning(found[0].span, f"{found[0].value}{more} are placeholder addresses" if more else
                      f"{found[0].value} is a placeholder address", "placeholder-domain",
                      why="they stand in for real users and teams: leads routed or tasks sent there reach nobody",
                      fix="set the real addresses, usually in the starter's `vars:` (`sos show` lists them); "
                          "`sos apply` to a CRM refuses placeholders")


CHECKS: tuple[Check, ...] = (
    check_field_options,
    check_standard_names,
    check_duplicate_labels,
    check_pipelines,
    check_stage_requirements,
    check_stage_consistency,
    check_lead_statuses,
    check_expressions,
    check_reserved_rule_keys,
    check_rule_enforce,
    check_save_functions,
    check_cadences,
    check_schedule_timezones,
    check_routing,
    check_placeholder_addresses,
    check_handoffs,
    check_renames,
)


def run_checks(bp: Blueprint, diags: Diagnostics) -> None:
    for check in CHECKS:
        check(bp, diags)

