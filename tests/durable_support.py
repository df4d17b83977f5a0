"""Orchestration histories for the Durable SDK's real replay engine: events in the shape the
Durable extension sends, task ids in the order the orchestrator schedules them."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

STARTED, SCHEDULED, COMPLETED, FAILED = 0, 4, 5, 6
SUB_CREATED, SUB_COMPLETED = 7, 8
TIMER_CREATED, TIMER_FIRED, ORCHESTRATOR_STARTED = 10, 11, 12
CALL_ACTIVITY, CALL_ACTIVITY_WITH_RETRY, CALL_SUB_ORCHESTRATOR, CONTINUE_AS_NEW, CREATE_TIMER = 0, 1, 2, 4, 5


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass
class History:
    name: str
    input: Any
    now: datetime = field(default_factory=lambda: datetime(2026, 11, 22, 12, 0, tzinfo=UTC))
    events: list[dict[str, Any]] = field(default_factory=list)
    next_id: int = 0

    def __post_init__(self) -> None:
        self._tick()
        self._event(STARTED, -1, Input=json.dumps(self.input), Name=self.name, Version="")

    def _event(self, kind: int, event_id: int, **detail: Any) -> None:
        self.events.append(
            {"EventType": kind, "EventId": event_id, "IsPlayed": False, "Timestamp": _stamp(self.now), **detail}
        )

    def _tick(self, seconds: float = 0) -> None:
        self.now += timedelta(seconds=seconds)
        self._event(ORCHESTRATOR_STARTED, -1)

    def _id(self) -> int:
        self.next_id += 1
        return self.next_id - 1

    def activity(self, name: str, result: Any, seconds: float = 1.0) -> History:
        task = self._id()
        self._event(SCHEDULED, task, Name=name)
        self._tick(seconds)
        self._event(COMPLETED, -1, TaskScheduledId=task, Result=json.dumps(result))
        return self

    def activity_failed(self, name: str, reason: str) -> History:
        task = self._id()
        self._event(SCHEDULED, task, Name=name)
        self._tick(1)
        self._event(FAILED, -1, TaskScheduledId=task, Reason=reason, Details="")
        return self

    def timer(self, fire_at: datetime) -> History:
        task = self._id()
        self._event(TIMER_CREATED, task, FireAt=_stamp(fire_at))
        self.now = max(self.now, fire_at)
        self._tick()
        self._event(TIMER_FIRED, -1, TimerId=task, FireAt=_stamp(fire_at))
        return self

    def sub_orchestration(self, name: str, instance_id: str, result: Any) -> History:
        task = self._id()
        self._event(SUB_CREATED, task, Name=name, InstanceId=instance_id)
        self._tick(1)
        self._event(SUB_COMPLETED, -1, TaskScheduledId=task, Result=json.dumps(result))
        return self

    def replay(self, orchestrator: Callable[[Any], str]) -> dict[str, Any]:
        """Run the registered orchestrator as the worker does; the state it answers, parsed."""
        body = {
            "history": self.events,
            "input": json.dumps(self.input),
            "instanceId": f"test-{self.name}",
            "isReplaying": False,
            "parentInstanceId": None,
        }
        state: dict[str, Any] = json.loads(orchestrator(json.dumps(body)))
        state["flat"] = [action for group in state.get("actions", []) for action in group]
        return state
