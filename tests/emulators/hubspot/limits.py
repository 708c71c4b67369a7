"""HubSpot's request limits per portal (reference §8), counted on an injectable clock, never by sleeping.

Sources: developers.hubspot.com/docs/api/usage-details (burst per 10 s and daily limits per tier, the
X-HubSpot-RateLimit-* headers, the 429 body with `policyName`); the CRM search guide
(developers.hubspot.com/docs/api-reference/latest/crm/search-the-crm, "Limits": "rate limited to five requests
per second per account", "Responses from the search API endpoints will not include any of the rate limit headers").
"""

from __future__ import annotations

import time
import uuid
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

BURST_WINDOW_MS = 10_000
SEARCH_PER_SECOND = 5

# tier → (requests per 10 s, requests per day); the changelog "Increasing our API limits".
TIERS = {"free": (100, 250_000), "starter": (100, 250_000), "professional": (190, 650_000),
         "enterprise": (190, 1_000_000)}

# The 429 messages: HubSpot's wording for DAILY (quoted on the usage page); the others are ours.
POLICY_MESSAGES = {
    "DAILY": "You have reached your daily limit.",
    "TEN_SECONDLY_ROLLING": "You have reached your ten_secondly_rolling limit.",
    # UNVERIFIED: the policy name a search over its own per-second limit reports.
    "SECONDLY": "You have reached your secondly limit.",
}


class Clock(Protocol):
    def __call__(self) -> datetime: ...


class ManualClock:
    """A clock that moves only when a test says so: `clock.advance(seconds=10)`."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime(2026, 12, 4, 15, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def wall_clock() -> datetime:
    return datetime.fromtimestamp(time.time(), UTC)


def rate_limit_body(policy: str) -> dict[str, Any]:
    """The 429 body, in the format the usage page quotes (`errorType`, `policyName`, `requestId`; no `category`)."""
    return {"status": "error", "message": POLICY_MESSAGES[policy], "errorType": "RATE_LIMIT",
            "correlationId": str(uuid.uuid4()), "policyName": policy, "requestId": str(uuid.uuid4())}


@dataclass
class Limits:
    """One portal's counters: a rolling 10-second window, a per-second window for search, the day's total.

    The daily count resets at midnight UTC (HubSpot resets at midnight in the account's time zone; the emulated
    account's time zone is UTC)."""

    clock: Clock
    burst_max: int = 100
    daily_max: int = 250_000

    def __post_init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self._burst: deque[datetime] = deque()
        self._search: deque[datetime] = deque()
        self._day = self.clock().date()
        self.daily_used = 0

    def take(self, search: bool) -> str | None:
        """Count one call, or name the policy that refuses it (a refused call is not counted)."""
        now = self.clock()
        if now.date() != self._day:
            self._day, self.daily_used = now.date(), 0
        _expire(self._burst, now - timedelta(milliseconds=BURST_WINDOW_MS))
        _expire(self._search, now - timedelta(seconds=1))
        if self.daily_used >= self.daily_max:
            return "DAILY"
        if len(self._burst) >= self.burst_max:
            return "TEN_SECONDLY_ROLLING"
        if search and len(self._search) >= SEARCH_PER_SECOND:
            return "SECONDLY"
        # UNVERIFIED whether searches also count toward the burst limit of a private app: counted (stricter).
        self._burst.append(now)
        if search:
            self._search.append(now)
        self.daily_used += 1
        return None

    def headers(self) -> dict[str, str]:
        return {
            "X-HubSpot-RateLimit-Daily": str(self.daily_max),
            "X-HubSpot-RateLimit-Daily-Remaining": str(max(self.daily_max - self.daily_used, 0)),
            "X-HubSpot-RateLimit-Interval-Milliseconds": str(BURST_WINDOW_MS),
            "X-HubSpot-RateLimit-Max": str(self.burst_max),
            "X-HubSpot-RateLimit-Remaining": str(max(self.burst_max - len(self._burst), 0)),
        }


def _expire(window: deque[datetime], before: datetime) -> None:
    while window and window[0] <= before:
        window.popleft()
