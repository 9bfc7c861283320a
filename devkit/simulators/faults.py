"""Failures the platform simulators play: targeted ones (the next N calls to a path fail as a kind) and a
seeded mix that hits a share of every API call, the way a flaky platform and network do.

Two families of kinds:
- the platform's own refusals (each simulator names them: ``http500``, ``qps``, ``45009``, ...), raised
  before the call is applied, and ``timeout``, which waits before applying it and answering;
- answer faults, shared by every simulator: the call is applied, then its answer is ``slow`` (held for
  ``seconds``), ``lost`` (held for ``seconds``, meant to be longer than the caller waits) or ``dropped``
  (the connection closes without an answer). The caller cannot tell whether the call took effect.
"""
from __future__ import annotations

import random
import threading
from collections import Counter
from dataclasses import dataclass

ANSWER_KINDS = ("slow", "lost", "dropped")
# Which platform kinds a mix may pick for a server error or a throttle (every simulator has some of each).
SERVER_ERRORS = frozenset({"http500", "busy"})
THROTTLES = frozenset({"qps", "ratelimit", "45009", "45033"})
MIX_WEIGHTS = {"server_error": 0.3, "throttle": 0.3, "slow": 0.15, "lost": 0.15, "dropped": 0.1}


@dataclass
class Fault:
    path_suffix: str
    kind: str
    remaining: int
    seconds: float


class FaultMix:
    """Picks a fault for ``rate`` of the calls, by ``weights`` over server_error, throttle and the answer
    kinds. Seeded: the same seed gives the same faults in the same call order. Thread-safe."""

    def __init__(self, rate: float, seed: int | str, weights: dict[str, float] | None = None,
                 slow_seconds: tuple[float, float] = (2.5, 4.0), lost_seconds: float = 7.0) -> None:
        if not 0 <= rate <= 1:
            raise ValueError("rate is a share of the calls, between 0 and 1")
        self.rate, self.weights = rate, dict(weights or MIX_WEIGHTS)
        unknown = set(self.weights) - {"server_error", "throttle", *ANSWER_KINDS}
        if unknown:
            raise ValueError(f"unknown fault families {sorted(unknown)}")
        self.slow_seconds, self.lost_seconds = slow_seconds, lost_seconds
        self.random = random.Random(seed)
        self.lock = threading.Lock()
        self.drawn: Counter[str] = Counter()  # kind -> how many calls it hit
        self.calls = 0

    def draw(self, kinds: tuple[str, ...]) -> Fault | None:
        """The fault for one call to a simulator offering ``kinds``, or None."""
        with self.lock:
            self.calls += 1
            if self.random.random() >= self.rate:
                return None
            family = self.random.choices(list(self.weights), list(self.weights.values()))[0]
            kind = family if family in ANSWER_KINDS else self._platform_kind(family, kinds)
            if kind is None:
                return None
            seconds = (self.random.uniform(*self.slow_seconds) if kind == "slow"
                       else self.lost_seconds if kind == "lost" else 0.0)
            self.drawn[kind] += 1
            return Fault("", kind, 1, seconds)

    def _platform_kind(self, family: str, kinds: tuple[str, ...]) -> str | None:
        offered = sorted(set(kinds) & (SERVER_ERRORS if family == "server_error" else THROTTLES))
        return self.random.choice(offered) if offered else None


class Faults:
    """Pending targeted faults, consumed by the next matching calls, then the mix if one is set; ``kinds``
    are what the platform supports, the answer kinds come on top."""

    def __init__(self, kinds: tuple[str, ...]) -> None:
        self.kinds = tuple(dict.fromkeys(kinds + ANSWER_KINDS))
        self.pending: list[Fault] = []
        self.mix: FaultMix | None = None

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
        return self.mix.draw(self.kinds) if self.mix else None

    def public(self) -> list[dict[str, object]]:
        return [vars(fault).copy() for fault in self.pending]
