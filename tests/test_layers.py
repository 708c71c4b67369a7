"""The pipeline's layers stay apart (STYLE.md §1): imports flow one way, heavy ones load late."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

SOS = Path(__file__).resolve().parents[1] / "sos"

# package → packages it must never import (sos.backends: see test_only_the_engine_imports_a_backend)
FORBIDDEN = {
    "sos.expr": ("sos.blueprint", "sos.model", "sos.plan", "sos.render", "sos.cli"),
    "sos.backends": ("sos.blueprint", "sos.cli"),  # no backend sees YAML
    "sos.model": ("sos.cli",),
    "sos.plan": ("sos.cli",),
    "sos.render": ("sos.cli", "sos.blueprint"),
    "sos.blueprint": ("sos.cli", "sos.model", "sos.plan"),
}
ENGINE = SOS / "engine.py"


def imports_of(path: Path) -> set[str]:
    """Every module `path` imports, at any depth (inside functions too), relative imports resolved."""
    package = module_name(path).split(".")[:None if path.name == "__init__.py" else -1]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package[:len(package) - node.level + 1] if node.level else []
            module = ".".join([*base, *([node.module] if node.module else [])])
            found.add(module)
            found.update(f"{module}.{alias.name}" for alias in node.names)   # `from sos import backends`
    return found


def module_name(path: Path) -> str:
    parts = path.relative_to(SOS.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def layer(module: str) -> str:
    """The core package (or top-level module) `module` belongs to: sos.plan.diff → sos.plan."""
    return ".".join(module.split(".")[:2])


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_imports_flow_one_way(package: str) -> None:
    folder = SOS.parent / Path(*package.split("."))
    wrong = sorted(
        f"{module_name(path)} imports {name}"
        for path in folder.rglob("*.py")
        for name in imports_of(path)
        if any(name == banned or name.startswith(banned + ".") for banned in FORBIDDEN[package])
    )
    assert wrong == []


def test_only_the_engine_imports_a_backend() -> None:
    wrong = sorted(
        f"{module_name(path)} imports {name}"
        for path in SOS.rglob("*.py")
        if path != ENGINE and layer(module_name(path)) != "sos.backends"
        for name in imports_of(path)
        if name == "sos.backends" or name.startswith("sos.backends.")
    )
    assert wrong == []


def test_the_core_packages_import_each_other_without_cycles() -> None:
    graph: dict[str, set[str]] = {}
    for path in SOS.rglob("*.py"):
        here = layer(module_name(path))
        graph.setdefault(here, set()).update(
            layer(name) for name in imports_of(path) if name.startswith("sos.") and layer(name) != here)
    cycles = set()

    def walk(node: str, trail: list[str]) -> None:
        if node in trail:
            cycle = trail[trail.index(node):]
            first = cycle.index(min(cycle))
            cycles.add(" → ".join(cycle[first:] + cycle[:first] + [min(cycle)]))
            return
        for following in sorted(graph.get(node, ())):
            walk(following, trail + [node])

    for start in sorted(graph):
        walk(start, [])
    assert sorted(cycles) == []


def test_validate_loads_no_crm_client_or_template_engine(tmp_path: Path) -> None:
    probe = (
        "import sys\n"
        "from sos.cli import cli\n"
        "try:\n"
        "    cli.main(['validate', sys.argv[1]])\n"
        "except SystemExit as exit:\n"
        "    assert exit.code == 0, exit.code\n"
        "heavy = sorted(m for m in ('simple_salesforce', 'zeep', 'jinja2', 'requests', 'lxml') if m in sys.modules)\n"
        "print('heavy:', ','.join(heavy))\n"
    )
    starter = SOS.parent / "blueprints" / "smb-bant.yaml"
    result = subprocess.run([sys.executable, "-c", probe, str(starter)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == "heavy: "


@pytest.mark.parametrize("backend", ["sos.backends.local", "sos.backends.salesforce.backend"])
def test_a_backend_loads_no_blueprint_code(backend: str) -> None:
    probe = f"import sys, {backend}; print(sorted(m for m in sys.modules if m.startswith('sos.blueprint')))"
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


# Where a CRM's name may appear: its backend folder and its dialects (ARCHITECTURE, "Layering").
CRM_HOMES = {"salesforce": ("backends/salesforce/", "expr/dialects/sf_formula.py", "expr/dialects/flow_formula.py",
                            "expr/dialects/soql.py")}
# The two narrow exceptions: the backend registry (one line per CRM, naming its modules), and a comment citing the
# CRM documentation a CRM-neutral rule follows (as every CRM fact notes its source).
REGISTRY = ("backends/__init__.py", r'"sos\.backends\.{crm}[.:\w]*"')
CITATION = r'#.*\({crm} Help, "'


def test_no_crm_is_named_outside_its_backend_and_dialects() -> None:
    wrong = []
    for crm, homes in CRM_HOMES.items():
        for path in sorted(SOS.rglob("*.py")):
            where = path.relative_to(SOS).as_posix()
            if where.startswith(homes):
                continue
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                if crm not in line.lower() or re.search(CITATION.format(crm=crm.capitalize()), line):
                    continue
                if where == REGISTRY[0] and re.search(REGISTRY[1].format(crm=crm), line):
                    continue
                wrong.append(f"sos/{where}:{number}: {line.strip()}")
    assert wrong == []
