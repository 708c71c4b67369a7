"""Fixtures the renderings of an audit share."""

from __future__ import annotations

import datetime

import pytest

from sos.audit import report
from sos.backends.base import Offender, Tally
from sos.blueprint.load import load_blueprint
from sos.model.checks import checks_of
from sos.model.compile import compile_model
from sos.resources import starters_dir

TODAY = datetime.date(2026, 12, 4)


@pytest.fixture(scope="module")
def audited() -> dict[str, object]:
    """The report sos.audit makes of a starter: one broken check (names hostile to CSV and Markdown), one that
    could not be checked, the rest clean."""
    blueprint, _ = load_blueprint(starters_dir() / "b2b-saas-meddicc.yaml")
    assert blueprint is not None
    model = compile_model(blueprint)
    checks = checks_of(model)
    tallies = [Tally(0) for _ in checks]
    proposal = next(i for i, c in enumerate(checks) if str(c.address) == "stage_requirement.new_business.proposal")
    tallies[proposal] = Tally(3, {"ana@acme.com": 2, "=cmd|' /C calc'!A0": 1}, {"proposal": 2, "negotiation": 1}, (
        Offender("D1", "Globex | renewal", "ana@acme.com", "proposal", 48000.0),
        Offender("D2", "@SUM(1+1)", "=cmd|' /C calc'!A0", "negotiation", None, "https://crm.example/D2"),
    ))
    tallies[0] = Tally(0, unsupported="two fields compared")
    return report({"name": "sandbox", "type": "local"}, model, checks, tallies, {"opportunity": 120, "lead": 40},
                  today=TODAY, generated=datetime.datetime(2026, 12, 4, 9, 30, tzinfo=datetime.UTC))
