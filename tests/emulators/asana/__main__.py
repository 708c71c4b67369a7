"""`python -m tests.emulators.asana --port 8767`: serve an emulated Asana until Ctrl-C.

Prints `api_url: URL` and `access_token: TOKEN` (one line each, for scripts), then the gids of the team and the
project template it holds."""

from __future__ import annotations

import argparse
import sys

from ..serving import serve_until_interrupted
from . import AsanaEmulator


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.emulators.asana", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8767)
    args = parser.parse_args(argv)
    emulator = AsanaEmulator(host=args.host, port=args.port).start()
    print(f"api_url: {emulator.api_url}")
    print(f"access_token: {emulator.access_token}")
    print(f"team: {emulator.team}")
    print(f"project_template: {emulator.template}", flush=True)
    return serve_until_interrupted(emulator)


if __name__ == "__main__":
    sys.exit(main())
