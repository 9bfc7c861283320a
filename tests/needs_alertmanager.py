"""Imported first by every test module that runs a real Alertmanager: skips the module, saying why, when
Debian's prometheus-alertmanager (with amtool) is not on PATH (``make test`` installs it when run as root)."""
from __future__ import annotations

import pytest

from devkit.alertmanager import BINARY, INSTALL_HINT, installed

if not installed():
    pytest.skip(f"{BINARY} is not on PATH: {INSTALL_HINT}", allow_module_level=True)
