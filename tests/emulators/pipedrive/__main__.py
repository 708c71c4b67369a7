"""`python -m tests.emulators.pipedrive --port 8765`: serve an emulated Pipedrive company until Ctrl-C."""

from __future__ import annotations

import argparse
import sys

from .limits import BURST_LIMIT, DAILY_BUDGET, wall_clock
from ..serving import serve_until_interrupted
from .server import PipedriveEmulator


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.emulators.pipedrive", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--company-domain", default="acme")
    parser.add_argument("--daily-budget", type=int, default=DAILY_BUDGET, help="tokens per day for the company")
    parser.add_argument("--burst-limit", type=int, default=BURST_LIMIT, help="requests per 2-second window")
    parser.add_argument("--seed-deals", type=int, default=0, metavar="N",
                        help="add N open deals spread over the default pipeline's stages, each with a contact")
    parser.add_argument("--verbose", action="store_true", help="log request lines (tokens masked)")
    args = parser.parse_args(argv)
    # Served to a person or a target: real time, so burst windows pass as they would against Pipedrive.
    emulator = PipedriveEmulator(host=args.host, port=args.port, clock=wall_clock, company_domain=args.company_domain,
                                 quiet=not args.verbose, daily_budget=args.daily_budget, burst_limit=args.burst_limit)
    emulator.account.seed_sample(args.seed_deals)
    emulator.start()
    print(f"api_url: {emulator.api_url}")
    print(f"api_token: {emulator.api_token}")
    print(f"company_domain: {emulator.company_domain}")
    return serve_until_interrupted(emulator)


if __name__ == "__main__":
    sys.exit(main())
