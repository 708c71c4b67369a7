"""`python -m tests.emulators.asana --port 8767`: serve an emulated Asana until Ctrl-C.

Prints `api_url: URL` and `access_token: TOKEN` (one line each, for scripts), then the gids of the team and the
project template it holds."""

from __future__ import annotations

import sys

from ..pmtool import run_from_command_line
from . import AsanaEmulator

if __name__ == "__main__":
    sys.exit(run_from_command_line(AsanaEmulator, __doc__, 8767, None,
                                   lambda e: [f"team: {e.team}", f"project_template: {e.template}"]))
