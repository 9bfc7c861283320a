"""The cold-start bench runs: each platform's signed click is answered (and applied) from a fresh
process, and the import figures come out. It asserts no timing: bench/cold_start.py's docstring has the figures."""
from __future__ import annotations

from bench.cold_start import PLATFORMS, callbacks, imports


def test_each_platform_answers_its_signed_click_from_a_fresh_process() -> None:
    lines = callbacks(list(PLATFORMS), runs=1)  # raises unless each click is answered 200 and acknowledges

    assert [line.split()[0] for line in lines] == list(PLATFORMS)


def test_the_import_figures_compare_the_app_with_its_dependencies() -> None:
    lines = imports(runs=1)

    assert lines[-1].startswith("ratio import app / import dependencies")
