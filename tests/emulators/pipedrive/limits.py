"""Pipedrive's rate limits, on an injectable clock: a daily token budget per company, a 2-second burst window
per token, and the POST/PUT fair-use count of API-token requests.

Sources: reference/pipedrive.md §8; https://pipedrive.readme.io/docs/core-api-concepts-rate-limiting (headers
`x-ratelimit-limit`, `x-ratelimit-remaining`, `x-ratelimit-reset`, `x-daily-requests-left`; burst of 20 requests per
2 s for an API token on the entry plan; 429 "Too Many Requests"; the daily budget resets at the start of the day).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

Clock = Callable[[], datetime]

BURST_WINDOW_SECONDS = 2
BURST_LIMIT = 20                  # requests per window for an API token on Essential/Lite
DAILY_BUDGET = 30_000             # 30,000 base tokens × plan multiplier 1 × 1 seat (UNVERIFIED formula, §8)
DAILY_WRITES = 10_000             # POST/PUT fair use per user per day, API tokens only

# Token cost per call, by (version, kind). Documented: GET /api/v2/stages = 5, GET /api/v2/stages/{id} = 1 (§8).
# v1 costs are the rate-limiting page's examples (single GET 2, list 20, write 10, search 40); deletes and the
# other v2 costs are UNVERIFIED: v2 at half the v1 cost, as the page says v2 is cheaper, and v1 delete 6.
COSTS = {
    (1, "get"): 2, (1, "list"): 20, (1, "write"): 10, (1, "delete"): 6,
    (2, "get"): 1, (2, "list"): 10, (2, "write"): 5, (2, "delete"): 3,
}
STAGE_LIST_COST = 5


class ManualClock:
    """A clock that moves only when told: rate-limit windows and timestamps without sleeps."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime(2026, 12, 4, 15, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def wall_clock() -> datetime:
    return datetime.now(UTC)


@dataclass
class Refusal:
    message: str
    retry_after: int


class RateLimits:
    """Counts tokens and requests; says whether a call may run, and the headers every answer carries."""

    def __init__(self, clock: Clock, *, daily_budget: int = DAILY_BUDGET, burst_limit: int | None = BURST_LIMIT,
                 daily_writes: int = DAILY_WRITES) -> None:
        self.clock = clock
        self.daily_budget = daily_budget
        self.burst_limit = burst_limit
        self.daily_writes = daily_writes
        self.tokens_spent: dict[str, int] = {}          # company domain → tokens spent today
        self.writes: dict[str, int] = {}                # api token → POST/PUT calls today
        self._day = clock().date()
        self._windows: dict[str, tuple[int, int]] = {}  # token → (window number, requests in it)

    def reset(self) -> None:
        self.tokens_spent.clear()
        self.writes.clear()
        self._windows.clear()
        self._day = self.clock().date()

    def admit(self, token: str, company: str, cost: int, counts_as_write: bool) -> Refusal | None:
        """Spend `cost` tokens and one request of the burst window, or say why the call is refused (429)."""
        self._roll_day()
        window, used = self._window(token)
        if self.burst_limit is not None and used >= self.burst_limit:
            return self.refusal(daily=False)
        # UNVERIFIED: the body of a 429 for a spent daily budget; the wording is ours, the shape the reference's.
        if self.tokens_spent.get(company, 0) + cost > self.daily_budget:
            return self.refusal(daily=True)
        if counts_as_write and self.writes.get(token, 0) >= self.daily_writes:
            return Refusal("Daily POST/PUT request limit exceeded", self._seconds_to_midnight())
        self._windows[token] = (window, used + 1)
        self.tokens_spent[company] = self.tokens_spent.get(company, 0) + cost
        if counts_as_write:
            self.writes[token] = self.writes.get(token, 0) + 1
        return None

    def refusal(self, *, daily: bool) -> Refusal:
        """The 429 for a spent daily budget (until midnight UTC) or a full burst window (until it ends)."""
        if daily:
            return Refusal("Daily token budget exceeded", self._seconds_to_midnight())
        return Refusal("Rate limit exceeded", self._window_reset())

    def headers(self, token: str, api_token: bool) -> dict[str, str]:
        _, used = self._window(token)
        headers = {}
        if self.burst_limit is not None:
            headers = {"x-ratelimit-limit": str(self.burst_limit),
                       "x-ratelimit-remaining": str(max(self.burst_limit - used, 0)),
                       "x-ratelimit-reset": str(self._window_reset())}
        if api_token:
            headers["x-daily-requests-left"] = str(max(self.daily_writes - self.writes.get(token, 0), 0))
        return headers

    def _roll_day(self) -> None:
        today = self.clock().date()
        if today != self._day:
            self._day = today
            self.tokens_spent.clear()
            self.writes.clear()

    def _window(self, token: str) -> tuple[int, int]:
        current = int(self.clock().timestamp() // BURST_WINDOW_SECONDS)
        window, used = self._windows.get(token, (current, 0))
        return (current, used) if window == current else (current, 0)

    def _window_reset(self) -> int:
        elapsed = self.clock().timestamp() % BURST_WINDOW_SECONDS
        return max(math.ceil(BURST_WINDOW_SECONDS - elapsed), 1)

    def _seconds_to_midnight(self) -> int:
        now = self.clock()
        midnight = datetime.combine(now.date() + timedelta(days=1), datetime.min.time(), tzinfo=UTC)
        return max(math.ceil((midnight - now).total_seconds()), 1)
