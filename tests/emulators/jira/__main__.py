"""`python -m tests.emulators.jira --port 8768`: serve an emulated Jira until Ctrl-C.

Prints `api_url: URL` and `access_token: TOKEN` (one line each, for scripts), then the email the token goes with
(Jira Cloud's basic auth is email and API token) and the project key it holds."""

from __future__ import annotations

import argparse
import sys

from ..serving import serve_until_interrupted
from . import JiraEmulator


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.emulators.jira", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8768)
    args = parser.parse_args(argv)
    emulator = JiraEmulator(host=args.host, port=args.port).start()
    print(f"api_url: {emulator.api_url}")
    print(f"access_token: {emulator.api_token}")
    print(f"email: {emulator.email}")
    print("project: DEL", flush=True)
    return serve_until_interrupted(emulator)


if __name__ == "__main__":
    sys.exit(main())
