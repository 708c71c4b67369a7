"""sos test: a client's process tests run on the sandbox engine: routes, cadences and rules as the blueprint says
(docs/language.md), failures located at the test file's line, JUnit XML for CI."""

from __future__ import annotations

import textwrap
from pathlib import Path
from xml.etree import ElementTree

import pytest
from click.testing import CliRunner, Result

from sos.cli import cli
from sos.process_tests import load_tests
from sos.resources import starter_names

TESTS = """\
sos: 1
tests:
  german_leads_go_to_emea:
    steps:
      - create: lead
        as: hans
        with: {last_name: Brandt, company: Hansa, country: Germany, employees: 500}
      - expect: {record: hans, route: emea_territory}
      - expect: {record: hans, task: "First touch: research the account, then call and email", due_in_hours: 24}
  proposal_needs_its_criteria:
    steps:
      - create: opportunity
        as: deal
        with: {name: Acme, stage: discovery, close_date: 2027-01-31, owner: ana@acme.com, identified_pain: Picks}
      - update: deal
        with: {stage: proposal}
        refused: "Proposal needs"
  small_peruvian_leads_go_to_emea:
    steps:
      - create: lead
        with: {last_name: Rep, company: Small, country: Peru}
      - expect: {route: emea_territory}
"""


def sos(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args))


@pytest.fixture
def client(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("NO_COLOR", "1")
    assert sos("init", "acme", "--starter", "b2b-saas-meddicc").exit_code == 0
    monkeypatch.chdir(tmp_path / "acme")
    (tmp_path / "acme" / "tests").mkdir(exist_ok=True)
    (tmp_path / "acme" / "tests" / "process.yaml").write_text(TESTS, encoding="utf-8")
    return tmp_path / "acme"


def test_passing_and_failing_tests_are_told_apart_and_located(client: Path) -> None:
    result = sos("test", "tests/process.yaml", "--junit", "report.xml")
    assert result.exit_code == 1
    assert result.stdout.splitlines()[:3] == ["ok    german_leads_go_to_emea", "ok    proposal_needs_its_criteria",
                                              "FAIL  small_peruvian_leads_go_to_emea"]
    assert ("tests/process.yaml:22:9: error: route 'emea_territory' did not match (matched: catch_all) "
            "[test-failed]") in result.stderr
    assert result.stderr.rstrip().endswith("2 passed, 1 failed.")
    suite = ElementTree.parse(client / "report.xml").getroot().find("testsuite")
    assert suite is not None and (suite.get("tests"), suite.get("failures")) == ("3", "1")
    failed = [case.get("name") for case in suite if case.find("failure") is not None]
    assert failed == ["small_peruvian_leads_go_to_emea"]


def test_an_unexpected_refusal_and_a_missing_one_fail(client: Path) -> None:
    (client / "tests" / "process.yaml").write_text(textwrap.dedent("""\
        sos: 1
        tests:
          moves_freely:
            steps:
              - create: opportunity
                as: deal
                with: {name: Acme, stage: discovery, close_date: 2027-01-31, owner: ana@acme.com}
              - update: deal
                with: {stage: qualification}
          refuses_nothing:
            steps:
              - create: opportunity
                with: {name: Acme, stage: discovery, close_date: 2027-01-31, owner: ana@acme.com}
                refused: "needs"
        """), encoding="utf-8")
    result = sos("test")
    assert result.exit_code == 1
    assert ("tests/process.yaml:8:9: error: the save was refused: the sandbox refused to save opportunity 1: "
            "Leaving Discovery needs: Identified pain.; the sandbox refused to save opportunity 1: Qualification "
            "needs: Metrics, Economic buyer, Decision process. [test-failed]") in result.stderr
    assert ("tests/process.yaml:12:9: error: the save was not refused (expected a refusal with 'needs') "
            "[test-failed]") in result.stderr


def test_a_bad_test_file_is_located(client: Path) -> None:
    (client / "tests" / "process.yaml").write_text(
        "sos: 1\ntests:\n  t:\n    steps:\n      - create: lead\n        whith: {a: 1}\n      - jump: 3\n",
        encoding="utf-8")
    result = sos("test")
    assert result.exit_code == 1
    assert result.stderr.splitlines()[0] == ("tests/process.yaml:6:9: error: a create step has no `whith` "
                                             "[test-file]")
    assert "tests/process.yaml:7:9: error: a step is one of create, update, tick or expect [test-file]" in \
        result.stderr


def test_an_expected_value_of_a_field_the_record_does_not_have_says_so(client: Path) -> None:
    (client / "tests" / "process.yaml").write_text(
        "sos: 1\ntests:\n  t:\n    steps:\n      - create: lead\n        with: {last_name: Li, company: Li}\n"
        "      - expect: {values: {compnay: Li, last_name: Li}}\n", encoding="utf-8")
    result = sos("test")
    assert (result.exit_code, result.stderr.splitlines()[0]) == (
        1, "tests/process.yaml:7:9: error: the lead has no field 'compnay' [test-failed]")


@pytest.mark.parametrize(("steps", "expected"), [
    pytest.param("      - create: lead\n        with: [1]\n      - expect: 5\n"
                 "      - expect: {record: t, values: [1]}\n", [
        "tests/process.yaml:6:15: error: `with` must be a map of field: value [test-file]",
        "tests/process.yaml:7:17: error: `expect` must be a map of what is expected ({record: NAME, …}) [test-file]",
        "tests/process.yaml:8:37: error: `values` must be a map of field: value [test-file]"], id="not-maps"),
    pytest.param("      - tick: abc\n      - tick: -5\n"
                 "      - expect: {task: Call, due_in_hours: 1.5, due_in_days: x}\n", [
        "tests/process.yaml:5:15: error: `tick` must be a whole number of days from 1 to 3650 [test-file]",
        "tests/process.yaml:6:15: error: `tick` must be a whole number of days from 1 to 3650 [test-file]",
        "tests/process.yaml:7:44: error: `due_in_hours` must be a whole number [test-file]",
        "tests/process.yaml:7:62: error: `due_in_days` must be a whole number [test-file]"], id="not-whole-numbers"),
])
def test_step_values_of_the_wrong_shape_are_located(client: Path, steps: str, expected: list[str]) -> None:
    (client / "tests" / "process.yaml").write_text("sos: 1\ntests:\n  t:\n    steps:\n" + steps, encoding="utf-8")
    result = sos("test")
    assert (result.exit_code, result.stderr.splitlines()[::3]) == (1, expected)


def test_a_junit_report_to_a_missing_folder_is_a_clear_error(client: Path) -> None:
    result = sos("test", "tests/process.yaml", "--junit", "reports/junit.xml")
    assert (result.exit_code, result.stderr.splitlines()[-1]) == (
        1, "error: cannot write reports/junit.xml: No such file or directory [file-unwritable]")


@pytest.mark.parametrize("starter", starter_names())
def test_every_starter_ships_process_tests_that_pass(starter: str, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert sos("init", "client", "--starter", starter).exit_code == 0
    monkeypatch.chdir(tmp_path / "client")
    result = sos("test")
    shipped = load_tests(tmp_path / "client" / "tests" / f"{starter}.yaml")
    assert len(shipped) >= 4 and any(s.kind == "expect" and "route" in s.data["expect"]
                                     for test in shipped for s in test.steps)
    assert (result.exit_code, result.stdout.splitlines()[-1]) == (0, f"{len(shipped)} passed, 0 failed."), \
        result.output
