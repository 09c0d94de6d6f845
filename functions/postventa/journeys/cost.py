"""What a journey costs in Step Functions state transitions, path by path.

Read from the very definition the compiler deploys, not from the journey file: every state entered
is a billed transition, so a path's cost is the number of states it enters. A path is one way
through the journey's decisions (a branch's case, a split's variant, an awaited event or its
timeout); failures are left out, and what a held message or a throttled attempt adds is priced
apart, because any send may meet either.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from postventa.journeys.compiler import LAMBDA_CALLBACK
from postventa.journeys.tasks import SplitResult, result_field

HOLDOUT = "holdout"  # the decision a split's holdout takes


@dataclass(frozen=True)
class PathCost:
    decisions: tuple[str, ...]  # e.g. ("await_fulfilment: event", "review_followed_up: opened")
    transitions: int
    messages: int  # sends on the path, each one message when the customer may receive it

    @property
    def per_message(self) -> float | None:
        return self.transitions / self.messages if self.messages else None

    @property
    def holdout(self) -> bool:
        """A split's holdout: it receives nothing on purpose, so its price per message says nothing."""
        return any(decision.endswith(f": {HOLDOUT}") for decision in self.decisions)


@dataclass(frozen=True)
class JourneyCost:
    paths: list[PathCost]
    per_hold: int  # states a message held by the contact policy adds before it is sent
    per_throttled_attempt: int = 1  # a retry enters the Task again

    @property
    def worst_per_message(self) -> float | None:
        """The costliest path per message, holdouts aside."""
        rates = [p.per_message for p in self.paths if p.per_message is not None and not p.holdout]
        return max(rates) if rates else None


def _is_send(state: dict[str, Any]) -> bool:
    payload = state.get("Parameters", {}).get("Payload", {})
    return isinstance(payload, dict) and payload.get("action", {}).get("kind") == "send"


def _step(state_name: str) -> str:
    return state_name.split(" (")[0]


def _ways_on(name: str, state: dict[str, Any]) -> Iterator[tuple[str | None, str | None]]:
    """(the decision taken, the next state: None when the execution ends) for each normal way on."""
    if state["Type"] == "Choice":
        for choice in state["Choices"]:
            yield f"{_step(name)}: {choice['StringEquals']}", choice["Next"]
        split = choice["Variable"].endswith(f".{result_field(SplitResult)}")
        yield f"{_step(name)}: {HOLDOUT if split else 'otherwise'}", state["Default"]
        return
    onward = None if state.get("End") or state["Type"] == "Succeed" else state["Next"]
    if state.get("Resource") == LAMBDA_CALLBACK:
        timeout = next(c for c in state["Catch"] if c["ErrorEquals"] == ["States.Timeout"])
        yield f"{name}: event", onward
        yield f"{name}: timed out", timeout["Next"]
        return
    yield None, onward


def _held_detour(states: dict[str, dict[str, Any]]) -> int:
    """States between a send held by the contact policy and the send again, that one included."""
    for name, state in states.items():
        for catcher in state.get("Catch", []):
            if catcher["ErrorEquals"] == ["SendDeferred"]:
                entered, current = 0, catcher["Next"]
                while current != name:
                    entered += 1
                    current = states[current]["Next"]
                return entered + 1
    return 0


def journey_cost(definition: dict[str, Any]) -> JourneyCost:
    states = definition["States"]
    paths: list[PathCost] = []

    def walk(name: str | None, decisions: tuple[str, ...], transitions: int, messages: int) -> None:
        while name is not None:
            state = states[name]
            transitions += 1
            messages += _is_send(state)
            ways = list(_ways_on(name, state))
            if len(ways) > 1:
                for decision, onward in ways:
                    walk(onward, (*decisions, decision or ""), transitions, messages)
                return
            name = ways[0][1]
        paths.append(PathCost(decisions, transitions, messages))

    walk(definition["StartAt"], (), 0, 0)
    return JourneyCost(paths=paths, per_hold=_held_detour(states))


def describe(cost: JourneyCost) -> list[str]:
    """The cost table `postventa journeys validate --cost` prints under each journey."""
    lines = [f"    {'transitions':>11} {'messages':>8} {'per message':>11}  path"]
    for path in cost.paths:
        rate = f"{path.per_message:.2f}" if path.per_message is not None else "-"
        way = ", ".join(path.decisions) or "the only path"
        lines.append(f"    {path.transitions:>11} {path.messages:>8} {rate:>11}  {way}")
    lines.append(
        f"    a message held by the contact policy adds {cost.per_hold}; each throttled attempt "
        f"{cost.per_throttled_attempt}"
    )
    return lines
