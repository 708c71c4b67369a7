"""Random damage to valid blueprints: load_blueprint reports it as diagnostics, never as an exception.

Each starter is loaded as plain data, mutated (keys deleted or invented, values of the wrong type,
list items duplicated, expressions garbled, a referenced field renamed), written back as YAML and
loaded again. Every diagnostic must say where: a span inside the file written, or no span at all
for a file-level message.

Shrinking is off: each example loads a whole blueprint, and shrinking a failure took minutes; the
failing example's mutations are printed (hypothesis `note`) instead.
"""

from __future__ import annotations

import copy
import tempfile
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, Phase, given, note, settings
from hypothesis import strategies as st

from sos.blueprint.load import load_blueprint
from sos.resources import starter_names, starters_dir

Path_ = tuple[Any, ...]

NO_SHRINK = (Phase.explicit, Phase.reuse, Phase.generate)

STARTERS = {name: yaml.safe_load((starters_dir() / f"{name}.yaml").read_text(encoding="utf-8"))
            for name in starter_names()}

SCALARS = st.one_of(
    st.integers(min_value=-10**6, max_value=10**6), st.booleans(), st.none(),
    st.floats(allow_nan=False, allow_infinity=False, width=32), st.text(max_size=12),
    st.sampled_from(["Yes", "No", "on", "1.10", "~", "", " ", "starter:smb-bant", "max_days", "owner", "lead"]),
)
ANY_VALUE = st.one_of(
    SCALARS,
    st.lists(SCALARS, max_size=3),
    st.dictionaries(st.text(min_size=1, max_size=8), SCALARS, max_size=3),
)
EXPRESSION_CHARS = st.sampled_from(list("()[]'\"<>=!&|.,+-*/ _\n\taz09") + ["and", "or", "not", "in", "stage",
                                                                             "today()", "null", "'x'"])


def walk(data: Any, prefix: Path_ = ()) -> list[Path_]:
    """Every path to a node of `data`, the root first."""
    found = [prefix]
    if isinstance(data, dict):
        for key, value in data.items():
            found += walk(value, prefix + (key,))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            found += walk(value, prefix + (index,))
    return found


def get(data: Any, path: Path_) -> Any:
    for step in path:
        data = data[step]
    return data


def is_expression(path: Path_) -> bool:
    return bool(path) and path[-1] in ("when", "require") and path[0] in ("rules", "cadences", "routing")


def mutate(draw: st.DrawFn, data: dict[str, Any]) -> str:
    """Apply one random mutation to `data` in place; return what was done, for failure reports."""
    paths = walk(data)
    fields = data.get("fields")
    candidates: dict[str, list[Any]] = {
        "delete": [p for p in paths if p],
        "retype": [p for p in paths if p],
        "unknown-key": [p for p in paths if isinstance(get(data, p), dict)],
        "duplicate": [p for p in paths if isinstance(get(data, p), list) and get(data, p)],
        "string-to-scalar": [p for p in paths if p and isinstance(get(data, p), str)],
        "expression": [p for p in paths if is_expression(p) and isinstance(get(data, p), str)],
        "rename-field": [(obj, key) for obj, items in fields.items() if isinstance(items, dict) for key in items]
        if isinstance(fields, dict) else [],
        "extends": [f"starter:{n}" for n in STARTERS] + ["starter:nope", "missing.yaml"],
    }
    kind = draw(st.sampled_from([k for k, found in candidates.items() if found]))
    choice = draw(st.sampled_from(candidates[kind]))
    if kind == "delete":
        del get(data, choice[:-1])[choice[-1]]
    elif kind == "retype":
        get(data, choice[:-1])[choice[-1]] = draw(ANY_VALUE)
    elif kind == "unknown-key":
        key = draw(st.one_of(st.text(min_size=1, max_size=10), st.sampled_from(["key", "before", "after", "type"])))
        get(data, choice)[key] = draw(ANY_VALUE)
    elif kind == "duplicate":
        items = get(data, choice)
        items.insert(draw(st.integers(0, len(items))), copy.deepcopy(draw(st.sampled_from(items))))
    elif kind == "string-to-scalar":
        get(data, choice[:-1])[choice[-1]] = draw(st.one_of(st.integers(), st.booleans(), st.none(), st.floats()))
    elif kind == "expression":
        text = get(data, choice)
        for _ in range(draw(st.integers(1, 3))):
            at = draw(st.integers(0, len(text)))
            if draw(st.booleans()) and text:
                end = min(len(text), at + draw(st.integers(1, 4)))
                text = text[:at] + text[end:]
            else:
                text = text[:at] + draw(EXPRESSION_CHARS) + text[at:]
        get(data, choice[:-1])[choice[-1]] = text
    elif kind == "rename-field":
        obj, key = choice
        new = key + draw(st.sampled_from(["_x", "s", "_2"]))
        data["fields"][obj] = {new if k == key else k: v for k, v in data["fields"][obj].items()}
        return f"rename-field {obj}.{key} -> {new}"
    else:
        data["extends"] = choice
    return f"{kind} {choice}"


