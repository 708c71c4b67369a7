"""HubSpot's limits as sos paces itself under them, and what HubSpot's refusals say (reference/hubspot.md §8-9)."""

from __future__ import annotations

import json
from collections import deque
from dataclasses import dataclass
from typing import Any

# Usage details (developers.hubspot.com/docs/api/usage-details): 100 requests per 10 s on Free and Starter, more
# above; CRM search: 5 requests per second per account (the search guide's "Limits").
BURST_LIMIT = 100
BURST_WINDOW = 10.0
SEARCH_LIMIT = 5
SEARCH_WINDOW = 1.0
PACING_MARGIN = 0.05    # seconds past the window's edge, so the client's clock and HubSpot's need not agree exactly
# Transient answers HubSpot documents on its error-handling page: locked, migration in progress, gateway and
# Cloudflare timeouts (reference §8).
TRANSIENT = {423, 477, 500, 502, 503, 504, 521, 522, 523, 524}


class RollingWindow:
    """At most `limit` calls in any `seconds`-long window, the way HubSpot counts them (a rolling window).

    Exact, where a token bucket of the same rate would let up to twice the limit through one window."""

    def __init__(self, limit: int, seconds: float) -> None:
        self.limit, self.seconds = limit, seconds
        self._sent: deque[float] = deque(maxlen=limit)

    def wait(self, now: float) -> float:
        """How long to wait before the next call may go."""
        if len(self._sent) < self.limit:
            return 0.0
        return max(0.0, self._sent[0] + self.seconds + PACING_MARGIN - now)

    def record(self, now: float) -> None:
        self._sent.append(now)


class Refused(Exception):
    """An `api_request` answer with an error status, shaped like the generated APIs' ApiException."""

    def __init__(self, status: int, body: str, headers: Any) -> None:
        super().__init__(status)
        self.status, self.body, self.headers = status, body, headers


@dataclass(frozen=True)
class Refusal:
    """What HubSpot's error answer says (reference §8-9)."""

    status: int
    category: str
    message: str
    correlation_id: str
    policy: str
    required_scopes: list[str]
    interval: float       # seconds to wait out a burst limit
    retry_after: float    # seconds HubSpot asked to wait (0: it did not say)

    def summary(self) -> str:
        kind = self.category or self.policy
        return f"{self.status}" + (f" {kind}" if kind else "") + (f": {self.message}" if self.message else "")

    def support_note(self) -> str:
        return (f"HubSpot's correlation id for this answer is {self.correlation_id}: quote it to HubSpot support"
                if self.correlation_id else "")


def refusal_of(exc: Any) -> Refusal:
    """What a refused call's exception (the generated APIs' ApiException, or Refused) says."""
    try:
        body = json.loads(exc.body or "{}")
    except ValueError:
        body = {}
    body = body if isinstance(body, dict) else {}
    headers = {str(k).lower(): str(v) for k, v in dict(exc.headers or {}).items()}
    policy = str(body.get("policyName") or "")
    interval_ms = headers.get("x-hubspot-ratelimit-interval-milliseconds", "")
    default_interval = SEARCH_WINDOW if policy == "SECONDLY" else BURST_WINDOW
    retry_after = headers.get("retry-after", "")
    scopes = [scope for error in body.get("errors") or [] if isinstance(error, dict)
              for scope in (error.get("context") or {}).get("requiredGranularScopes") or []]
    return Refusal(int(exc.status), str(body.get("category") or ""), str(body.get("message") or ""),
                   str(body.get("correlationId") or ""), policy, scopes,
                   int(interval_ms) / 1000 if interval_ms.isdigit() else default_interval,
                   float(retry_after) if retry_after.isdigit() else 0.0)
