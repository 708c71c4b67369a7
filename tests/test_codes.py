"""Every diagnostic code sos reports is declared once (sos/codes.py, or a backend's codes.py), with the
severity its call sites use, and docs/codes.md is generated from that registry."""

from __future__ import annotations

import ast
import importlib
from collections.abc import Iterator
from pathlib import Path

from sos.backends import CODE_MODULES
from sos.codes import markdown
from sos.engine import all_codes
from sos.errors import Severity

ROOT = Path(__file__).resolve().parents[1]
SOS = ROOT / "sos"

# The calls that take a diagnostic code: its position among the arguments (or the keyword `code`).
CODE_ARGUMENT = {"Diagnostic": 2, "SosError": 1, "error": 2, "warning": 2, "refuse_link_out": 1, "_fail": 1,
                 "_error": 2}


def _function(path: Path, name: str) -> ast.FunctionDef:
    return next(node for node in ast.walk(ast.parse(path.read_text())) if isinstance(node, ast.FunctionDef)
                and node.name == name)


def _reach_suffixes() -> set[str]:
    """The code suffixes reach_problem returns, which `extends-…` and `blueprint-…` complete."""
    returns = ast.walk(_function(SOS / "blueprint/resolve.py", "reach_problem"))
    return {ast.literal_eval(node.value.elts[1]) for node in returns
            if isinstance(node, ast.Return) and isinstance(node.value, ast.Tuple)}


def _schema_kinds() -> set[str]:
    """The JSON Schema keywords sos words itself, each reported as `schema-<keyword>`."""
    for node in ast.walk(_function(SOS / "blueprint/schema.py", "_plain_message")):
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Dict):
            return {ast.literal_eval(key) for key in node.value.keys if key is not None}
    raise AssertionError("_plain_message has no table of messages")


# Codes built by an f-string, and what completes them.
FAMILIES = {"extends-{code}": _reach_suffixes, "blueprint-{code}": _reach_suffixes, "schema-{kind}": _schema_kinds}


def _name(call: ast.Call) -> str | None:
    return call.func.id if isinstance(call.func, ast.Name) else getattr(call.func, "attr", None)


def _assigned(function: ast.AST, name: str) -> Iterator[ast.expr]:
    """What `name` is set to in `function`, through plain and tuple assignments."""
    for node in ast.walk(function):
        if isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name) and target.id == name:
                    yield node.value
                elif isinstance(target, ast.Tuple) and isinstance(node.value, ast.Tuple):
                    yield from (value for part, value in zip(target.elts, node.value.elts, strict=True)
                                if isinstance(part, ast.Name) and part.id == name)


def _codes(expr: ast.expr, function: ast.AST, where: str) -> Iterator[str]:
    """The codes `expr` can be; nothing for a code the enclosing function was given (its callers are checked)."""
    if isinstance(expr, ast.Constant) and isinstance(expr.value, str):
        yield expr.value
    elif isinstance(expr, ast.IfExp):
        yield from _codes(expr.body, function, where)
        yield from _codes(expr.orelse, function, where)
    elif isinstance(expr, ast.JoinedStr):
        family = ast.unparse(expr)[2:-1]
        assert family in FAMILIES, f"{where}: code {family} is built from parts: list them in FAMILIES"
        prefix = family.split("{")[0]
        yield from (prefix + suffix for suffix in FAMILIES[family]())
    elif isinstance(expr, ast.Name) and isinstance(function, ast.FunctionDef) and expr.id not in {
            arg.arg for arg in function.args.args + function.args.kwonlyargs}:
        values = list(_assigned(function, expr.id))
        assert values, f"{where}: cannot tell which code {expr.id} holds"
        for value in values:
            yield from _codes(value, function, where)
    elif not isinstance(expr, (ast.Name, ast.Attribute)):  # a parameter, or another diagnostic's code
        raise AssertionError(f"{where}: cannot tell which code {ast.unparse(expr)} is")


def _severity(call: ast.Call) -> Severity:
    arguments = [*call.args, *(keyword.value for keyword in call.keywords)]
    warns = _name(call) == "warning" or any(ast.unparse(arg).endswith("Severity.WARNING") for arg in arguments)
    return Severity.WARNING if warns else Severity.ERROR


def _calls_with_their_function(tree: ast.Module) -> Iterator[tuple[ast.Call, ast.AST]]:
    """Each call in `tree`, with the function it is in (the module, outside any)."""
    def visit(node: ast.AST, function: ast.AST) -> Iterator[tuple[ast.Call, ast.AST]]:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.Call):
                yield child, function
            yield from visit(child, child if isinstance(child, ast.FunctionDef) else function)
    return visit(tree, tree)


def used_codes() -> dict[str, set[tuple[Path, Severity]]]:
    """Each code used in sos/, with the files that use it and at which severity."""
    used: dict[str, set[tuple[Path, Severity]]] = {"error": {(SOS / "errors.py", Severity.ERROR)}}  # SosError's
    for path in sorted(SOS.rglob("*.py")):
        for call, function in _calls_with_their_function(ast.parse(path.read_text())):
            position = CODE_ARGUMENT.get(_name(call) or "")
            code = next((k.value for k in call.keywords if k.arg == "code"), None)
            if code is None and position is not None and len(call.args) > position:
                code = call.args[position]
            if position is None or code is None:
                continue
            for name in _codes(code, function, f"{path.relative_to(ROOT)}:{call.lineno}"):
                used.setdefault(name, set()).add((path, _severity(call)))
    return used


def test_every_code_used_is_declared_and_every_declared_code_is_used() -> None:
    used, declared = used_codes(), all_codes()
    assert sorted(set(used) - set(declared)) == [], "used in sos/ but not declared in sos/codes.py"
    assert sorted(set(declared) - set(used)) == [], "declared in sos/codes.py but never used"


def test_call_sites_use_the_declared_severity() -> None:
    declared = all_codes()
    wrong = sorted(f"{name}: {severity.value} in {path.relative_to(ROOT)}" for name, uses in used_codes().items()
                   for path, severity in uses if name in declared and severity is not declared[name].severity)
    assert wrong == []


def test_a_backend_declares_only_the_codes_it_alone_uses() -> None:
    used = used_codes()
    for module in CODE_MODULES:
        path = Path(importlib.import_module(module).__file__ or "")
        owned = {ast.literal_eval(call.args[0]) for call in ast.walk(ast.parse(path.read_text()))
                 if isinstance(call, ast.Call) and _name(call) == "Code"}
        outside = sorted(f"{name} in {file.relative_to(ROOT)}" for name in owned for file, _ in used[name]
                         if not file.is_relative_to(path.parent))
        assert outside == [], f"codes {module} declares are used outside its backend: declare them in sos/codes.py"


def test_every_helper_that_takes_a_code_is_listed() -> None:
    takers = {node.name for path in SOS.rglob("*.py") for node in ast.walk(ast.parse(path.read_text()))
              if isinstance(node, ast.FunctionDef) and "code" in [arg.arg for arg in node.args.args]}
    assert takers - {"__init__"} <= set(CODE_ARGUMENT), "a new helper passes codes on: add it to CODE_ARGUMENT"


def test_docs_codes_md_is_generated_from_the_registry() -> None:
    assert (ROOT / "docs/codes.md").read_text() == markdown(all_codes()), "run `make docs`"
