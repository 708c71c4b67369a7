"""Generated blueprints of a given size, for benchmarks."""

from __future__ import annotations

from pathlib import Path

import yaml

OBJECTS = ("lead", "contact", "account", "opportunity")
FIELD_TYPES = ("text", "number", "currency", "checkbox", "date", "picklist")


def _field(index: int) -> dict[str, object]:
    kind = FIELD_TYPES[index % len(FIELD_TYPES)]
    field: dict[str, object] = {"type": kind, "label": f"Field {index}", "help": f"Generated field {index}."}
    if kind == "picklist":
        field["values"] = [f"Option {n}" for n in range(5)]
    return field


def blueprint(*, fields: int, stages: int, rules: int) -> dict[str, object]:
    """A valid blueprint: `fields` spread over the four objects, one pipeline of `stages`, `rules` on opportunity."""
    by_object: dict[str, dict[str, dict[str, object]]] = {obj: {} for obj in OBJECTS}
    for index in range(fields):
        by_object[OBJECTS[index % len(OBJECTS)]][f"field_{index}"] = _field(index)
    opportunity_fields = list(by_object["opportunity"])
    open_stages = max(stages - 2, 1)
    stage_list = [
        {"key": f"stage_{n}", "label": f"Stage {n}", "probability": min(5 + n * 90 // open_stages, 95),
         "max_days": 14, "require": [opportunity_fields[n % len(opportunity_fields)]]}
        for n in range(open_stages)
    ]
    stage_list += [{"key": "won", "label": "Closed Won", "probability": 100, "outcome": "won"},
                   {"key": "lost", "label": "Closed Lost", "probability": 0, "outcome": "lost"}]
    numbers = [k for k, f in by_object["opportunity"].items() if f["type"] in ("number", "currency")]
    rule_map = {
        f"rule_{n}": {"object": "opportunity", "when": f"stage >= 'stage_{n % open_stages}'",
                      "require": f"{numbers[n % len(numbers)]} >= {n} or is_blank(close_date)",
                      "message": f"Generated rule {n}."}
        for n in range(rules)
    }
    return {"sos": 1, "name": "generated", "fields": {k: v for k, v in by_object.items() if v},
            "pipelines": {"new_business": {"stages": stage_list}}, "rules": rule_map,
            "lead_statuses": [{"key": "new", "label": "New", "default": True},
                              {"key": "qualified", "label": "Qualified", "converted": True}]}


def write_project(folder: Path, **size: int) -> Path:
    """A project folder (sos.yaml with a local target, blueprint.yaml); returns the sos.yaml path."""
    (folder / "blueprint.yaml").write_text(yaml.safe_dump(blueprint(**size), sort_keys=False), encoding="utf-8")
    project = folder / "sos.yaml"
    project.write_text("sos: 1\nblueprint: blueprint.yaml\ntargets:\n  sandbox: {type: local}\n", encoding="utf-8")
    return project
