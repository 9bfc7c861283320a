"""Injected failures shared by the platform simulators: the next N calls to a path fail as a kind."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Fault:
    path_suffix: str
    kind: str
    remaining: int
    seconds: float


class Faults:
    """Pending faults, consumed by the next matching calls; ``kinds`` are what the platform supports."""

    def __init__(self, kinds: tuple[str, ...]) -> None:
        self.kinds = kinds
        self.pending: list[Fault] = []

    def inject(self, path_suffix: str, kind: str, count: int = 1, seconds: float = 3.0) -> None:
        if kind not in self.kinds:
            raise ValueError(f"fault kind must be one of {self.kinds}")
        self.pending.append(Fault(path_suffix, kind, count, seconds))

    def take(self, path: str) -> Fault | None:
        for fault in self.pending:
            if path.endswith(fault.path_suffix):
                fault.remaining -= 1
                if fault.remaining <= 0:
                    self.pending.remove(fault)
                return fault
        return None

    def public(self) -> list[dict[str, object]]:
        return [vars(fault).copy() for fault in self.pending]
