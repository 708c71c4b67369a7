"""The one adapter interface every target implements."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar, Protocol

from sos.errors import Diagnostic, SosError
from sos.model.resources import Address, Kind, Model
from sos.plan.change import Plan
from sos.target import Target


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What a target holds and enforces natively, stated once per backend."""

    kinds: frozenset[Kind]


@dataclass(frozen=True, slots=True)
class ApplyResult:
    """Per address, what was applied and what failed (with the CRM's reason)."""

    applied: tuple[Address, ...] = ()
    failed: dict[Address, str] = field(default_factory=dict)
    notes: tuple[Diagnostic, ...] = ()  # warnings about the apply beside its outcome (its history not written)

    @property
    def ok(self) -> bool:
        return not self.failed


class ApplyUnknown(SosError):
    """The CRM accepted the changes, then sos lost track of them: they may still be applied. `job` is the CRM's id
    for them, which `sos apply --resume JOB` (Backend.resume) follows to the end."""

    def __init__(self, diagnostic: Diagnostic, job: str) -> None:
        super().__init__(diagnostic)
        self.job = job


class ApplyInterrupted(KeyboardInterrupt):
    """Ctrl-C after the CRM accepted the changes: they may still be applied; `job` names them, as in ApplyUnknown."""

    def __init__(self, job: str) -> None:
        super().__init__(job)
        self.job = job


class Backend(Protocol):
    capabilities: ClassVar[Capabilities]

    def __init__(self, target: Target, project_root: Path) -> None: ...

    def read(self, desired: Model) -> Model:
        """Live state of what `desired` names, everything sos manages, and look-alikes it does not."""

    def check(self, plan: Plan) -> list[Diagnostic]:
        """What the target would refuse in `plan`, known before any apply."""

    def apply(self, plan: Plan, *, check_only: bool = False) -> ApplyResult:
        """Apply every change of `plan` atomically, or none; refuse if the live state moved since the plan."""

    def resume(self, job: str) -> str:
        """Wait for the changes an apply submitted as `job` (ApplyUnknown named it) to finish; one line saying
        what was applied, SosError when they failed (nothing applied), ApplyUnknown when it is still not known."""

    def status(self) -> str:
        """One line saying where the target is and that it answers; SosError when it does not."""
