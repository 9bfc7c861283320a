"""What a simulator package declares about itself, so that the combined page and server, the walkthrough,
the bench and the live tests find every platform in ``devkit.simulators.SIMULATORS`` instead of a list of
their own."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from devkit.simulators.base import PlatformSimulator
from devkit.simulators.client import ClientView


@dataclass(frozen=True)
class SimulatorEntry:
    simulator: type[PlatformSimulator]  # serves under its ``mount_path``; the combined server builds it with ``now``
    title: str  # how the combined page's bar names the platform
    setups: dict[str, Callable[..., dict]]  # the walkthrough's seed guides by name; the one under ``name`` sets up
    # the platform's own app and takes ``link=False`` to leave the people to link themselves
    client: type[ClientView]  # its client as a program reads and clicks it (the fault run)
    # the integration the seed guide has the admin enter for the platform's own app, from the simulated
    # console's values (the simulator's ``/_sim/state``) and the address the simulator is served at
    integration: Callable[[dict, str], dict]
    # the guide's console steps that save the integration's callback URLs (each checked by the platform's
    # handshake against the app first): ``save_urls(console, urls)`` answers what the console said
    save_urls: Callable[..., dict]

    @property
    def name(self) -> str:
        """The platform's name, as the app's registry spells it: the simulator's mount path without its slash."""
        return self.simulator.mount_path.strip("/")

    @property
    def setup(self) -> Callable[..., dict]:
        """The seed guide that sets up the platform's own app (``setup(console, link=True)``)."""
        return self.setups[self.name]


@dataclass(frozen=True)
class RobotEntry:
    """A platform's custom group robot (``dingtalk-robot``, ...), served by its platform's simulator: what the
    adapter contract and the walkthrough need to find it, shaped like ``SimulatorEntry`` where they overlap."""

    name: str  # the platform's name in the app's registry
    simulator: type[PlatformSimulator]  # the simulator whose routes serve the robot's webhook
    # the POST /integrations body the admin enters for the first robot in the simulator's ``/_sim/state``
    integration: Callable[[dict, str], dict]

    def save_urls(self, _console: object, _urls: dict[str, str]) -> dict:
        """A robot has no callback URLs to save: nothing is checked."""
        return {}
