"""A strict, stateful Salesforce API emulator for tests (REST, Metadata SOAP, OAuth/SOAP login).

Start it alone with `python -m tests.emulators.salesforce --port 8443`, or in tests:

    from tests.emulators.salesforce import SalesforceEmulator

    with SalesforceEmulator() as emulator, emulator.ca_env():
        sf = emulator.client()
"""

from .auth import Credentials
from .faults import Faults
from .org import Org, SteppingClock
from .server import SalesforceEmulator

__all__ = ["Credentials", "Faults", "Org", "SalesforceEmulator", "SteppingClock"]
