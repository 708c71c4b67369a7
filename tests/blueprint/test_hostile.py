"""Hostile or broken input: each is one located error (file:line:col) and exit 1, in bounded time and output.

Explicit YAML tags, deep nesting, escapes beyond Unicode, lone surrogates and control characters,
`extends` entries naming what is no blueprint file, alias bombs, huge files and repeated errors.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from sos.blueprint.schema import MAX_PROBLEMS
from sos.blueprint.yaml import MAX_ALIAS_NODES, MAX_DEPTH, MAX_FILE_BYTES
from sos.cli import cli
from sos.cli.output import MAX_LINE_WIDTH, MAX_PER_FILE

HEAD = "sos: 1\nname: acme\n"
RULE = "rules:\n  r:\n    object: opportunity\n    require: {when}\n    message: m\n"


@pytest.fixture(autouse=True)
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("NO_COLOR", "1")
    return tmp_path


def validate(text: str, *args: str) -> Result:
    Path("b.yaml").write_text(text, encoding="utf-8")
    return CliRunner().invoke(cli, ["validate", "b.yaml", *args])


def errors(result: Result) -> list[str]:
    assert result.exit_code == 1, result.output
    return [line for line in result.stderr.splitlines() if ": error: " in line]


@pytest.mark.parametrize("text, expected", [
    pytest.param(HEAD + "description: !foo x\n",
                 "b.yaml:3:14: error: YAML tag '!foo' is not supported in sos files [yaml-tag]", id="local-tag"),
    pytest.param(HEAD + "description: !!int abc\n",
                 "b.yaml:3:14: error: YAML tag '!!int' is not supported in sos files [yaml-tag]", id="int-tag"),
    pytest.param(HEAD + "description: !!python/name:os.system x\n",
                 "b.yaml:3:14: error: YAML tag '!!python/name:os.system' is not supported in sos files [yaml-tag]",
                 id="python-tag"),
    pytest.param(HEAD + "fields: !!set {a: null}\n",
                 "b.yaml:3:9: error: YAML tag '!!set' is not supported in sos files [yaml-tag]", id="set-tag"),
    pytest.param(HEAD + "description: '" + "[" * 1000 + "'\nx: " + "[" * 1000 + "]" * 1000 + "\n",
                 "b.yaml:4:1003: error: invalid YAML: exceeded maximum nesting depth [yaml-syntax]",
                 id="nested-1000"),
    pytest.param(HEAD + "description:\n" + "".join(f"{'  ' * i}k{i}:\n" for i in range(1, MAX_DEPTH + 2)),
                 f"b.yaml:{MAX_DEPTH + 3}:{2 * MAX_DEPTH + 1}: error: the YAML is nested too deeply "
                 f"(more than {MAX_DEPTH} levels) [yaml-depth]", id="nested-block"),
    pytest.param(HEAD + RULE.format(when="'" + "not " * 1000 + "true'"),
                 "b.yaml:6:15: error: expression is nested too deeply (more than 100 levels) [expr-syntax]",
                 id="expression-1000"),
    pytest.param(HEAD + 'description: "\\U0011ffff"\n',
                 "b.yaml:3:17: error: invalid YAML: found invalid Unicode character escape code [yaml-syntax]",
                 id="beyond-unicode"),
    pytest.param(HEAD + "fields:\n  lead:\n    tier: {type: text, label: \"Tier \\ud800\"}\n",
                 "b.yaml:5:31: error: text holds a lone surrogate U+D800 [bad-character]", id="surrogate"),
    pytest.param(HEAD + "fields:\n  lead:\n    tier: {type: text, label: \"Tier\\x01\"}\n",
                 "b.yaml:5:31: error: text holds the control character U+0001 [bad-character]", id="control"),
    pytest.param(HEAD + "fields:\n  lead:\n    \"tier\\x1b\": {type: text}\n",
                 "b.yaml:5:5: error: text holds the control character U+001B [bad-character]", id="control-key"),
    pytest.param(HEAD + 'extends: ["a\\0b.yaml"]\n',
                 "b.yaml:3:11: error: text holds the control character U+0000 [bad-character]", id="extends-nul"),
    pytest.param(HEAD + "description: a\0b\n",
                 "b.yaml:3:15: error: invalid YAML: the character U+0000 is not allowed in YAML [yaml-syntax]",
                 id="raw-nul"),
])
def test_a_located_error_not_a_crash(text: str, expected: str) -> None:
    assert errors(validate(text)) == [expected]


def test_tags_in_the_project_file_too(workdir: Path) -> None:
    (workdir / "sos.yaml").write_text("sos: 1\ntargets: !!python/object:os.system {}\n", encoding="utf-8")
    (workdir / "blueprint.yaml").write_text(HEAD, encoding="utf-8")
    result = CliRunner().invoke(cli, ["validate"])
    assert errors(result) == ["sos.yaml:2:10: error: YAML tag '!!python/object:os.system' is not supported in "
                              "sos files [yaml-tag]"]


def test_a_lone_surrogate_stops_plan_too(workdir: Path) -> None:
    (workdir / "sos.yaml").write_text("sos: 1\ntargets:\n  sandbox: {type: local}\n", encoding="utf-8")
    (workdir / "blueprint.yaml").write_text(HEAD + "fields:\n  lead:\n    tier: {type: text, label: \"\\udcff\"}\n",
                                            encoding="utf-8")
    result = CliRunner().invoke(cli, ["plan"])
    assert errors(result) == ["blueprint.yaml:5:31: error: text holds a lone surrogate U+DCFF [bad-character]"]


@pytest.mark.parametrize("make, expected", [
    pytest.param(lambda d: (d / "dir.yaml").mkdir(), "dir.yaml: is a directory, not a YAML file", id="folder"),
    pytest.param(lambda d: ((d / "loop.yaml").symlink_to("loop2.yaml"), (d / "loop2.yaml").symlink_to("loop.yaml")),
                 "loop.yaml: cannot read: Too many levels of symbolic links", id="symlink-loop"),
    pytest.param(lambda d: os.mkfifo(d / "pipe.yaml"), "pipe.yaml: is not a regular file (a device, pipe or socket)",
                 id="fifo"),
    pytest.param(lambda d: (d / "big.yaml").write_text(HEAD + "#" * MAX_FILE_BYTES),
                 "big.yaml: is larger than 1 MB, too large for a YAML file sos reads", id="too-large"),
])
def test_extends_what_is_no_blueprint_file(workdir: Path, make, expected: str) -> None:
    make(workdir)
    name = expected.split(":")[0]
    assert errors(validate(HEAD + f"extends: [{name}]\n")) == [
        f"b.yaml:3:11: error: {expected} [{'file-too-large' if 'large' in expected else 'file-unreadable'}]"]


def test_extends_a_name_over_255_bytes() -> None:
    name = "é" * 130 + ".yaml"
    assert errors(validate(HEAD + f"extends: [{name}]\n")) == [
        f"b.yaml:3:11: error: {name}: cannot read: File name too long [file-unreadable]"]


def test_extends_a_file_that_is_not_yaml(workdir: Path) -> None:
    (workdir / ".env").write_text("SF_PASSWORD=x\n", encoding="utf-8")
    assert errors(validate(HEAD + "extends: [.env]\n")) == [
        "b.yaml:3:11: error: extends '.env', which is not a YAML file (.yaml or .yml) [extends-not-yaml]"]


@pytest.mark.parametrize("blueprint, expected", [
    ("/dev/zero", "sos.yaml:2:12: error: blueprint '/dev/zero' is outside the project folder [blueprint-outside]"),
    ("pipe.yaml", "pipe.yaml: is not a regular file (a device, pipe or socket) [file-unreadable]"),
])
def test_a_project_blueprint_that_would_hang(workdir: Path, blueprint: str, expected: str) -> None:
    os.mkfifo(workdir / "pipe.yaml")
    (workdir / "sos.yaml").write_text(f"sos: 1\nblueprint: {blueprint}\ntargets:\n  sandbox: {{type: local}}\n",
                                      encoding="utf-8")
    result = CliRunner().invoke(cli, ["validate"])
    assert result.exit_code == 1
    assert result.stderr.splitlines()[0] == (f"pipe.yaml:1:1: error: {expected}" if blueprint == "pipe.yaml"
                                             else expected)


def test_blueprint_folders_let_a_project_extend_a_shared_library(workdir: Path) -> None:
    (workdir / "library").mkdir()
    (workdir / "library" / "base.yaml").write_text(HEAD + "description: shared\n", encoding="utf-8")
    (workdir / "acme").mkdir()
    (workdir / "acme" / "blueprint.yaml").write_text(HEAD + "extends: [../library/base.yaml]\n", encoding="utf-8")
    (workdir / "acme" / "sos.yaml").write_text("sos: 1\ntargets:\n  sandbox: {type: local}\n", encoding="utf-8")
    os.chdir(workdir / "acme")
    assert errors(CliRunner().invoke(cli, ["validate"])) == [
        "blueprint.yaml:3:11: error: extends '../library/base.yaml', which is outside the project folder "
        "[extends-outside]"]
    (workdir / "acme" / "sos.yaml").write_text("sos: 1\nblueprint_folders: [../library]\ntargets:\n"
                                               "  sandbox: {type: local}\n", encoding="utf-8")
    for args in (["validate"], ["validate", "blueprint.yaml"]):
        result = CliRunner().invoke(cli, args)
        assert result.exit_code == 0, result.output
        assert result.stdout.startswith("blueprint.yaml is valid")


def test_an_alias_bomb_is_stopped_at_the_alias() -> None:
    bomb = HEAD + "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 10)}]\n" for i in range(8))
    started = time.perf_counter()
    result = validate(bomb)
    assert time.perf_counter() - started < 5
    assert errors(result) == [f"b.yaml:6:4: error: YAML aliases expand to more than {MAX_ALIAS_NODES:,} values "
                              "[yaml-alias]"]


def test_one_error_repeated_prints_a_bounded_report() -> None:
    result = validate(HEAD + "fields:\n  lead:\n" + "".join(f"    f{i}: {{type: txt}}\n" for i in range(3000)))
    lines = result.stderr.splitlines()
    assert lines[0] == (f"b.yaml:1:1: warning: stopped after {MAX_PROBLEMS} problems; more may follow "
                        "[too-many-problems]")
    assert len(errors(result)) == MAX_PER_FILE - 1
    assert f"b.yaml: … and {MAX_PROBLEMS + 1 - MAX_PER_FILE} more problems not shown" in lines
    assert lines[-1] == f"b.yaml: {MAX_PROBLEMS} errors, 1 warning"


def test_a_long_line_is_shown_around_the_column() -> None:
    result = validate(HEAD + "fields: {lead: {" + ", ".join(f"f{i}: {{type: text}}" for i in range(2000))
                      + ", bad: {type: txt}}}\n")
    [headline] = errors(result)
    assert headline.startswith("b.yaml:3:") and headline.endswith("'txt' is not allowed here [bad-value]")
    source, caret = result.stderr.splitlines()[1:3]
    assert len(source) < MAX_LINE_WIDTH + 10 and source.endswith("bad: {type: txt}}}")
    assert source.index("txt") == caret.index("^")


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_a_quoted_value_with_a_line_separator_stays_on_its_line(fmt: str) -> None:
    """A value holding U+2028 (a line break to str.splitlines, and to some terminals) is quoted escaped, so the
    headline stays one line and still names its place."""
    result = validate(HEAD + "lead_statuses:\n  - {key: \"new\u2028x\", label: New, default: true, converted: true}\n",
                      "--format", fmt)
    assert result.exit_code == 1
    if fmt == "json":
        messages = [d["message"] for d in json.loads(result.stdout)["diagnostics"]]
        assert messages == ["lead_statuses[0].key: 'new\\u2028x' does not have the expected form"]
    else:
        assert errors(result) == ["b.yaml:4:11: error: lead_statuses[0].key: 'new\\u2028x' does not have the "
                                  "expected form [schema-pattern]"]
