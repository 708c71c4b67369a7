"""Fixtures over each module's `running` (emulator, client): a fresh org per test, the client beside it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.emulators.salesforce import SalesforceEmulator

Client = Any  # simple_salesforce.Salesforce; its __getattr__ typing does not model `sf.Opportunity.create`


@pytest.fixture
def emulator(running: tuple[SalesforceEmulator, Client]) -> Iterator[SalesforceEmulator]:
    emulator = running[0]
    emulator.reset()
    emulator.deploy_polls = emulator.retrieve_polls = emulator.bulk_polls = 1
    emulator.latency_ms = 0
    yield emulator
    assert emulator.internal_errors == []


@pytest.fixture
def sf(running: tuple[SalesforceEmulator, Client], emulator: SalesforceEmulator) -> Client:
    return running[1]
