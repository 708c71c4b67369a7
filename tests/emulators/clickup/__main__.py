"""`python -m tests.emulators.clickup --port 8769`: serve an emulated ClickUp until Ctrl-C.

Prints `api_url: URL` and `access_token: TOKEN` (one line each, for scripts), then the id of the list it holds."""

from __future__ import annotations

import sys

from ..pmtool import run_from_command_line
from . import ClickUpEmulator

if __name__ == "__main__":
    sys.exit(run_from_command_line(ClickUpEmulator, __doc__, 8769, None, lambda e: [f"list: {e.list}"]))
