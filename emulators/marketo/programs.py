"""Marketo programs, their channels' progression statuses and program membership, as data
(../shared/reference/marketo-more.md §b; the endpoints are `program_routes.py`).

A status change takes the member to a status of the program's channel: a person not yet a member
becomes one; a status at or below the member's step is skipped (1037), as Marketo skips it; each
change records a "Change Status in Progression" activity (104) on the person: the program as its
primary attribute (id and name) and the old and new statuses, their ids and whether it is a
success as attributes — what a marketer's flow step or a form fill does there too.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

ACTIVITY_PROGRAM_STATUS: Final = 104
NOT_IN_PROGRAM: Final = {"name": "Not in Program", "step": 0, "success": False, "hidden": False}


def _statuses(*steps: tuple[str, int, bool]) -> list[dict[str, Any]]:
    return [dict(NOT_IN_PROGRAM)] + [
        {"name": name, "step": step, "success": success, "hidden": False} for name, step, success in steps
    ]


# A fresh subscription's channels (Admin > Tags > Channel): their statuses and steps.
CHANNELS: Final[tuple[dict[str, Any], ...]] = (
    {
        "id": 1,
        "name": "Webinar",
        "applicableProgramType": "event",
        "progressionStatuses": _statuses(
            ("Invited", 10, False),
            ("Registered", 20, False),
            ("No Show", 30, False),
            ("Attended", 40, True),
            ("Attended On-demand", 40, True),
        ),
    },
    {
        "id": 2,
        "name": "Email Send",
        "applicableProgramType": "program",
        "progressionStatuses": _statuses(("Sent", 10, False), ("Clicked", 20, True)),
    },
    {
        "id": 3,
        "name": "Tradeshow",
        "applicableProgramType": "event",
        "progressionStatuses": _statuses(
            ("Invited", 10, False), ("Registered", 20, False), ("Attended", 30, True), ("Visited Booth", 40, True)
        ),
    },
)
STATUS_IDS: Final = {  # a status's id, as the activity's Old / New Status ID carry it
    (channel["name"], status["name"]): 100 * channel["id"] + n
    for channel in CHANNELS
    for n, status in enumerate(channel["progressionStatuses"])
}


def stamp(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Programs:
    programs: dict[int, dict[str, Any]] = field(default_factory=dict)
    members: dict[tuple[int, int], dict[str, Any]] = field(default_factory=dict)  # (program, lead) → member
    next_member_id: int = 1

    def create(self, name: str, channel: str, epoch: float) -> dict[str, Any]:
        if not any(c["name"] == channel for c in CHANNELS):
            raise KeyError(channel)
        program_id = 1000 + len(self.programs) + 1
        program = {
            "id": program_id,
            "name": name,
            "description": "",
            "createdAt": stamp(epoch),
            "updatedAt": stamp(epoch),
            "url": f"https://app-emulator.marketo.com/#PG{program_id}A1",
            "type": "Event" if channel in ("Webinar", "Tradeshow") else "Default",
            "channel": channel,
            "folder": {"type": "Folder", "value": 15, "folderName": "Marketing Activities"},
            "status": "",
            "workspace": "Default",
            "headStart": False,
        }
        self.programs[program_id] = program
        return program

    def statuses(self, program: dict[str, Any]) -> list[dict[str, Any]]:
        return next(c["progressionStatuses"] for c in CHANNELS if c["name"] == program["channel"])


def seed_programs(programs: Programs, count: int, rng: random.Random, epoch: float) -> None:
    for n in range(count):
        channel = CHANNELS[n % len(CHANNELS)]["name"]
        programs.create(f"{rng.choice(('2026', '2027'))} {channel} {n + 1}", channel, epoch)
