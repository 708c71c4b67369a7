"""Backends by target type, imported only when a target needs one."""

from __future__ import annotations

import importlib
from pathlib import Path

from sos.backends.base import Backend
from sos.errors import Diagnostic, SosError, did_you_mean
from sos.target import Target

BACKENDS = {
    "local": "sos.backends.local:LocalBackend",
    "salesforce": "sos.backends.salesforce.backend:SalesforceBackend",
}


def open_backend(target: Target, project_root: Path) -> Backend:
    """The backend for `target`, by its `type` in sos.yaml."""
    spec = BACKENDS.get(target.type)
    if spec is None:
        raise SosError(Diagnostic(target.origin, f"target '{target.name}' has type '{target.type}', which this "
                                  "version of sos cannot plan or apply yet", "backend-missing",
                                  fix=did_you_mean(target.type, BACKENDS) or f"available: {', '.join(BACKENDS)}"))
    module_name, class_name = spec.split(":")
    backend_class = getattr(importlib.import_module(module_name), class_name)
    return backend_class(target, project_root)
