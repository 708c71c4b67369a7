"""A strict, stateful Pipedrive API emulator for tests (API v2 and the v1 endpoints still in use).

Start it alone with `python -m tests.emulators.pipedrive --port 8765`, or in tests:

    from tests.emulators.pipedrive import PipedriveEmulator

    with PipedriveEmulator() as emulator:
        emulator.api_url, emulator.api_token, emulator.company_domain
"""

from .account import Account, Pipeline, Stage
from .faults import Faults
from .limits import ManualClock, RateLimits
from .server import PipedriveEmulator

__all__ = ["Account", "Faults", "ManualClock", "Pipeline", "PipedriveEmulator", "RateLimits", "Stage"]
