"""Semantic checks on `handoffs:`: the stage, the deal fields it carries and names, the tool and its settings."""

from __future__ import annotations

import string

from sos.blueprint.scope import standard_field_names
from sos.blueprint.types import Blueprint, Handoff
from sos.errors import Diagnostics, Span, did_you_mean

# What each tool needs and takes besides the common keys (the reference: docs/handoff.md).
TOOL_SETTINGS = {"asana": {"team": True, "template": False}, "jira": {"project": True, "issue_type": False},
                 "clickup": {"list": True}}
NOT_YET = {"monday": "monday.com", "linear": "Linear", "trello": "Trello"}
ONE_PERSON = {"jira": "a Jira issue", "clickup": "a ClickUp task"}   # tools whose work goes to a person, not a team


def deal_fields(bp: Blueprint) -> set[str]:
    return set(bp.fields.get("opportunity", {})) | standard_field_names("opportunity")


def name_fields(template: str) -> list[str]:
    """The field keys a name template places (`{account} — {name}` → account, name); ValueError when the braces
    do not pair."""
    return [field for _, field, _, _ in string.Formatter().parse(template) if field is not None]


def _span(handoff: Handoff, key: str) -> Span:
    node = handoff.node.get(key) if handoff.node else None
    return node.span if node is not None else handoff.origin


def check_handoffs(bp: Blueprint, diags: Diagnostics) -> None:
    known = deal_fields(bp)
    links: dict[str, str] = {}
    for handoff in bp.handoffs.values():
        _check_stage(bp, handoff, diags)
        _check_tool(handoff, diags)
        fields_node = handoff.node.get("fields") if handoff.node else None
        for index, key in enumerate(handoff.fields):
            if key not in known:
                span = fields_node.value[index].span if fields_node else handoff.origin
                diags.error(span, f"handoff '{handoff.key}' carries unknown deal field '{key}'", "unknown-field",
                            why="a handoff carries fields declared under fields.opportunity, or standard fields",
                            fix=did_you_mean(key, known) or "declare it under fields.opportunity")
        _check_name(handoff, known, diags)
        _check_link(bp, handoff, links, diags)


def _check_stage(bp: Blueprint, handoff: Handoff, diags: Diagnostics) -> None:
    pipelines = [p for p in bp.pipelines.values() if p.object == "opportunity"]
    if handoff.pipeline is not None:
        named = bp.pipelines.get(handoff.pipeline)
        if named is None or named.object != "opportunity":
            diags.error(_span(handoff, "pipeline"), f"handoff '{handoff.key}' names unknown deal pipeline "
                        f"'{handoff.pipeline}'", "unknown-stage",
                        fix=did_you_mean(handoff.pipeline, [p.key for p in pipelines])
                        or f"use one of {', '.join(p.key for p in pipelines)}, or leave `pipeline` out")
            return
        pipelines = [named]
    stages = {s.key for p in pipelines for s in p.stages}
    if handoff.stage not in stages:
        diags.error(_span(handoff, "stage"), f"handoff '{handoff.key}' fires on unknown stage '{handoff.stage}'",
                    "unknown-stage", why="a handoff fires when a deal enters one of its pipelines' stages",
                    fix=did_you_mean(handoff.stage, stages) or f"use one of {', '.join(sorted(stages))}")


def _check_tool(handoff: Handoff, diags: Diagnostics) -> None:
    settings = TOOL_SETTINGS.get(handoff.tool)
    if settings is None:
        later = NOT_YET.get(handoff.tool.lower())
        diags.error(_span(handoff, "tool"), f"handoff '{handoff.key}' names unknown tool '{handoff.tool}'",
                    "unknown-tool", why="sos hands off to asana, jira and clickup"
                    + (f"; it does not drive {later} yet" if later else ""),
                    fix=did_you_mean(handoff.tool, TOOL_SETTINGS) or "use `tool: asana`, `jira` or `clickup`")
        return
    for key in handoff.settings:
        if key not in settings:
            diags.error(_span(handoff, key), f"handoff '{handoff.key}' sets '{key}', which {handoff.tool} does not "
                        "take", "handoff-setting", fix=f"{handoff.tool} takes {', '.join(settings)}; drop '{key}'")
    for key, required in settings.items():
        if required and key not in handoff.settings:
            diags.error(handoff.origin, f"handoff '{handoff.key}' to {handoff.tool} needs '{key}'",
                        "handoff-setting", fix=f"add `{key}:` (docs/handoff.md says where to find it)")
    if handoff.tool in ONE_PERSON and "team" in handoff.assign_to:
        what = ONE_PERSON[handoff.tool]
        diags.error(_span(handoff, "assign_to"), f"handoff '{handoff.key}' assigns {what} to a team",
                    "handoff-setting", why=f"{what} is assigned to people", fix="assign it to {user: email}")


def _check_name(handoff: Handoff, known: set[str], diags: Diagnostics) -> None:
    try:
        placed = name_fields(handoff.name)
    except ValueError as error:
        diags.error(_span(handoff, "name"), f"handoff '{handoff.key}' has a name template that does not read: "
                    f"{error}", "handoff-name", fix="write each field as {field_key}; a brace itself as {{ or }}")
        return
    for key in placed:
        if key not in known:
            diags.error(_span(handoff, "name"), f"handoff '{handoff.key}' names the project from unknown deal "
                        f"field '{key}'", "unknown-field",
                        fix=did_you_mean(key, known) or "declare it under fields.opportunity")


def _check_link(bp: Blueprint, handoff: Handoff, links: dict[str, str], diags: Diagnostics) -> None:
    declared = bp.fields.get("opportunity", {}).get(handoff.link_field)
    if declared is not None and declared.type != "url":
        diags.error(_span(handoff, "link_field"), f"handoff '{handoff.key}' writes its link into "
                    f"'{handoff.link_field}', a {declared.type} field", "handoff-link",
                    why="the link back is a web address", fix=f"make '{handoff.link_field}' a url field, or name "
                    "another `link_field`")
    elif declared is None and handoff.link_field in standard_field_names("opportunity"):
        diags.error(_span(handoff, "link_field"), f"handoff '{handoff.key}' writes its link into the standard "
                    f"field '{handoff.link_field}'", "handoff-link", fix="name a field of its own")
    if handoff.link_field in links:
        diags.error(_span(handoff, "link_field"), f"handoffs '{links[handoff.link_field]}' and '{handoff.key}' "
                    f"write their links into the same field '{handoff.link_field}'", "handoff-link",
                    why="the link field tells which deals were handed off", fix="give each its own `link_field`")
    links.setdefault(handoff.link_field, handoff.key)
