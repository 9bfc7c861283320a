"""The folders are layers: a module imports only from its own layer or the ones below it.

routes → web → flows → delivery → platforms → core → store → common. Imports inside functions
count too: a late import that runs back up a layer is still a cycle waiting to happen.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

LAYERS = ("common", "store", "core", "platforms", "delivery", "sources", "flows", "web", "routes")
PACKAGE = Path(__file__).resolve().parents[2] / "chalicelib"


def _layer(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[0] == "chalicelib" and parts[1] in LAYERS else None


def _imports(path: Path) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found += [(node.lineno, f"{node.module}.{alias.name}") for alias in node.names]
        elif isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
    return found


def _modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if p.parent != PACKAGE)


def test_every_module_lives_in_a_layer() -> None:
    loose = [p.name for p in PACKAGE.glob("*.py") if p.name != "__init__.py"]
    assert loose == []
    assert {p.relative_to(PACKAGE).parts[0] for p in _modules()} <= set(LAYERS)


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_import_runs_up_a_layer(path: Path) -> None:
    own = LAYERS.index(path.relative_to(PACKAGE).parts[0])
    upward = [f"line {line}: {target}" for line, target in _imports(path)
              if (layer := _layer(target)) and LAYERS.index(layer) > own]
    assert upward == []
