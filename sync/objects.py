"""The objects the sync moves, and in which order a full copy visits them.

Data, not code: the functions layer registers one timer per entry, settings read one schedule per
entry, and the full copy walks them in this order so that owners and companies exist before the
persons and opportunities that point at them.

Leads and contacts flow both ways. Dynamics → Marketo is read per table (`lead`, `contact`);
Marketo → Dynamics is one stream, Marketo's person activity log, read by `person` for both:
one call a minute carries every change of every person, where a reader per table would pay twice.
Its full copy is only the position it starts from, taken before leads and contacts are copied so
that Marketo edits made during their copy are merged afterwards.

Leads are copied before contacts: a contact made by qualifying a lead takes over the lead's
Marketo person, which must exist by then (behaviour §4).
"""

from __future__ import annotations

from enum import StrEnum


class SyncObject(StrEnum):
    """One incremental timer and one checkpoint per member; the value names them everywhere."""

    SYSTEMUSER = "systemuser"
    TEAM = "team"
    ACCOUNT = "account"
    PERSON = "person"
    LEAD = "lead"
    CONTACT = "contact"
    OPPORTUNITY = "opportunity"
    OPPORTUNITY_ROLE = "opportunityrole"
    CUSTOM = "custom"


class Direction(StrEnum):
    DYNAMICS_TO_MARKETO = "dynamics_to_marketo"
    MARKETO_TO_DYNAMICS = "marketo_to_dynamics"


# Full-copy order (behaviour §2): referenced records first.
FULL_COPY_ORDER: tuple[SyncObject, ...] = tuple(SyncObject)

# Which direction each object's runs move (behaviour §1).
DIRECTIONS: dict[SyncObject, tuple[Direction, ...]] = {
    obj: (Direction.MARKETO_TO_DYNAMICS,) if obj is SyncObject.PERSON else (Direction.DYNAMICS_TO_MARKETO,)
    for obj in FULL_COPY_ORDER
}

# The Dynamics tables whose records are Marketo persons, both ways.
PERSON_TABLES: tuple[SyncObject, ...] = (SyncObject.LEAD, SyncObject.CONTACT)
