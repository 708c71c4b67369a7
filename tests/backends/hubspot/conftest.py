"""One HubSpot emulator per test module (over real HTTP), a fresh portal per test, clients that target it.

The client's clock and sleep are the emulator's ManualClock: waiting moves the emulator's time, never the test's."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from sos.backends.hubspot.auth import connection
from sos.backends.hubspot.client import HubSpotClient
from sos.errors import Span
from sos.target import Target
from tests.emulators.hubspot import HubSpotEmulator
# One emulator per module, a fresh portal per test, as the emulator's own tests run it.
from tests.emulators.test_hubspot_emulator import hub, running

__all__ = ["hub", "running"]

TARGET_AT = Span("sos.yaml", 4, 3)
MakeClient = Callable[..., HubSpotClient]


def hubspot_target(**options: Any) -> Target:
    return Target("acme", "hubspot", options, TARGET_AT)


@pytest.fixture
def progress() -> list[str]:
    """The progress lines the clients of a test print."""
    return []


@pytest.fixture
def make_client(hub: HubSpotEmulator, progress: list[str]) -> MakeClient:
    """A client for the emulator's portal: `make_client(token=…, portal_id=…)`."""
    def make(token: str | None = None, **options: Any) -> HubSpotClient:
        target = hubspot_target(api_url=hub.api_url, **options)
        found = connection(target, {"HUBSPOT_ACCESS_TOKEN": token or hub.access_token})
        return HubSpotClient(found, clock=lambda: hub.clock().timestamp(), sleep=hub.clock.advance,
                             progress=progress.append)
    return make


@pytest.fixture
def client(make_client: MakeClient) -> HubSpotClient:
    return make_client(portal_id=62515)
