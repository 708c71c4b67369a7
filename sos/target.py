"""A target: a CRM (or the local sandbox) named in sos.yaml. Backends see this, never the project file."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from collections.abc import Mapping

from sos.errors import Span


@dataclass(frozen=True, slots=True)
class Target:
    """A CRM (or the local sandbox) that blueprints are planned and applied against."""

    name: str
    type: str
    options: Mapping[str, Any]
    origin: Span | None = None
