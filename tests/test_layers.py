"""The pipeline's layers stay apart (STYLE.md §1): imports flow one way, heavy ones load late."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

SOS = Path(__file__).resolve().parents[1] / "sos"

# package → packages it must never import
FORBIDDEN = {
    "sos.expr": ("sos.blueprint", "sos.model", "sos.plan", "sos.render", "sos.backends", "sos.cli"),
    "sos.backends": ("sos.blueprint", "sos.cli"),  # no backend sees YAML
    "sos.model": ("sos.cli", "sos.backends"),
    "sos.plan": ("sos.cli",),
    "sos.render": ("sos.cli", "sos.blueprint", "sos.backends"),
    "sos.blueprint": ("sos.cli", "sos.model", "sos.plan", "sos.backends"),
}


def imports_of(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def module_name(path: Path) -> str:
    return ".".join(path.relative_to(SOS.parent).with_suffix("").parts)


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
