"""The client's playbook in one JSON form, from the resolved blueprint: what a new rep reads to learn the process.

Everything is in the sales team's words: field labels and help texts, stage and status labels, conditions as
sentences (sos.expr.dialects.words), cadences and routes as "when … then …". `sos docs` renders it
(sos/render/playbook.py) as a Markdown tree and one HTML page.
"""

from __future__ import annotations

import re
from typing import Any

from sos.blueprint.types import Blueprint, Cadence, Field, Handoff, Pipeline, Route, Stage
from sos.expr.ast import Expr
from sos.expr.dialects.words import Wording, to_words
from sos.model.automation import (
    Assignee,
    CreateTask,
    Notify,
    Owner,
    Queue,
    RecordCreated,
    Report,
    RoundRobin,
    Schedule,
    StageAgeOver,
    StageEntered,
    StatusEntered,
    User,
    action_from,
    assignee_from,
    trigger_from,
)

FORMAT_VERSION = 1
NOUNS = {"opportunity": ("deal", "deals"), "lead": ("lead", "leads"), "account": ("account", "accounts"),
         "contact": ("contact", "contacts")}
FORECAST = {"pipeline": "Pipeline", "best_case": "Best Case", "commit": "Commit", "closed": "Closed",
            "omitted": "Omitted"}
ENFORCE = {"always": "The CRM refuses any save that breaks it.",
           "on_stage_change": "The CRM refuses creating the {noun} or changing its {step} while it is broken; "
                              "other edits still save.",
           "audit": "Never blocks a save: the weekly audit lists the {nouns} that break it."}
# What a stage's requirements (to enter it, to leave it) do, by the stage's `enforce`.
ENFORCE_STAGE = {"always": "The CRM refuses any save of a {noun} in this stage until these are done.",
                 "on_stage_change": "The CRM refuses a stage change (or a new {noun}) that would break these; "
                                    "other edits still save.",
                 "audit": "Never blocks a save: the weekly audit lists the {nouns} that miss them."}
REPORTS = {"pipeline_review": "the pipeline review", "forecast": "the forecast", "data_hygiene": "the data-hygiene "
           "audit", "stale_deals": "the list of stale deals"}
DAYS = {"day": "Every day", "weekday": "Every weekday"}


def playbook(bp: Blueprint) -> dict[str, Any]:
    """The playbook of `bp` (a resolved blueprint) as plain data, format_version 1."""
    return {
        "format_version": FORMAT_VERSION,
        "name": bp.name,
        "description": bp.description,
        "pipelines": [_pipeline(bp, pipeline) for pipeline in bp.pipelines.values()],
        "rules": [_rule(bp, rule.key) for rule in bp.rules.values()],
        "lead_statuses": [{"key": s.key, "label": s.label, "description": s.description, "default": s.default,
                           "converted": s.converted} for s in bp.lead_statuses],
        "cadences": [_cadence(bp, cadence) for cadence in bp.cadences.values()],
        "routes": [_route(bp, position, route) for position, route in enumerate(bp.routing, 1)],
        "handoffs": [_handoff(bp, handoff) for handoff in bp.handoffs.values()],
    }


def wording(bp: Blueprint, obj: str) -> Wording:
    """What the sales team calls `obj`'s records, fields, stages and statuses."""
    fields = {key: f.label for key, f in bp.fields.get(obj, {}).items()}
    stages = {s.key: s.label for p in bp.pipelines.values() if p.object == obj for s in p.stages}
    statuses = {s.key: s.label for s in bp.lead_statuses} if obj == "lead" else {}
    lost = frozenset(s.key for p in bp.pipelines.values() if p.object == obj for s in p.stages if s.outcome == "lost")
    return Wording(_noun(obj), fields, stages, statuses, lost)


def field_label(bp: Blueprint, obj: str, key: str) -> str:
    """A field's label: the blueprint's for a custom field, the key in words for a standard one."""
    found = bp.fields.get(obj, {}).get(key)
    return found.label if found else key.replace("_", " ").capitalize()


