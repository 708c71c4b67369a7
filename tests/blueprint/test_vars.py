"""Blueprint variables: declared once with a type and a default, set by a client, used as `${name}`.

What is expected follows docs/language.md ("Variables"): a string that is exactly `${name}` takes the value with its
type; inside longer text the value's text is put in; expressions are not substituted; values are checked against
their declared type (time zones against the tz database).
"""

from __future__ import annotations

import pytest

from tests.blueprint.conftest import Files

PARENT = """\
sos: 1
name: parent
vars:
  timezone: {type: timezone, default: America/New_York}
  sdrs: {type: emails, default: [a@acme.com, b@acme.com]}
  discovery_days: {type: number, default: 21}
  vp: {type: email, description: "The head of sales, told of every Commit deal."}
pipelines:
  sales:
    label: Sales
    stages:
      - {key: discovery, label: Discovery, probability: 10, max_days: "${discovery_days}"}
      - {key: won, label: Won, probability: 100, outcome: won}
      - {key: lost, label: Lost, probability: 0, outcome: lost}
lead_statuses:
  - {key: new, label: New, default: true}
  - {key: qualified, label: Qualified, converted: true}
cadences:
  weekly:
    schedule: {every: monday, at: "09:00", timezone: "${timezone}"}
    action: {notify: {to: {user: "${vp}"}, message: "Forecast for ${vp}"}}
routing:
  - {key: all, assign_to: {round_robin: "${sdrs}"}}
"""


def client(body: str) -> str:
    return f"sos: 1\nname: client\nextends: [parent.yaml]\n{body}"


@pytest.fixture
def parent(files: Files) -> Files:
    files.write("parent.yaml", PARENT)
    return files


def test_values_are_put_in_with_their_types(parent: Files) -> None:
    parent.write("b.yaml", client("vars:\n  timezone: Europe/Berlin\n  vp: dana@acme.com\n"))
    blueprint = parent.valid()
    weekly = blueprint.cadences["weekly"]
    assert weekly.schedule == {"every": "monday", "at": "09:00", "timezone": "Europe/Berlin"}
    assert weekly.action == {"notify": {"to": {"user": "dana@acme.com"}, "message": "Forecast for dana@acme.com"}}
    assert blueprint.routing[0].assign_to == {"round_robin": ["a@acme.com", "b@acme.com"]}
    assert blueprint.pipelines["sales"].stages[0].max_days == 21


@pytest.mark.parametrize(("body", "expected"), [
    pytest.param("vars:\n  timezone: Mars/Olympus\n  vp: dana@acme.com\n",
                 ["b.yaml:5:13: error: the variable 'timezone' must be a time zone of the tz database (like "
                  "Europe/Berlin or America/New_York) [var-type]"], id="not-a-time-zone"),
    pytest.param("vars:\n  vp: dana\n", ["b.yaml:5:7: error: the variable 'vp' must be an email address [var-type]"],
                 id="not-an-address"),
    pytest.param("vars:\n  vp: dana@acme.com\n  vp_sale: x@acme.com\n",
                 ["b.yaml:6:12: error: no blueprint declares the variable 'vp_sale' [unknown-var]"], id="undeclared"),
    pytest.param("", ["parent.yaml:7:7: error: the variable 'vp' has no value [var-unset]"], id="unset"),
    pytest.param("vars:\n  vp: dana@acme.com\nrules:\n  r:\n    object: opportunity\n"
                 "    require: amount > ${discovery_days}\n    message: \"Hi ${sdrs}, ${nobody}\"\n",
                 ["b.yaml:9:14: error: variables are not substituted in expressions [var-in-expression]",
                  "b.yaml:10:14: error: the variable 'sdrs' is a list: use it alone, as `${sdrs}` [var-type]",
                  "b.yaml:10:14: error: unknown variable 'nobody' [unknown-var]"], id="misused"),
    pytest.param("vars:\n  vp: dana@acme.com\nrules:\n  r:\n    object: opportunity\n"
                 "    require: amount > 0\n    message: \"Hi ${ vp }, ${Vp} and ${vp}\"\n",
                 ["b.yaml:10:14: error: '${ vp }' is not a variable: write `${name}`, the name in lowercase letters, "
                  "digits and _ [var-syntax]"], id="not-a-reference"),
    pytest.param("vars:\n  vp: dana@acme.com\nfields:\n  opportunity:\n    ${timezone}: {type: text, label: Zone}\n",
                 ["b.yaml:8:5: error: '${timezone}' is not a valid key [bad-key]"], id="in-a-key"),
])
def test_bad_variables_are_located(parent: Files, body: str, expected: list[str]) -> None:
    parent.write("b.yaml", client(body))
    assert parent.headlines() == expected


def test_a_default_that_does_not_fit_its_type_is_reported_at_the_declaration(files: Files) -> None:
    files.write("b.yaml", PARENT.replace("default: 21", "default: soon").replace(
        "vp: {type: email,", "vp: {type: email, default: vp@acme.com,"))
    assert files.headlines() == ["b.yaml:6:43: error: the variable 'discovery_days' must be a number [var-type]"]
