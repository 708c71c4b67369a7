from __future__ import annotations

from pathlib import Path

import pytest

from sos.blueprint.yaml import load_file, load_text
from sos.errors import SosError


def headlines(exc: SosError) -> list[str]:
    return [d.headline() for d in exc.diagnostics]


@pytest.mark.parametrize(("source", "expected"), [
    pytest.param("name: acme\nname: beta\n",
                 ["b.yaml:2:1: error: duplicate key 'name' (first at line 1) [duplicate-key]"], id="dup-key"),
    pytest.param("fields:\n  lead:\n    a: {type: text}\n    a: {type: date}\n",
                 ["b.yaml:4:5: error: duplicate key 'a' (first at line 3) [duplicate-key]"], id="dup-nested"),
    pytest.param("a: 1\na: 2\nb: 1\nb: 2\n",
                 ["b.yaml:2:1: error: duplicate key 'a' (first at line 1) [duplicate-key]",
                  "b.yaml:4:1: error: duplicate key 'b' (first at line 3) [duplicate-key]"], id="dup-all-reported"),
    pytest.param("a: [1, 2\n",
                 ["b.yaml:2:1: error: invalid YAML: expected ',' or ']', but got '<stream end>' [yaml-syntax]"],
                 id="unclosed-list"),
    pytest.param("a:\n  - b\n c: d\n",
                 ["b.yaml:3:2: error: invalid YAML: expected <block end>, but found '<block mapping start>' "
                  "[yaml-syntax]"], id="bad-indent"),
    pytest.param("", ["b.yaml:1:1: error: the file is empty [empty-file]"], id="empty"),
    pytest.param("# just a comment\n", ["b.yaml:1:1: error: the file is empty [empty-file]"], id="only-comment"),
    pytest.param("? [a, b]\n: c\n", ["b.yaml:1:3: error: a key must be a plain name, not a list or map [yaml-key]"],
                 id="complex-key"),
])
def test_loader_errors(source: str, expected: list[str]) -> None:
    with pytest.raises(SosError) as info:
        load_text(source, "b.yaml")
    assert headlines(info.value) == expected


def test_nodes_remember_positions_and_quoting() -> None:
    root = load_text("name: acme\nvalues: [Yes, 'No', 1.10]\nwhen: 2024-01-01\n", "b.yaml")
    values = root.get("values").value
    assert [v.value for v in values] == [True, "No", 1.1]
    assert [v.plain for v in values] == [True, False, True]
    assert values[2].source == "1.10"
    assert (values[1].span.line, values[1].span.col) == (2, 15)
    assert root.key_span("values").col == 1
    assert root.get("when").value == "2024-01-01"  # dates stay text
    assert root.to_data() == {"name": "acme", "values": [True, "No", 1.1], "when": "2024-01-01"}


def test_at_follows_a_json_path() -> None:
    root = load_text("a:\n  - {b: 1}\n  - {b: 2, c: [x]}\n", "b.yaml")
    assert root.at(["a", 1, "c", 0]).value == "x"
    assert root.at(["a", 1, "missing"]).span == root.at(["a", 1]).span


@pytest.mark.parametrize(("content", "expected"), [
    pytest.param(b"name: caf\xe9\n", "x.yaml:1:10: error: the file is not UTF-8 text [not-utf8]", id="latin-1"),
    pytest.param(b"\xef\xbb\xbfname: acme\n", None, id="utf8-bom-ok"),
])
def test_file_encoding(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, content: bytes, expected: str | None) -> None:
    monkeypatch.chdir(tmp_path)
    Path("x.yaml").write_bytes(content)
    if expected is None:
        assert load_file(Path("x.yaml"), "x.yaml").get("name").value == "acme"
        return
    with pytest.raises(SosError) as info:
        load_file(Path("x.yaml"), "x.yaml")
    assert headlines(info.value) == [expected]


def test_missing_and_directory(tmp_path: Path) -> None:
    with pytest.raises(SosError) as info:
        load_file(tmp_path / "nope.yaml", "nope.yaml")
    assert headlines(info.value) == ["error: nope.yaml: no such file [file-missing]"]
    with pytest.raises(SosError) as info:
        load_file(tmp_path, "dir")
    assert headlines(info.value) == ["error: dir: is a directory, not a YAML file [file-unreadable]"]