def _pipeline(bp: Blueprint, pipeline: Pipeline) -> dict[str, Any]:
    return {"key": pipeline.key, "label": pipeline.label, "object": pipeline.object,
            "noun": _noun(pipeline.object), "description": pipeline.description,
            "stages": [_stage(bp, pipeline, stage) for stage in pipeline.stages]}


def _carried(bp: Blueprint, pipeline: Pipeline, stage: Stage) -> list[dict[str, str]]:
    """What earlier stages still require in `stage`: an open stage's `require` and `require_to_leave` hold in every
    later open stage and in the won stages, never in a lost one (docs/language.md, pipelines). Their help texts are
    with the stage that asks first."""
    if stage.outcome == "lost":
        return []
    earlier = [s for s in pipeline.stages if s.outcome == "open"]
    earlier = earlier[:earlier.index(stage)] if stage in earlier else earlier
    carried: dict[str, dict[str, str]] = {}
    for before in earlier:
        for keys, since in ((before.require, before.label), (before.require_to_leave, f"leaving {before.label}")):
            for key in keys:
                carried.setdefault(key, {**_required(bp, pipeline.object, key), "help": "", "since": since})
    return [item for key, item in carried.items() if key not in stage.require]


def _stage(bp: Blueprint, pipeline: Pipeline, stage: Stage) -> dict[str, Any]:
    return {"key": stage.key, "label": stage.label, "probability": stage.probability,
            "forecast": FORECAST.get(stage.forecast, stage.forecast), "outcome": stage.outcome,
            "max_days": stage.max_days, "description": stage.description,
            "to_enter": [_required(bp, pipeline.object, key) for key in stage.require],
            "carried": _carried(bp, pipeline, stage),
            "to_leave": [_required(bp, pipeline.object, key) for key in stage.require_to_leave],
            "enforce": ENFORCE_STAGE.get(stage.enforce, "").format(noun=_noun(pipeline.object),
                                                                   nouns=_nouns(pipeline.object))}


def _required(bp: Blueprint, obj: str, key: str) -> dict[str, str]:
    found: Field | None = bp.fields.get(obj, {}).get(key)
    return {"key": key, "label": field_label(bp, obj, key), "help": found.help if found else "",
            "how": "ticked" if found is not None and found.type == "checkbox" else "filled in"}


def _rule(bp: Blueprint, key: str) -> dict[str, Any]:
    rule = bp.rules[key]
    step = "status" if rule.object == "lead" else "stage"
    return {"key": rule.key, "title": rule.key.replace("_", " ").capitalize(), "object": rule.object,
            "noun": _noun(rule.object), "when": _words(bp, rule.object, rule.when) if rule.when else None,
            "require": _words(bp, rule.object, rule.require), "message": rule.message,
            "description": rule.description,
            "enforce": ENFORCE.get(rule.enforce, "").format(noun=_noun(rule.object), nouns=_nouns(rule.object),
                                                            step=step)}


def _cadence(bp: Blueprint, cadence: Cadence) -> dict[str, Any]:
    obj = cadence.scope
    trigger = trigger_from(cadence.trigger, cadence.schedule)
    when = _when(bp, obj, trigger)
    if cadence.when is not None:
        when += f" and {_words(bp, obj, cadence.when)}"
    return {"key": cadence.key, "sentence": f"{when}, {_then(bp, action_from(cadence.action))}.",
            "scheduled": isinstance(trigger, Schedule), "description": cadence.description}


