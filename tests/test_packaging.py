"""The wheel carries what sos needs at run time: schemas and starter blueprints, found without the checkout.

The wheel is built from a copy of the checkout (so no build/ folder lands in it) and installed with
--no-deps into a plain folder. Its programs then run with that folder first on the path, the
dependencies from this interpreter's site-packages and site processing off (`-S`), so the editable
install of the checkout (a .pth file) is out of sight, in a working directory outside the checkout.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
IGNORE = shutil.ignore_patterns(".git", ".venv", "build", "dist", "*.egg-info", "tests", "__pycache__",
                                ".pytest_cache", ".hypothesis", ".mypy_cache", ".ruff_cache", ".sos")

PROBE = """\
import json, sos, sos.resources as r
print(json.dumps({"package": sos.__file__, "schemas": str(r.schemas_dir()), "starters": str(r.starters_dir()),
                  "starter_names": r.starter_names(), "schema_title": r.load_schema("blueprint")["title"]}))
"""

LOAD = """\
import json, sys
from pathlib import Path
from sos.blueprint.load import load_blueprint
blueprint, diagnostics = load_blueprint(Path(sys.argv[1]))
print(json.dumps({"name": blueprint and blueprint.name, "diagnostics": [d.headline() for d in diagnostics]}))
"""

DASHBOARD = """\
import json, sys
from sos.render.audit_html import render_html
page = render_html(json.loads(open(sys.argv[1], encoding="utf-8").read()))
print(json.dumps({"style": "th button" in page, "script": "table.sortable" in page, "found": '"found">57<' in page}))
"""


def run(args: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(args, capture_output=True, text=True, timeout=300, **kwargs)  # type: ignore[call-overload]
    assert result.returncode == 0, f"{args} failed:\n{result.stdout}\n{result.stderr}"
    return result


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The folder the built wheel was installed into."""
    root = tmp_path_factory.mktemp("packaging")
    shutil.copytree(REPO, root / "src", ignore=IGNORE)
    run([sys.executable, "-m", "pip", "wheel", str(root / "src"), "--no-deps", "--quiet", "-w", str(root / "dist")])
    [wheel] = (root / "dist").glob("sos_crm-*.whl")   # the distribution is sos-crm; the command sos
    run([sys.executable, "-m", "pip", "install", "--no-deps", "--quiet", "--target", str(root / "site"), str(wheel)])
    return root / "site"


def python(site: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    path = f"{site}:{sysconfig.get_paths()['purelib']}"
    return subprocess.run([sys.executable, "-S", *args], capture_output=True, text=True, timeout=120, cwd=cwd,
                          env={"PYTHONPATH": path, "NO_COLOR": "1", "HOME": str(cwd), "PATH": "/usr/bin:/bin"})


def test_installed_package_finds_its_data(installed: Path, tmp_path: Path) -> None:
    result = python(installed, "-c", PROBE, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    found = json.loads(result.stdout)
    assert Path(found["package"]).is_relative_to(installed)
    schemas, starters = Path(found["schemas"]), Path(found["starters"])
    assert schemas.is_relative_to(installed) and starters.is_relative_to(installed)
    assert sorted(p.name for p in schemas.glob("*.schema.json")) == [
        "blueprint.schema.json", "plan.schema.json", "project.schema.json"]
    assert found["starter_names"] == ["b2b-saas-meddicc", "plg-inbound", "services-agency", "smb-bant"]
    assert found["schema_title"] == "sos blueprint"


def test_installed_sos_init_makes_a_valid_project(installed: Path, tmp_path: Path) -> None:
    script = installed / "bin" / "sos"
    assert script.is_file()
    init = python(installed, str(script), "init", "acme", "--starter", "smb-bant", cwd=tmp_path)
    assert init.returncode == 0, init.stderr
    assert (tmp_path / "acme" / "blueprint.yaml").is_file()
    loaded = python(installed, "-c", LOAD, "acme/blueprint.yaml", cwd=tmp_path)
    assert loaded.returncode == 0, loaded.stderr
    found = json.loads(loaded.stdout)
    assert found["name"] == "acme"
    assert [d.rsplit(" ", 1)[1] for d in found["diagnostics"]] == ["[placeholder-domain]"]   # the starter's team
    validate = python(installed, str(script), "validate", cwd=tmp_path / "acme")
    assert validate.returncode == 0 and "[placeholder-domain]" in validate.stderr
    assert validate.stdout.startswith("blueprint.yaml is valid: ")


def test_installed_package_renders_the_audit_dashboard(installed: Path, tmp_path: Path) -> None:
    report = REPO / "tests" / "render" / "audit_report.json"
    result = python(installed, "-c", DASHBOARD, str(report), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"style": True, "script": True, "found": True}


def test_installed_sos_docs_finds_its_templates(installed: Path, tmp_path: Path) -> None:
    script = installed / "bin" / "sos"
    for fmt, page in (("markdown", "pipeline-new_business.md"), ("html", "playbook.html")):
        result = python(installed, str(script), "docs", "starter:smb-bant", "--format", fmt, "--out", "out",
                        cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        assert "Quote sent" in (tmp_path / "out" / page).read_text(encoding="utf-8")
