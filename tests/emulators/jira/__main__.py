"""`python -m tests.emulators.jira --port 8768`: serve an emulated Jira Cloud until Ctrl-C.

Prints `api_url: URL` and `access_token: TOKEN` (one line each, for scripts), then the email the token goes with
(Jira Cloud's basic auth is email and API token) and the project key it holds."""

from __future__ import annotations

import sys

from ..pmtool import run_from_command_line
from . import JiraEmulator

if __name__ == "__main__":
    sys.exit(run_from_command_line(JiraEmulator, __doc__, 8768, None, lambda e: [f"email: {e.email}", "project: DEL"]))