def check_diagnostics(path: Path, text: str) -> None:
    blueprint, diagnostics = load_blueprint(path)
    assert (blueprint is None) == any(d.is_error for d in diagnostics)
    lines = text.splitlines()
    for d in diagnostics:
        assert d.message and d.code
        if d.span is None:
            continue
        assert d.span.line >= 1 and d.span.col >= 1, d.headline()
        if d.span.file == str(path) or Path(d.span.file).name == path.name:
            assert d.span.line <= len(lines) + 1, d.headline()
            if d.span.line <= len(lines):  # the column is on that line (or just past its end)
                assert d.span.col <= len(lines[d.span.line - 1]) + 1, d.headline()


@pytest.mark.parametrize("starter", sorted(STARTERS))
@settings(max_examples=50, deadline=None, phases=NO_SHRINK, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_mutated_starters_give_diagnostics_not_exceptions(starter: str, data: st.DataObject) -> None:
    blueprint = copy.deepcopy(STARTERS[starter])
    done = [mutate(data.draw, blueprint) for _ in range(data.draw(st.integers(1, 3), label="mutations"))]
    note(done)
    text = yaml.safe_dump(blueprint, sort_keys=False, allow_unicode=True)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "blueprint.yaml"
        path.write_text(text, encoding="utf-8")
        check_diagnostics(path, text)


@pytest.mark.parametrize("starter", sorted(STARTERS))
@settings(max_examples=10, deadline=None, phases=NO_SHRINK)
@given(data=st.data())
def test_renaming_a_required_field_is_an_unknown_field(starter: str, data: st.DataObject) -> None:
    blueprint = copy.deepcopy(STARTERS[starter])
    required = sorted({key for pipeline in blueprint["pipelines"].values() for stage in pipeline["stages"]
                       for key in stage.get("require", []) if key in blueprint["fields"].get("opportunity", {})})
    key = data.draw(st.sampled_from(required))
    fields = blueprint["fields"]["opportunity"]
    blueprint["fields"]["opportunity"] = {(k + "_renamed" if k == key else k): v for k, v in fields.items()}
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "blueprint.yaml"
        path.write_text(yaml.safe_dump(blueprint, sort_keys=False), encoding="utf-8")
        result, diagnostics = load_blueprint(path)
    assert result is None
    assert f"requires unknown field '{key}'" in " ".join(d.message for d in diagnostics if d.code == "unknown-field")


FIELD_TYPES = ["text", "long_text", "number", "currency", "percent", "checkbox", "date", "datetime", "picklist",
               "multi_picklist", "lookup", "email", "phone", "url"]


def focus(draw: st.DrawFn, starter: dict[str, Any], mixin: dict[str, Any]) -> tuple[tuple[str, str], str]:
    """A field and a pipeline the mixin leaves incomplete (a layered file may), and the child then touches."""
    field = draw(st.sampled_from([(obj, key) for obj, items in starter["fields"].items() for key in items]))
    pipeline = draw(st.sampled_from(sorted(starter["pipelines"])))
    if draw(st.booleans()):
        mixin["fields"][field[0]][field[1]].pop("type", None)
    if draw(st.booleans()):
        mixin["pipelines"][pipeline].pop("stages", None)
    return field, pipeline


def child_of(draw: st.DrawFn, starter: dict[str, Any], field: tuple[str, str], pipeline: str) -> dict[str, Any]:
    """A client blueprint over `mixin.yaml`: a few removals and partial overrides of the starter's items."""
    child: dict[str, Any] = {"sos": 1, "name": "client", "extends": "mixin.yaml"}
    fields = [field, *((obj, key) for obj, items in starter.get("fields", {}).items() for key in items)]
    stages = [(pipeline, s["key"]) for s in starter["pipelines"][pipeline]["stages"]]
    stages += [(p, s["key"]) for p, items in starter.get("pipelines", {}).items() for s in items["stages"]]
    remove: dict[str, Any] = {}
    if fields and draw(st.booleans()):
        obj, key = draw(st.sampled_from(fields))
        remove["fields"] = {obj: [key]}
        if draw(st.booleans()):
            child["fields"] = {obj: {key: {"type": draw(st.sampled_from(FIELD_TYPES))}}}
    if stages and draw(st.booleans()):
        pipeline, key = draw(st.sampled_from(stages))
        remove["stages"] = {draw(st.sampled_from([pipeline, "other"])): [key]}
    for section in ("rules", "cadences", "pipelines"):
        if starter.get(section) and draw(st.booleans()):
            remove[section] = [draw(st.sampled_from(sorted(starter[section])))]
    for section in ("lead_statuses", "routing"):
        if starter.get(section) and draw(st.booleans()):
            remove[section] = [draw(st.sampled_from([item["key"] for item in starter[section]]))]
    if remove:
        child["remove"] = remove
    _override(draw, child, fields, stages)
    return child


def _override(draw: st.DrawFn, child: dict[str, Any], fields: list[tuple[str, str]],
              stages: list[tuple[str, str]]) -> None:
    """Maybe override one field and one stage of the starter in `child`."""
    if fields and draw(st.booleans()):
        obj, key = draw(st.sampled_from(fields))
        child.setdefault("fields", {}).setdefault(obj, {})[key] = draw(st.sampled_from([
            {"type": draw(st.sampled_from(FIELD_TYPES))}, {"label": "Changed"}, {"values": ["A", "B"]}]))
    if stages and draw(st.booleans()):
        pipeline, key = draw(st.sampled_from(stages))
        new_stage = draw(st.sampled_from([
            {"key": key, "probability": draw(st.integers(-5, 120))},
            {"key": "added", "label": "Added", "probability": 50, draw(st.sampled_from(["before", "after"])): key},
            {"key": "added", "probability": 50}]))
        child.setdefault("pipelines", {})[pipeline] = {"stages": [new_stage]}


@pytest.mark.parametrize("starter", sorted(STARTERS))
@settings(max_examples=25, deadline=None, phases=NO_SHRINK, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_layered_blueprints_give_diagnostics_not_exceptions(starter: str, data: st.DataObject) -> None:
    """A damaged mixin (checked only partially, since it extends another file) under a client's overrides."""
    mixin = copy.deepcopy(STARTERS[starter])
    mixin["extends"] = "base.yaml"
    field, pipeline = focus(data.draw, STARTERS[starter], mixin)
    note([mutate(data.draw, mixin) for _ in range(data.draw(st.integers(0, 2), label="mutations"))])
    child = child_of(data.draw, STARTERS[starter], field, pipeline)
    note(child)
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        (root / "base.yaml").write_text("sos: 1\nname: base\n", encoding="utf-8")
        (root / "mixin.yaml").write_text(yaml.safe_dump(mixin, sort_keys=False, allow_unicode=True), encoding="utf-8")
        text = yaml.safe_dump(child, sort_keys=False)
        (root / "blueprint.yaml").write_text(text, encoding="utf-8")
        check_diagnostics(root / "blueprint.yaml", text)
