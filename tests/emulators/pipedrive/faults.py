"""Faults on demand, by count, never by time: the next N calls (or only writes, or the Nth write) fail.

    emulator.faults.unauthorized(times=1)                  # 401 with the gateway's body
    emulator.faults.rate_limit(times=2)                    # 429 burst, with Retry-After
    emulator.faults.rate_limit(daily=True)                 # 429 daily budget spent, Retry-After to midnight UTC
    emulator.faults.server_error(times=3, status=503)      # the next three calls
    emulator.faults.server_error(after=2, writes_only=True)  # the third write from now fails
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


@dataclass
class _Scheduled:
    kind: str                     # "unauthorized" | "burst" | "daily" | "server"
    times: int
    after: int = 0                # matching calls let through first
    writes_only: bool = False
    operations: frozenset[str] | None = None
    status: int = 0

    def matches(self, method: str, operation: str) -> bool:
        if self.writes_only and method not in WRITE_METHODS:
            return False
        return self.operations is None or operation in self.operations


class Faults:
    """A deterministic fault schedule the server consults once per authenticated call, in order."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queue: list[_Scheduled] = []

    def unauthorized(self, times: int = 1) -> None:
        """The next `times` calls answer 401 as for an expired or revoked token."""
        self._add(_Scheduled("unauthorized", times))

    def rate_limit(self, times: int = 1, *, daily: bool = False) -> None:
        """The next `times` calls answer 429: the burst window (default) or the daily token budget is spent."""
        self._add(_Scheduled("daily" if daily else "burst", times))

    def server_error(self, times: int = 1, *, status: int = 500, after: int = 0, writes_only: bool = False,
                     operations: set[str] | None = None) -> None:
        """`times` matching calls answer `status` (5xx) after `after` matching calls went through; writes only
        (POST/PUT/PATCH/DELETE) or only these operations (as counted in `emulator.calls`) when asked."""
        if not 500 <= status <= 599:
            raise ValueError("status must be a 5xx")
        self._add(_Scheduled("server", times, after, writes_only,
                             frozenset(operations) if operations is not None else None, status))

    def clear(self) -> None:
        with self._lock:
            self._queue.clear()

    def take(self, method: str, operation: str) -> _Scheduled | None:
        """The fault this call meets, if any (each scheduled fault counts the calls it matches)."""
        with self._lock:
            for scheduled in self._queue:
                if not scheduled.matches(method, operation):
                    continue
                if scheduled.after:
                    scheduled.after -= 1
                    continue
                scheduled.times -= 1
                if scheduled.times == 0:
                    self._queue.remove(scheduled)
                return scheduled
            return None

    def _add(self, scheduled: _Scheduled) -> None:
        if scheduled.times < 1 or scheduled.after < 0:
            raise ValueError("times must be at least 1 and after at least 0")
        with self._lock:
            self._queue.append(scheduled)
