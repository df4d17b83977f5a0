"""The objects the sync moves, and in which order a full copy visits them.

Data, not code: the functions layer registers one timer per entry, settings read one schedule per
entry, and the full copy walks them in this order so that owners and companies exist before the
persons and opportunities that point at them.
"""

from __future__ import annotations

from enum import StrEnum


class SyncObject(StrEnum):
    """One incremental timer and one checkpoint per member; the value names them everywhere."""

    SYSTEMUSER = "systemuser"
    TEAM = "team"
    ACCOUNT = "account"
    CONTACT = "contact"
    LEAD = "lead"
    OPPORTUNITY = "opportunity"
    OPPORTUNITY_ROLE = "opportunityrole"
    CUSTOM = "custom"


class Direction(StrEnum):
    DYNAMICS_TO_MARKETO = "dynamics_to_marketo"
    MARKETO_TO_DYNAMICS = "marketo_to_dynamics"


# Full-copy order (behaviour §2): referenced records first.
FULL_COPY_ORDER: tuple[SyncObject, ...] = (
    SyncObject.SYSTEMUSER,
    SyncObject.TEAM,
    SyncObject.ACCOUNT,
    SyncObject.CONTACT,
    SyncObject.LEAD,
    SyncObject.OPPORTUNITY,
    SyncObject.OPPORTUNITY_ROLE,
    SyncObject.CUSTOM,
)

# Which directions each object syncs in (behaviour §1).
DIRECTIONS: dict[SyncObject, tuple[Direction, ...]] = {
    obj: (
        (Direction.DYNAMICS_TO_MARKETO, Direction.MARKETO_TO_DYNAMICS)
        if obj in (SyncObject.LEAD, SyncObject.CONTACT)
        else (Direction.DYNAMICS_TO_MARKETO,)
    )
    for obj in FULL_COPY_ORDER
}
