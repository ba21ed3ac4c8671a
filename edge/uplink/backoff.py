"""Exponential backoff with jitter, so that a thousand gateways coming back after an outage do not retry in step."""

from __future__ import annotations

import random
from dataclasses import dataclass, field


@dataclass(slots=True)
class Backoff:
    """Delays ``initial_s * 2**n`` capped at ``max_s``, each drawn uniformly from [delay/2, delay] ("equal jitter")."""

    initial_s: float = 0.5
    max_s: float = 30.0
    attempts: int = 0
    rng: random.Random = field(default_factory=random.Random)  # jitter only: spreading load, not security

    def next_delay(self) -> float:
        delay = min(self.max_s, self.initial_s * 2 ** min(self.attempts, 30))
        self.attempts += 1
        return self.rng.uniform(delay / 2, delay)

    def reset(self) -> None:
        self.attempts = 0
