"""Hostile blueprints, drawn by hypothesis: `sos validate` exits 1 with every error at file:line:col, quickly.

Each example is a small valid blueprint with one to three hostile pieces: explicit YAML tags, anchors
and aliases (up to bombs), nesting deep in YAML or in an expression, lone surrogates and control
characters, escapes beyond Unicode, and `extends` entries naming what is no blueprint file of the
project. Every piece is an error on its own, so every example must fail, and say where.

Deterministic: derandomized, no example database, no deadline (the time bound is asserted
directly, far above what a bounded input takes and far below what an unbounded one did).
"""

from __future__ import annotations

import os
import re
import resource
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sos.cli import cli

HOSTILE = settings(max_examples=120, derandomize=True, database=None, deadline=None,
                   suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
SECONDS = 5.0  # per example; before the bounds an alias bomb of this size took minutes
MEGABYTES = 300  # growth of the process's peak memory over the whole test
LOCATED = re.compile(r"^\S.*?:\d+:\d+: error: .+ \[[A-Za-z0-9-]+\]$")

BASE = ["sos: 1", "name: acme", "fields:", "  lead:", "    tier: {type: text, label: Tier}"]
TAGS = st.sampled_from(["!foo", "!!int", "!!float", "!!python/name:os.system", "!!python/object/apply:os.system",
                        "!!binary", "!!timestamp", "!!str", "!!bool", "!<tag:example.com,2024:x>", "!!null"])
# Path edge cases beside the input (see `folder`), and ones that climb out of it.
EXTENDS = st.one_of(
    st.sampled_from(["folder.yaml", "loop.yaml", "pipe.yaml", "environ.yaml", "outside.yaml", "notes.txt",
                     "../outside.yaml", "missing.yaml", "../../../../../../../../proc/self/environ",
                     "../../../../../../../../etc/passwd.yaml", "./folder.yaml/", "'\\0'"]),
    st.integers(256, 400).map(lambda n: "x" * n + ".yaml"),
    st.integers(1, 60).map(lambda n: "../" * n + "outside.yaml"),
    st.sampled_from(['"a\\0b.yaml"', '"a\\x01.yaml"', '"\\ud800.yaml"']),
)
BAD_CHARACTERS = st.one_of(
    st.integers(0x01, 0x1F).filter(lambda c: c not in (0x09, 0x0A, 0x0D)).map(lambda c: f"\\x{c:02x}"),
    st.integers(0x7F, 0x9F).filter(lambda c: c != 0x85).map(lambda c: f"\\x{c:02x}"),
    st.integers(0xD800, 0xDFFF).map(lambda c: f"\\u{c:04x}"),
    st.sampled_from(["\\uffff", "\\ufffe", "\\0"]),
)


@st.composite
def tagged(draw: st.DrawFn) -> str:
    return f"    {draw(st.sampled_from(['a', 'b']))}: {{type: text, label: {draw(TAGS)} Tier}}"


@st.composite
def alias_bomb(draw: st.DrawFn) -> str:
    levels, fanout = draw(st.integers(2, 9)), draw(st.integers(2, 10))
    lines = [f"a0: &a0 [{', '.join(['x'] * fanout)}]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * fanout)}]" for i in range(1, levels)]
    return "\n".join(lines)  # unknown keys at the least; an alias error when it copies enough


@st.composite
def deep(draw: st.DrawFn) -> str:
    depth = draw(st.integers(51, 3000))
    kind = draw(st.sampled_from(["list", "map", "block", "expression"]))
    if kind == "list":
        return "description: " + "[" * depth + "]" * depth * draw(st.integers(0, 1))
    if kind == "map":
        return "description: " + "{a: " * depth + "1" + "}" * depth
    if kind == "block":
        return "description:\n" + "".join(f"{'  ' * i}k{i}:\n" for i in range(1, min(depth, 400)))
    operator = draw(st.sampled_from(["not ", "-", "is_blank(", "a."]))
    text = operator * (depth + 60) + "amount" + (")" * (depth + 60) if operator == "is_blank(" else "")
    return f"rules:\n  r:\n    object: opportunity\n    require: \"{text}\"\n    message: m"


@st.composite
def bad_text(draw: st.DrawFn) -> str:
    character = draw(BAD_CHARACTERS)
    where = draw(st.sampled_from(["label", "key", "description"]))
    if where == "label":
        return f'    c: {{type: text, label: "Ti{character}er"}}'
    if where == "key":
        return f'    "c{character}": {{type: text}}'
    return f'description: "Acme {character}"'


@st.composite
def beyond_unicode(draw: st.DrawFn) -> str:
    return f'description: "\\U{draw(st.integers(0x110000, 0xFFFFFFFF)):08x}"'


@st.composite
def extends(draw: st.DrawFn) -> str:
    entry = draw(EXTENDS)
    return f"extends: [{entry}]" if draw(st.booleans()) else f"extends: {entry}"


FIELD_PIECES = (tagged, bad_text)  # these go under `fields: lead:`; the others at the top level
PIECES = st.sampled_from([tagged, alias_bomb, deep, bad_text, beyond_unicode, extends])


@st.composite
def hostile_blueprint(draw: st.DrawFn) -> str:
    lines = list(BASE)
    for piece in draw(st.lists(PIECES, min_size=1, max_size=3)):
        text = draw(piece())
        if piece in FIELD_PIECES and text.startswith("    "):
            lines.insert(4, text)  # under `lead:`, before `tier`
        else:
            lines.insert(draw(st.sampled_from([2, len(lines)])), text)
    return "\n".join(lines) + "\n"


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    client = tmp_path / "client"
    client.mkdir()
    (tmp_path / "outside.yaml").write_text("sos: 1\nname: outside\n", encoding="utf-8")
    (client / "folder.yaml").mkdir()
    (client / "loop.yaml").symlink_to("loop2.yaml")
    (client / "loop2.yaml").symlink_to("loop.yaml")
    os.mkfifo(client / "pipe.yaml")
    (client / "environ.yaml").symlink_to("/proc/self/environ")
    (client / "notes.txt").write_text("TOKEN=x\n", encoding="utf-8")
    monkeypatch.chdir(client)
    monkeypatch.setenv("NO_COLOR", "1")
    return client


def test_hostile_blueprints_fail_located_and_fast(folder: Path) -> None:
    peak_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

    @HOSTILE
    @given(hostile_blueprint())
    def check(text: str) -> None:
        (folder / "b.yaml").write_text(text, encoding="utf-8")
        started = time.perf_counter()
        result = CliRunner().invoke(cli, ["validate", "b.yaml"])
        assert time.perf_counter() - started < SECONDS
        assert result.exit_code == 1, result.output
        headlines = [line for line in result.stderr.splitlines() if "error: " in line and "[" in line]
        assert headlines, result.stderr
        assert [line for line in headlines if not LOCATED.match(line)] == []

    check()
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak_before < MEGABYTES * 1024
