"""What every project-management tool is asked for, and how a call that the tool refuses for now is retried."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Protocol, TypeVar

from sos.errors import SosError

ATTEMPTS = 5            # tries per deal: the first and four retries
BACKOFF_SECONDS = 2.0   # the wait before retry n is BACKOFF_SECONDS * 2**n, unless the tool says Retry-After
MAX_WAIT_SECONDS = 60.0

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Order:
    """What one handoff of one deal creates: its name, the fields sales learned (label, value), who owns it, the
    tool's own settings, and `marker`, the deal's mark on it, by which a later run finds it again."""

    name: str
    details: tuple[tuple[str, str], ...]
    marker: str
    settings: Mapping[str, str] = field(default_factory=dict)
    assignee: str | None = None         # an email
    team: str | None = None


class Tool(Protocol):
    def find(self, order: Order) -> str | None:
        """The link to what carries `order.marker` in the tool, or None."""

    def create(self, order: Order) -> str:
        """Create what `order` asks for, carrying its marker; its link."""


class Retryable(Exception):
    """The tool answered 429 or a 5xx, or did not answer: the same call may succeed later (after `wait` seconds
    when the tool said so)."""

    def __init__(self, what: str, wait: float | None = None) -> None:
        super().__init__(what)
        self.wait = wait


def retry_after(headers: Mapping[str, str] | None) -> float | None:
    value = (headers or {}).get("Retry-After")
    try:
        return min(float(value), MAX_WAIT_SECONDS) if value is not None else None
    except ValueError:
        return None


def deliver(tool: Tool, order: Order, *, sleep: Callable[[float], None],
            progress: Callable[[str], None]) -> tuple[str, bool]:
    """The link to what `order` made, and whether it was there before. Each try looks for the marker before it
    creates, so a create the tool carried out but answered with an error (a 504 from a gateway) is found, not made
    twice. SosError when the tool still refuses after ATTEMPTS tries."""
    for attempt in range(ATTEMPTS):
        try:
            found = tool.find(order)
            if found is not None:
                return found, attempt == 0
            return tool.create(order), False
        except Retryable as refused:
            if attempt == ATTEMPTS - 1:
                raise SosError(f"{refused} after {ATTEMPTS} tries", "handoff-failed") from None
            wait = refused.wait if refused.wait is not None else BACKOFF_SECONDS * 2 ** attempt
            progress(f"  {refused}; retrying in {wait:g}s")
            sleep(wait)
    raise AssertionError("unreachable")
