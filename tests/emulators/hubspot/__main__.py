"""`python -m tests.emulators.hubspot --port 8765`: serve an emulated HubSpot portal until Ctrl-C.

Prints `api_url: URL` and `access_token: TOKEN` (one line each, for scripts), then the portal id."""

from __future__ import annotations

import argparse
import sys

from .limits import TIERS, wall_clock
from .portal import DEFAULT_DEAL_STAGES
from ..serving import serve_until_interrupted
from .server import HubSpotEmulator


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.emulators.hubspot", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--tier", choices=sorted(TIERS), default="starter",
                        help="rate limits and deal pipeline cap (default: starter)")
    parser.add_argument("--latency-ms", type=float, default=0, help="added to every call")
    parser.add_argument("--seed-deals", action="append", default=[], metavar="STAGE=N",
                        help="add N deals in STAGE of the default pipeline (repeatable)")
    parser.add_argument("--seed-contacts", type=int, default=0, metavar="N", help="add N contacts")
    parser.add_argument("--verbose", action="store_true", help="log request lines (never headers)")
    args = parser.parse_args(argv)
    emulator = HubSpotEmulator(host=args.host, port=args.port, tier=args.tier, latency_ms=args.latency_ms,
                               clock=wall_clock, quiet=not args.verbose)
    stages = {stage for stage, *_ in DEFAULT_DEAL_STAGES}
    for item in args.seed_deals:
        stage, _, count = item.rpartition("=")
        if stage not in stages or not count.isdigit():
            parser.error(f"--seed-deals expects STAGE=N with STAGE one of {', '.join(sorted(stages))}, got {item!r}")
        emulator.seed("deals", ({"dealname": f"{stage} deal {i + 1}", "dealstage": stage, "amount": "1000"}
                                for i in range(int(count))))
    emulator.seed("contacts", ({"firstname": "Contact", "lastname": str(i + 1), "email": f"contact{i + 1}@example.com"}
                               for i in range(args.seed_contacts)))
    emulator.start()
    print(f"api_url: {emulator.api_url}")
    print(f"access_token: {emulator.access_token}")
    print(f"portal_id: {emulator.portal_id}")
    return serve_until_interrupted(emulator)


if __name__ == "__main__":
    sys.exit(main())
