"""Exponential backoff with full jitter, shared by the outbox relay, consumers and mail sending."""

from __future__ import annotations

import random


def backoff_delay(attempt: int, base: float, cap: float, rng: random.Random | None = None) -> float:
    """Delay before retry number `attempt` (0-based): uniform in [0, min(cap, base * 2**attempt)].

    Full jitter spreads the retries of many clients so a relay or broker coming back is not hit
    by all of them at the same instant.
    """
    ceiling = min(cap, base * (2 ** max(attempt, 0)))
    return (rng or random).uniform(0, ceiling)
