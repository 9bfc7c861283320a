"""SIMULATORS is the one list of simulators: every simulator package is in it, and the combined server and
page, the walkthrough and the live tests cover exactly what it holds."""
from __future__ import annotations

import importlib
import pkgutil
import re

import requests

import devkit.simulators
from devkit.simulators import SIMULATORS
from devkit.simulators.base import PlatformSimulator
from devkit.simulators.client import ClientView
from devkit.simulators.combined import start_simulators
from devkit.walkthrough import SETUPS


def _packages() -> list[str]:
    return [m.name for m in pkgutil.iter_modules(devkit.simulators.__path__) if m.ispkg]


def _subclasses(base: type) -> set[type]:
    """Every subclass of ``base`` defined in the simulator packages' modules."""
    found = set()
    for package in _packages():
        path = importlib.import_module(f"devkit.simulators.{package}").__path__
        for module in pkgutil.iter_modules(path):
            loaded = importlib.import_module(f"devkit.simulators.{package}.{module.name}")
            found |= {value for value in vars(loaded).values()
                      if isinstance(value, type) and issubclass(value, base) and value is not base}
    return found


def test_every_simulator_package_is_registered_under_its_own_name() -> None:
    assert sorted(SIMULATORS) == sorted(_packages())
    for name, entry in SIMULATORS.items():
        assert entry is importlib.import_module(f"devkit.simulators.{name}").ENTRY
        assert entry.name == name and entry.simulator.mount_path == f"/{name}"
        assert entry.simulator.__module__.startswith(f"devkit.simulators.{name}.")


def test_every_simulator_and_client_class_is_a_registered_one() -> None:
    assert _subclasses(PlatformSimulator) == {entry.simulator for entry in SIMULATORS.values()}
    assert _subclasses(ClientView) == {entry.client for entry in SIMULATORS.values()}
    for name, entry in SIMULATORS.items():
        assert entry.client.name == name and entry.client.__module__ == f"devkit.simulators.{name}.client"


def test_each_entry_sets_up_its_own_app_from_its_own_package() -> None:
    for name, entry in SIMULATORS.items():
        assert entry.setup is entry.setups[name]
        assert all(setup.__module__.startswith(f"devkit.simulators.{name}.") for setup in entry.setups.values())


def test_the_walkthrough_offers_exactly_the_registered_seed_guides() -> None:
    registered = {name: setup for entry in SIMULATORS.values() for name, setup in entry.setups.items()}
    assert SETUPS == registered and set(SIMULATORS) <= set(SETUPS)


def test_the_combined_server_and_page_show_exactly_the_registered_simulators() -> None:
    with start_simulators() as simulators:
        assert list(simulators.platforms) == list(SIMULATORS)
        assert all(type(sim) is SIMULATORS[name].simulator for name, sim in simulators.platforms.items())
        page = requests.get(f"http://127.0.0.1:{simulators.port}/", timeout=10).text
        for name in SIMULATORS:
            assert requests.get(f"http://127.0.0.1:{simulators.port}/{name}/_sim/state", timeout=10).ok
    assert re.findall(r'<section id="([^"]+)">', page) == list(SIMULATORS)
    assert re.findall(r'<a href="#([^"]+)">([^<]+)</a>', page) == [(n, e.title) for n, e in SIMULATORS.items()]
