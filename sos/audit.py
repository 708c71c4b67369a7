"""The audit report: what each rule, stage requirement and stage time limit finds in a target's records, as one
JSON form (format_version 1) that every rendering (text, markdown, csv, json, html) is made from."""

from __future__ import annotations

import datetime
from collections.abc import Mapping, Sequence
from typing import Any

from sos.model.checks import Check
from sos.model.resources import Kind, Model
from sos.model.exprs import pipeline_object

AUDIT_FORMAT_VERSION = 1

# Why a check that reads a save in progress is not counted: the audit reads records as they are.
READS_A_SAVE = ("it checks a save in progress (is_new, is_changed or prior): stored records cannot say; "
                "the CRM checks it at each save")


def labels(model: Model) -> dict[str, dict[str, str]]:
    """Stage labels by key for opportunities, lead status labels by key for leads: what reports show for a key."""
    stages: dict[str, dict[str, str]] = {}
    for stage in model.of_kind(Kind.STAGE):
        obj = pipeline_object(model, stage.address.scope)
        stages.setdefault(obj, {}).setdefault(stage.address.key, str(stage.attrs.get("label", stage.address.key)))
    for status in model.of_kind(Kind.LEAD_STATUS):
        stages.setdefault("lead", {})[status.address.key] = str(status.attrs.get("label", status.address.key))
    return stages


def report(target: Mapping[str, str], model: Model, checks: Sequence[Check], tallies: Sequence[Any],
           records: Mapping[str, int], *, today: datetime.date, generated: datetime.datetime) -> dict[str, Any]:
    """The audit report of `checks` (made from `model`) with their `tallies` (a backend's Tally each, in order), and
    how many `records` of each object the target holds."""
    found = [{
        "address": str(check.address),
        "kind": check.address.kind.value,
        "object": check.object,
        "title": check.title,
        "enforce": check.enforce,
        "origin": check.origin.origin if check.origin else None,
        "count": tally.total,
        "by_owner": dict(sorted(tally.by_owner.items(), key=lambda item: (-item[1], item[0]))),
        "by_stage": dict(sorted(tally.by_stage.items(), key=lambda item: (-item[1], item[0]))),
        "worst": [{"id": o.id, "name": o.name, "owner": o.owner, "stage": o.stage, "amount": o.amount, "url": o.url}
                  for o in tally.worst],
        "unsupported": tally.unsupported,
    } for check, tally in zip(checks, tallies, strict=True)]
    return {
        "format_version": AUDIT_FORMAT_VERSION,
        "target": dict(target),
        "generated": generated.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "today": today.isoformat(),
        "records": dict(records),
        "stages": labels(model),
        "found": sum(item["count"] for item in found),
        "checks": found,
    }
