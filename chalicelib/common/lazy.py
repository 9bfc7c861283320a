"""Modules that load on first use, so a cold container imports only what its first request needs.

Every Lambda container imports ``app`` (every route) before it answers anything; alert traffic is
sparse, so most callbacks meet a cold container while the platform waits. Routes therefore name the
flows they call through ``module()``: the import runs when a view first touches it.
"""
from __future__ import annotations

import importlib.util
import sys
from types import ModuleType


def module(name: str) -> ModuleType:
    """``name`` as a module whose code runs when one of its attributes is first read."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.find_spec(name)
    if spec is None or spec.loader is None:
        raise ModuleNotFoundError(name)
    spec.loader = importlib.util.LazyLoader(spec.loader)
    loaded = importlib.util.module_from_spec(spec)
    sys.modules[name] = loaded
    spec.loader.exec_module(loaded)
    return loaded
