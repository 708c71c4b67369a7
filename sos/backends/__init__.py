"""Backends by target type, imported only when a target needs one."""

from __future__ import annotations

import importlib
from pathlib import Path

from sos.backends.base import Backend
from sos.errors import Diagnostic, SosError, did_you_mean
from sos.model.resources import Model
from sos.target import Target

BACKENDS = {
    "local": "sos.backends.local:LocalBackend",
    "salesforce": "sos.backends.salesforce.backend:SalesforceBackend",
}

# The diagnostic codes each backend declares beyond sos.codes' own.
CODE_MODULES = ("sos.backends.salesforce.codes", "sos.backends.hubspot.codes")

# What each target type refuses that a desired Model already shows, checked offline (no client loaded).
LINTS = {
    "salesforce": "sos.backends.salesforce.lint:lint",
}


def lint_for_target(target: Target, desired: Model) -> list[Diagnostic]:
    """What `target`'s CRM would refuse in `desired`, known before any call to it ([] for a type with no lint)."""
    spec = LINTS.get(target.type)
    if spec is None:
        return []
    module_name, function_name = spec.split(":")
    return list(getattr(importlib.import_module(module_name), function_name)(desired))


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
