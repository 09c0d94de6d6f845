"""`postventa journeys status|pause|resume|drain|stop`: an operator's levers on a live journey.

The journey's state is one item in the table: on_order reads it at each entry (draining and
stopped admit no one), run_step at each send (paused holds the send where it is and looks again
within the hour; stopped records the send suppressed). Stop also ends the running executions,
each with a recorded decision, and drops what they held for later."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from postventa.journeys.compiler import held_state, step_of_state
from postventa.models.records import JourneyControl, JourneyEntry, JourneyState, StepDecision
from postventa.services.ports import CustomerStore, LiveJourneys, drop_held

# `status` reads where each execution is one call at a time (Step Functions' history API
# refills 5 a second): past this many it counts them all and places a sample.
STATUS_SAMPLE = 1000


@dataclass(frozen=True)
class JourneyStatus:
    journey: str
    control: JourneyControl | None
    running: int
    placed: int  # of the running, how many were read for `steps`
    steps: Counter[str] = field(default_factory=Counter)  # step -> customers in it
    held: Counter[str] = field(default_factory=Counter)  # step -> of those, held by a pause or the policy

    @property
    def state(self) -> JourneyState:
        return self.control.state if self.control else JourneyState.RUNNING


@dataclass(frozen=True)
class Stopped:
    customer_id: str
    execution_arn: str
    step: str | None


class JourneyControls:
    def __init__(self, store: CustomerStore, workflows: LiveJourneys, clock: Callable[[], datetime]):
        self._store, self._workflows, self._clock = store, workflows, clock

    def status(self, journey: str, customer: str | None = None, sample: int = STATUS_SAMPLE) -> JourneyStatus:
        """How many customers are in each step (one customer's executions with `customer`)."""
        arns = [str(e.execution_arn) for e in self._entries(journey, customer)] if customer else None
        running = list(self._workflows.running(journey)) if arns is None else arns
        steps: Counter[str] = Counter()
        held: Counter[str] = Counter()
        for arn in running[:sample]:
            state = self._workflows.current_state(arn)
            if state is None:
                continue
            steps[step_of_state(state)] += 1
            held[step_of_state(state)] += state == held_state(step_of_state(state))
        return JourneyStatus(
            journey,
            self._store.journey_control(journey),
            running=sum(steps.values()) if customer else len(running),
            placed=sum(steps.values()),
            steps=steps,
            held=+held,
        )

    def set_state(self, journey: str, state: JourneyState, reason: str | None = None) -> JourneyControl:
        control = JourneyControl(journey=journey, state=state, changed_at=self._clock(), reason=reason)
        self._store.save_journey_control(control)
        return control

    def stop(self, journey: str, reason: str, customer: str | None = None) -> list[Stopped]:
        """End the journey (it admits no one after) or one customer's executions of it."""
        if customer is None:
            self.set_state(journey, JourneyState.STOPPED, reason)
            customers = (self._workflows.customer_of(arn) for arn in list(self._workflows.running(journey)))
            wanted = {c for c in customers if c}
        else:
            wanted = {customer}
        return [stopped for c in sorted(wanted) for stopped in self._stop_customer(journey, c, reason)]

    def _entries(self, journey: str, customer: str) -> list[JourneyEntry]:
        return [
            entry
            for entry in self._store.entries_of(customer)
            if entry.journey == journey and entry.execution_arn and not entry.ended_reason
        ]

    def _stop_customer(self, journey: str, customer: str, reason: str) -> list[Stopped]:
        cause = f"stopped: {reason}"
        stopped = []
        for entry in self._entries(journey, customer):
            arn = str(entry.execution_arn)
            state = self._workflows.current_state(arn)
            self._workflows.stop(arn, cause)
            self._store.save_entry(entry.model_copy(update={"ended_reason": cause}))
            step = step_of_state(state) if state else None
            self._store.save_decision(
                StepDecision(
                    customer_id=customer,
                    journey=journey,
                    version=entry.version,
                    step=step or "-",
                    execution_id=arn,
                    outcome="stopped",
                    reason=reason,
                    at=self._clock(),
                )
            )
            stopped.append(Stopped(customer, arn, step))
        drop_held(self._store, customer, {s.execution_arn: f"journey {cause}" for s in stopped})
        return stopped
