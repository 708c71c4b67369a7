"""Options and fixtures shared by every test."""

from __future__ import annotations

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--update-golden", action="store_true", default=False,
                     help="rewrite the expected files under tests/golden/ instead of comparing with them; "
                          "review the result as a git diff")


@pytest.fixture
def update_golden(request: pytest.FixtureRequest) -> bool:
    """Whether golden files are being rewritten (`pytest --update-golden`) rather than compared."""
    return bool(request.config.getoption("--update-golden"))
