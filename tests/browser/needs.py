"""Imported first by every browser test module: skips the module, saying why, when Debian's chromium
or the playwright package is missing (``make test`` installs chromium when it runs as root)."""
from __future__ import annotations

import importlib.util

import pytest

from tests.browser.conftest import CHROMIUM


def _missing() -> str | None:
    if not CHROMIUM.exists():
        return (f"Chromium not found at {CHROMIUM}: install Debian's chromium package "
                "(make test does this when run as root)")
    if importlib.util.find_spec("playwright") is None:
        return "the playwright package is missing: pip install -r requirements-dev.txt"
    return None


if (missing := _missing()):
    pytest.skip(missing, allow_module_level=True)
