"""A strict, stateful HubSpot API emulator for tests (private-app auth, properties, pipelines, records, search,
rate limits), plain HTTP on 127.0.0.1.

Start it alone with `python -m tests.emulators.hubspot --port 8765`, or in tests:

    from tests.emulators.hubspot import HubSpotEmulator

    with HubSpotEmulator() as emulator:
        hs = emulator.client()
"""

from .faults import Faults
from .limits import ManualClock
from .portal import Portal
from .server import ALL_SCOPES, HubSpotEmulator

__all__ = ["ALL_SCOPES", "Faults", "HubSpotEmulator", "ManualClock", "Portal"]
