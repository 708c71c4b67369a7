"""What sos created in a Pipedrive account, kept in the account itself, so that any clone finds it again.

Pipedrive's pipelines, stages and lead labels have no field a mark could go in (reference §4: "pipelines/stages
have no description field for an ownership marker"), and sos keeps no state of its own on a laptop. So sos keeps
one deal field of its own, hidden from the deal screens, whose description holds this record: the ids of the
pipelines, stages and lead labels it created, its won and lost stages (deal statuses in Pipedrive) and the stage
requirements it set. Custom fields carry their own mark, at the end of their description (lower.py).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

NAME = "sos"
PREFIX = "Kept by sos: what sos manages in this account. Do not edit or delete this field.\n"
HIDDEN = {"add_visible_flag": False, "details_visible_flag": False}


@dataclass
class Registry:
    """By blueprint key: pipeline ids, stage ids (`won`/`lost` for a closed stage), lead label ids and what a label
    cannot say of its lead status (default, converted, position), and each stage requirement's fields and stages.
    `code`: the deal field holding it (None until the first apply writes it)."""

    pipelines: dict[str, int] = field(default_factory=dict)
    stages: dict[str, int | str] = field(default_factory=dict)          # "pipeline.stage" →
    lead_labels: dict[str, str] = field(default_factory=dict)
    lead_statuses: dict[str, dict[str, Any]] = field(default_factory=dict)     # what a label cannot say
    requirements: dict[str, dict[str, list[str]]] = field(default_factory=dict)   # "pipeline.stage" →
    code: str | None = None

    def description(self) -> str:
        body = {"pipelines": self.pipelines, "stages": self.stages, "lead_labels": self.lead_labels,
                "lead_statuses": self.lead_statuses, "requirements": self.requirements}
        return PREFIX + json.dumps(body, sort_keys=True, separators=(",", ":"))

    def stages_of(self, pipeline: str) -> dict[str, int | str]:
        """The stages of `pipeline` sos holds, by stage key."""
        return {key.partition(".")[2]: value for key, value in self.stages.items()
                if key.partition(".")[0] == pipeline}


def is_registry(found: dict[str, Any]) -> bool:
    return bool(found.get("is_custom_field")) and str(found.get("description") or "").startswith(PREFIX)


def parse(found: dict[str, Any]) -> Registry:
    """The record a registry field holds; an unreadable one is an empty record (its items are then look-alikes,
    which `sos apply --adopt` takes back)."""
    try:
        body = json.loads(str(found["description"])[len(PREFIX):])
        return Registry({str(k): int(v) for k, v in body.get("pipelines", {}).items()},
                        {str(k): v if v in ("won", "lost") else int(v) for k, v in body.get("stages", {}).items()},
                        {str(k): str(v) for k, v in body.get("lead_labels", {}).items()},
                        {str(k): dict(v) for k, v in body.get("lead_statuses", {}).items()},
                        {str(k): {"fields": list(v["fields"]), "stages": list(v["stages"])}
                         for k, v in body.get("requirements", {}).items()},
                        str(found["field_code"]))
    except (ValueError, TypeError, KeyError, AttributeError):
        return Registry(code=str(found["field_code"]))
