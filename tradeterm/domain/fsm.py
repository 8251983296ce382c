"""One small finite-state machine runs every lifecycle (orders, confirmations, rollout stages).

A lifecycle is a transition table `{(state, event): next_state}`; anything not in the table is an
illegal move and raises InvalidTransition. Every accepted move returns a Transition record that the
caller stores.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Generic, TypeVar

from tradeterm.errors import InvalidTransition

S = TypeVar("S", bound=Hashable)
E = TypeVar("E", bound=Hashable)


def _name(value: object) -> str:
    return str(value.value) if isinstance(value, Enum) else str(value)


@dataclass(frozen=True, slots=True)
class Transition(Generic[S, E]):
    machine: str
    entity_id: str
    source: S
    event: E
    target: S
    ts_ms: int


class StateMachine(Generic[S, E]):
    """Applies events to states by a fixed table; illegal moves raise."""

    def __init__(self, name: str, table: Mapping[tuple[S, E], S]) -> None:
        self.name = name
        self._table = dict(table)

    def can(self, state: S, event: E) -> bool:
        return (state, event) in self._table

    def next_state(self, state: S, event: E) -> S:
        try:
            return self._table[(state, event)]
        except KeyError:
            raise InvalidTransition(self.name, _name(state), _name(event)) from None

    def apply(self, entity_id: str, state: S, event: E, ts_ms: int) -> Transition[S, E]:
        """The transition record for `event` in `state` (raises InvalidTransition if illegal)."""
        return Transition(self.name, entity_id, state, event, self.next_state(state, event), ts_ms)

    def events_from(self, state: S) -> list[E]:
        """Events allowed in `state`."""
        return [ev for (st, ev) in self._table if st == state]
