"""Faults on demand, by count, never by time. Operations are named as in `emulator.calls`, e.g.
"POST /crm/v3/properties/{objectType}/batch/create".

    emulator.faults.server_error(times=2, status=503)            # the next 2 calls answer 503
    emulator.faults.rate_limit(policy="TEN_SECONDLY_ROLLING")    # the next call answers 429 with that policyName
    emulator.faults.rate_limit(policy="DAILY", times=None)       # every call answers 429 DAILY until cleared
    emulator.faults.expire_token()                               # the next call answers 401 EXPIRED_AUTHENTICATION
    emulator.faults.server_error(status=500, writes_only=True, after=2)   # the 3rd write from now fails
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass

SERVER_ERROR_STATUSES = (500, 502, 503, 504)


@dataclass
class Fault:
    kind: str                           # "server_error" | "rate_limit" | "expired_token"
    remaining: int | None               # None: until cleared
    after: int                          # matching calls let through before the fault starts
    operations: frozenset[str] | None   # None: every operation
    writes_only: bool
    status: int = 0
    policy: str = ""

    def matches(self, operation: str, write: bool) -> bool:
        return (self.operations is None or operation in self.operations) and (write or not self.writes_only)


class Faults:
    """A deterministic fault schedule the server consults on every authenticated call."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._scheduled: list[Fault] = []

    def server_error(self, times: int | None = 1, status: int = 503, *, after: int = 0,
                     operations: Iterable[str] | None = None, writes_only: bool = False) -> None:
        """The matching calls answer `status` (500, 502, 503 or 504) and change nothing."""
        if status not in SERVER_ERROR_STATUSES:
            raise ValueError(f"status must be one of {SERVER_ERROR_STATUSES}")
        self._add(Fault("server_error", times, after, _ops(operations), writes_only, status=status))

    def rate_limit(self, times: int | None = 1, policy: str = "TEN_SECONDLY_ROLLING", *, after: int = 0,
                   operations: Iterable[str] | None = None, writes_only: bool = False) -> None:
        """The matching calls answer 429 with `policy`: TEN_SECONDLY_ROLLING, SECONDLY or DAILY."""
        if policy not in ("TEN_SECONDLY_ROLLING", "SECONDLY", "DAILY"):
            raise ValueError(f"unknown policy {policy!r}")
        self._add(Fault("rate_limit", times, after, _ops(operations), writes_only, status=429, policy=policy))

    def expire_token(self, times: int | None = 1, *, after: int = 0,
                     operations: Iterable[str] | None = None) -> None:
        """The matching calls answer 401 EXPIRED_AUTHENTICATION."""
        self._add(Fault("expired_token", times, after, _ops(operations), False, status=401))

    def clear(self) -> None:
        with self._lock:
            self._scheduled.clear()

    def take(self, operation: str, write: bool) -> Fault | None:
        """The fault this call meets, if any (consumed)."""
        with self._lock:
            for fault in self._scheduled:
                if not fault.matches(operation, write):
                    continue
                if fault.after:
                    fault.after -= 1
                    continue
                if fault.remaining is not None:
                    fault.remaining -= 1
                    if fault.remaining == 0:
                        self._scheduled.remove(fault)
                return fault
            return None

    def _add(self, fault: Fault) -> None:
        with self._lock:
            self._scheduled.append(fault)


def _ops(operations: Iterable[str] | None) -> frozenset[str] | None:
    return frozenset(operations) if operations is not None else None
