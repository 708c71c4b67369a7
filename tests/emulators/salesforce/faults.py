"""Faults on demand, by count, never by time: the next N calls fail, the next deploy stalls.

    emulator.faults.expire_session(times=1)                 # 401 INVALID_SESSION_ID / SOAP fault
    emulator.faults.rate_limit(times=2, status=429, operations={"query"})
    emulator.faults.fail_component("Opportunity.Budget__c") # that component fails in the next deploy
    emulator.faults.stall_deploys()                         # the next deploy stays InProgress forever
    emulator.faults.drop_connection(times=1, operations={"checkDeployStatus"})  # closed without an answer
    emulator.faults.fail_bulk_queries()                     # the next Bulk API 2.0 query job ends Failed
    emulator.faults.lose_answer(operations={"record"})       # the next REST write runs, then answers 503
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from collections.abc import Iterable

RATE_LIMIT_STATUSES = (403, 429, 503)


@dataclass
class _Scheduled:
    remaining: int | None               # None: until cleared
    operations: frozenset[str] | None   # None: every operation
    status: int = 0
    problem: str = ""
    type_name: str | None = None

    def matches(self, operation: str) -> bool:
        return self.operations is None or operation in self.operations

    def use(self) -> None:
        if self.remaining is not None:
            self.remaining -= 1


class Faults:
    """A deterministic fault schedule the server consults on every call."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sessions: list[_Scheduled] = []
        self._limits: list[_Scheduled] = []
        self._drops: list[_Scheduled] = []
        self._components: dict[str, _Scheduled] = {}
        self._stalls: _Scheduled | None = None
        self._bulk_failures: list[_Scheduled] = []
        self._lost_answers: list[_Scheduled] = []

    def expire_session(self, times: int = 1, operations: Iterable[str] | None = None) -> None:
        """The next `times` authenticated calls (optionally only these operations) get INVALID_SESSION_ID."""
        with self._lock:
            self._sessions.append(_Scheduled(times, _ops(operations)))

    def rate_limit(self, times: int = 1, status: int = 403, operations: Iterable[str] | None = None) -> None:
        """The next `times` calls are refused: 403 REQUEST_LIMIT_EXCEEDED, 429 or 503."""
        if status not in RATE_LIMIT_STATUSES:
            raise ValueError(f"status must be one of {RATE_LIMIT_STATUSES}")
        with self._lock:
            self._limits.append(_Scheduled(times, _ops(operations), status=status))

    def lose_answer(self, times: int = 1, operations: Iterable[str] | None = None) -> None:
        """The next `times` REST writes (PATCH, POST, DELETE; optionally only these operations) are carried out,
        then answered 503 SERVER_UNAVAILABLE, as when a gateway gives up on a call the org saved."""
        with self._lock:
            self._lost_answers.append(_Scheduled(times, _ops(operations)))

    def drop_connection(self, times: int = 1, operations: Iterable[str] | None = None) -> None:
        """The next `times` calls (optionally only these operations) are read, then the connection is closed with
        no answer at all, as when a network path drops mid-call: the client cannot tell whether the call ran."""
        with self._lock:
            self._drops.append(_Scheduled(times, _ops(operations)))

    def fail_component(self, full_name: str, problem: str | None = None, *, type_name: str | None = None,
                       times: int | None = 1) -> None:
        """The component `full_name` fails in the next `times` deploys/CRUD saves (None: until cleared)."""
        message = problem or ("An unexpected error occurred. Please include this ErrorId if you contact support: "
                              "1234567890-12345 (-1234567890)")
        with self._lock:
            self._components[full_name.lower()] = _Scheduled(times, None, problem=message, type_name=type_name)

    def stall_deploys(self, times: int | None = 1) -> None:
        """The next `times` deploys never finish: checkDeployStatus says InProgress forever."""
        with self._lock:
            self._stalls = _Scheduled(times, None)

    def fail_bulk_queries(self, times: int = 1, problem: str = "InternalServerError : An unexpected error occurred "
                          "while processing the query job") -> None:
        """The next `times` Bulk API 2.0 query jobs end in the state Failed with `problem` as their errorMessage."""
        with self._lock:
            self._bulk_failures.append(_Scheduled(times, None, problem=problem))

    def clear(self) -> None:
        with self._lock:
            self._sessions.clear()
            self._limits.clear()
            self._drops.clear()
            self._components.clear()
            self._stalls = None
            self._bulk_failures.clear()
            self._lost_answers.clear()

    # -- consulted by the emulator -----------------------------------------------------

    def take_expired_session(self, operation: str) -> bool:
        return self._take(self._sessions, operation) is not None

    def take_drop(self, operation: str) -> bool:
        return self._take(self._drops, operation) is not None

    def take_bulk_failure(self) -> str | None:
        found = self._take(self._bulk_failures, "bulk")
        return found.problem if found is not None else None

    def take_lost_answer(self, operation: str) -> bool:
        return self._take(self._lost_answers, operation) is not None

    def take_rate_limit(self, operation: str) -> int | None:
        found = self._take(self._limits, operation)
        return found.status if found is not None else None

    def component_problem(self, type_name: str, full_name: str) -> str | None:
        with self._lock:
            scheduled = self._components.get(full_name.lower())
            if scheduled is None or (scheduled.type_name and scheduled.type_name != type_name):
                return None
            scheduled.use()
            if scheduled.remaining == 0:
                del self._components[full_name.lower()]
            return scheduled.problem

    def take_stall(self) -> bool:
        with self._lock:
            if self._stalls is None:
                return False
            self._stalls.use()
            if self._stalls.remaining == 0:
                self._stalls = None
            return True

    def _take(self, queue: list[_Scheduled], operation: str) -> _Scheduled | None:
        with self._lock:
            for scheduled in queue:
                if scheduled.matches(operation):
                    scheduled.use()
                    if scheduled.remaining == 0:
                        queue.remove(scheduled)
                    return scheduled
            return None


def _ops(operations: Iterable[str] | None) -> frozenset[str] | None:
    return frozenset(operations) if operations is not None else None
