"""State machines as explicit transition tables (pure: no database, no HTTP).

A service's `domain/` declares its table once; routes and handlers ask it for the next state. An
illegal move raises `IllegalTransition`, which the app turns into a 409 problem naming the current
state and the actions allowed from it, so a client can tell what it may do next.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from enum import StrEnum


class IllegalTransition(Exception):
    def __init__(self, machine: str, state: str, action: str, allowed: list[str]) -> None:
        self.machine, self.state, self.action, self.allowed = machine, state, action, allowed
        allowed_text = ", ".join(allowed) if allowed else "none (final state)"
        super().__init__(f"{machine}: cannot {action} in state {state}; allowed: {allowed_text}")


class TransitionTable:
    """`(state, action) -> next state`, with the allowed actions of each state derived from it."""

    def __init__(self, machine: str, transitions: Mapping[tuple[str, str], str]) -> None:
        self.machine = machine
        self._next = {(str(s), str(a)): str(t) for (s, a), t in transitions.items()}

    def next_state(self, state: str, action: str) -> str:
        try:
            return self._next[(str(state), str(action))]
        except KeyError:
            raise IllegalTransition(self.machine, str(state), str(action), self.allowed(state)) from None

    def allowed(self, state: str) -> list[str]:
        return sorted({a for (s, a) in self._next if s == str(state)})

    def sources(self, action: str) -> list[str]:
        """The states `action` may leave, sorted: for a statement that moves rows in SQL."""
        return sorted({s for (s, a) in self._next if a == str(action)})

    def can(self, state: str, action: str) -> bool:
        return (str(state), str(action)) in self._next

    @property
    def states(self) -> set[str]:
        return {s for s, _ in self._next} | set(self._next.values())

    @property
    def actions(self) -> set[str]:
        return {a for _, a in self._next}

    def reachable(self, start: str) -> set[str]:
        """Every state some sequence of actions leads to from `start` (itself included)."""
        seen, frontier = {str(start)}, [str(start)]
        while frontier:
            state = frontier.pop()
            for action in self.allowed(state):
                after = self._next[(state, action)]
                if after not in seen:
                    seen.add(after)
                    frontier.append(after)
        return seen

    def final_states(self) -> set[str]:
        return {s for s in self.states if not self.allowed(s)}

    def check_covers(self, states: Iterable[StrEnum | str]) -> None:
        """Raise if the table names a state the caller's enum does not know (a typo in the table)."""
        unknown = self.states - {str(s) for s in states}
        if unknown:
            raise ValueError(f"{self.machine}: unknown states in the table: {sorted(unknown)}")