def _when(bp: Blueprint, obj: str, trigger: object) -> str:
    noun = _noun(obj)
    labels = wording(bp, obj)
    match trigger:
        case RecordCreated():
            return f"When a {noun} is created"
        case StageEntered(stage=stage):
            return f"When a {noun} enters {labels.stages.get(stage, stage)}"
        case StatusEntered(status=status):
            return f"When a {noun}'s status becomes {labels.statuses.get(status, status)}"
        case StageAgeOver(days=None):   # a won or lost deal is never stale (docs/language.md, cadences)
            return f"When an open {noun} stays in a stage longer than the stage's time limit"
        case StageAgeOver(days=days):
            return f"When an open {noun} stays in a stage longer than {days} days"
        case Schedule(every=every, at=at, timezone=timezone):
            return f"{DAYS.get(every, f'Every {every.capitalize()}')} at {at} ({timezone})"
    raise AssertionError(f"a cadence trigger with no words: {trigger!r}")


def _then(bp: Blueprint, action: object) -> str:
    match action:
        case CreateTask(subject=subject, assign_to=who, due_in_days=days, due_in_hours=hours, priority=priority):
            due = f" due in {_count(days, 'day')}" if days is not None else \
                f" due in {_count(hours, 'hour')}" if hours is not None else ""
            urgency = f" ({priority} priority)" if priority != "normal" else ""
            return f"{_who(bp, who)} gets a task “{subject}”{due}{urgency}"
        case Notify(message=message, to=who):
            return f"{_who(bp, who)} is notified: “{message}”"
        case Report(name=name):
            return f"{REPORTS.get(name, name.replace('_', ' '))} goes out"
    raise AssertionError(f"a cadence action with no words: {action!r}")


def _route(bp: Blueprint, position: int, route: Route) -> dict[str, Any]:
    return {"key": route.key, "position": position, "object": route.object, "noun": _noun(route.object),
            "when": _words(bp, route.object, route.when) if route.when else None,
            "who": _who(bp, assignee_from(route.assign_to)), "description": route.description}


def _handoff(bp: Blueprint, handoff: Handoff) -> dict[str, Any]:
    labels = wording(bp, "opportunity")
    stage = labels.stages.get(handoff.stage, handoff.stage)
    if handoff.pipeline is not None:
        stage = next((s.label for s in bp.pipelines[handoff.pipeline].stages if s.key == handoff.stage), stage)
    name = re.sub(r"\{(\w+)\}", lambda m: f"[{field_label(bp, 'opportunity', m.group(1))}]", handoff.name)
    what = {"asana": "an Asana project", "jira": f"a Jira issue in project {handoff.settings.get('project', '')}",
            "clickup": "a ClickUp task"}.get(handoff.tool, f"a {handoff.tool} item")
    (how, whom), = handoff.assign_to.items() if handoff.assign_to else (("", ""),)
    assigned = f", assigned to {whom}" if how == "user" else f", for team {whom}" if how == "team" else ""
    return {"key": handoff.key, "sentence": f"When a deal reaches {stage}, delivery gets {what} named “{name}”"
                                            f"{assigned}; its link is written back on the deal "
                                            f"({field_label(bp, 'opportunity', handoff.link_field)}).",
            "fields": [_required(bp, "opportunity", key) for key in handoff.fields],
            "description": handoff.description}


def _who(bp: Blueprint, who: Assignee) -> str:
    match who:
        case Owner():
            return "its owner"
        case User(email=email):
            return email
        case Queue(key=key):
            return f"the {key.replace('_', ' ')} queue"
        case RoundRobin(users=users):
            return f"{_listed(users)} in turn"
    raise AssertionError(f"an assignee with no words: {who!r}")


def _words(bp: Blueprint, obj: str, expr: Expr) -> str:
    typed = bp.typed.get((obj, expr))
    return to_words(typed if typed is not None else expr, wording(bp, obj))


def _listed(items: tuple[str, ...]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _count(n: int, unit: str) -> str:
    return f"{n} {unit}" if n == 1 else f"{n} {unit}s"


def _noun(obj: str) -> str:
    return NOUNS.get(obj, (obj, obj + "s"))[0]


def _nouns(obj: str) -> str:
    return NOUNS.get(obj, (obj, obj + "s"))[1]

