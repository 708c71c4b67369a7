"""Backends by target type, imported only when a target needs one."""

from __future__ import annotations

import importlib
from pathlib import Path

from sos.backends.base import Backend, CiLogin
from sos.errors import Diagnostic, SosError, did_you_mean
from sos.model.resources import Model
from sos.target import Target

BACKENDS = {
    "local": "sos.backends.local:LocalBackend",
    "salesforce": "sos.backends.salesforce.backend:SalesforceBackend",
    "hubspot": "sos.backends.hubspot.backend:HubSpotBackend",
    "pipedrive": "sos.backends.pipedrive.backend:PipedriveBackend",
}

# The diagnostic codes each backend declares beyond sos.codes' own.
CODE_MODULES = ("sos.backends.salesforce.codes", "sos.backends.hubspot.codes", "sos.backends.pipedrive.codes")

# Each backend's lint, for `sos validate`: importable without the backend's client (a plan calls Backend.lint).
LINTS = {
    "salesforce": "sos.backends.salesforce.lint:lint",
    "hubspot": "sos.backends.hubspot.lint:lint",
    "pipedrive": "sos.backends.pipedrive.lint:lint",
}

# How a CI runner logs in to each kind of target (`sos ci github`): importable without the backend's client.
CI_LOGINS = {
    "salesforce": "sos.backends.salesforce.auth:ci_login",
    "hubspot": "sos.backends.hubspot.auth:ci_login",
    "pipedrive": "sos.backends.pipedrive.auth:ci_login",
}


def ci_login_for_target(target: Target) -> CiLogin | None:
    """The secrets (and setup) a CI runner needs to reach `target`; None for a type CI cannot reach."""
    spec = CI_LOGINS.get(target.type)
    if spec is None:
        return None
    module_name, function_name = spec.split(":")
    login: CiLogin = getattr(importlib.import_module(module_name), function_name)(target)
    return login


def lint_for_target(target: Target, desired: Model) -> list[Diagnostic]:
    """What `target`'s CRM would refuse in `desired`, known before any call to it ([] for a type with no lint)."""
    spec = LINTS.get(target.type)
    if spec is None:
        return []
    module_name, function_name = spec.split(":")
    return list(getattr(importlib.import_module(module_name), function_name)(desired))


def backend_of_type(type_name: str) -> type[Backend] | None:
    """The backend class for a target type, or None for a type this sos has no backend for."""
    spec = BACKENDS.get(type_name)
    if spec is None:
        return None
    module_name, class_name = spec.split(":")
    found: type[Backend] = getattr(importlib.import_module(module_name), class_name)
    return found


def backend_class(target: Target) -> type[Backend]:
    """The backend class for `target`, by its `type` in sos.yaml."""
    found = backend_of_type(target.type)
    if found is None:
        raise SosError(Diagnostic(target.origin, f"target '{target.name}' has type '{target.type}', which this "
                                  "version of sos cannot plan or apply yet", "backend-missing",
                                  fix=did_you_mean(target.type, BACKENDS) or f"available: {', '.join(BACKENDS)}"))
    return found


def open_backend(target: Target, project_root: Path) -> Backend:
    """The backend for `target`, by its `type` in sos.yaml."""
    return backend_class(target)(target, project_root)
