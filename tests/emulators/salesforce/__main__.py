"""`python -m tests.emulators.salesforce --port 8443`: serve an emulated org until Ctrl-C."""

from __future__ import annotations

import argparse
import sys

from ..serving import serve_until_interrupted
from .server import SalesforceEmulator


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.emulators.salesforce", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8443)
    parser.add_argument("--latency-ms", type=float, default=0, help="added to every call")
    parser.add_argument("--deploy-polls", type=int, default=1, help="checkDeployStatus polls until done")
    parser.add_argument("--retrieve-polls", type=int, default=1, help="checkRetrieveStatus polls until done")
    parser.add_argument("--seed", action="append", default=[], metavar="STAGE=N",
                        help="add N Opportunity records in STAGE (repeatable)")
    parser.add_argument("--verbose", action="store_true", help="log request lines (never headers)")
    args = parser.parse_args(argv)
    emulator = SalesforceEmulator(host=args.host, port=args.port, latency_ms=args.latency_ms,
                                  deploy_polls=args.deploy_polls, retrieve_polls=args.retrieve_polls,
                                  quiet=not args.verbose)
    seeds = {}
    for item in args.seed:
        stage, _, count = item.rpartition("=")
        if not stage or not count.isdigit():
            parser.error(f"--seed expects STAGE=N, got {item!r}")
        seeds[stage] = int(count)
    emulator.org.seed_opportunities(seeds)
    emulator.start()
    print(f"instance_url: {emulator.instance_url}")
    print(f"access_token: {emulator.access_token}")
    print(f"ca_file:      {emulator.ca_file}")
    print(f"export REQUESTS_CA_BUNDLE={emulator.ca_file}")
    print(f"login:        {emulator.credentials.username} / password + security token, "
          "see tests/emulators/salesforce/auth.py")
    return serve_until_interrupted(emulator)


if __name__ == "__main__":
    sys.exit(main())
