"""Every backend implements the one Backend contract (sos/backends/base.py), and reading leaves nothing behind."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest

from sos.backends import BACKENDS, backend_of_type
from sos.backends.base import Backend, Live, Support
from sos.backends.local import LocalBackend
from sos.model.resources import Address, Kind, Model, Resource
from sos.target import Target

METHODS = ("lint", "read", "check", "apply", "export", "resume", "status")


@pytest.mark.parametrize("type_name", list(BACKENDS))
def test_each_backend_has_the_contracts_methods_and_class_attributes(type_name: str) -> None:
    backend = backend_of_type(type_name)
    assert backend is not None
    for name in METHODS:
        assert list(inspect.signature(getattr(backend, name)).parameters) == \
            list(inspect.signature(getattr(Backend, name)).parameters), name
    assert set(backend.capabilities.support) == set(Kind)
    assert all(isinstance(s, Support) for s in backend.capabilities.support.values())
    # every kind not held natively says why, in the backend's words
    assert {k for k, s in backend.capabilities.support.items() if s is not Support.NATIVE} <= \
        set(backend.capabilities.notes)
    assert isinstance(backend.formats, tuple) and isinstance(backend.build_help, str)
    assert bool(backend.formats) == bool(backend.build_help)


def test_the_sandbox_read_writes_nothing_and_returns_live_data(tmp_path: Path) -> None:
    backend = LocalBackend(Target("sandbox", "local", {}), tmp_path)
    desired = Model({(a := Address(Kind.FIELD, "lead", "x")): Resource(a, {"type": "text"})})
    assert backend.read(desired) == Live(Model(), Model().fingerprint(), {})
    assert list(tmp_path.iterdir()) == []
