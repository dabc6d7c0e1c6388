"""Explicit workflows: one table of allowed transitions; anything else is a 409 problem."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from services.marketplace.kit.errors import IllegalTransition


@dataclass(frozen=True)
class StateMachine:
    name: str
    transitions: Mapping[tuple[str, str], str]

    def next_state(self, state: str, action: str) -> str:
        try:
            return self.transitions[(state, action)]
        except KeyError:
            raise IllegalTransition(
                f"{self.name}：状态 {state} 不允许操作 {action}",
                state=state,
                action=action,
                allowed_actions=self.allowed_actions(state),
            ) from None

    def allowed_actions(self, state: str) -> list[str]:
        return sorted(action for (source, action) in self.transitions if source == state)
