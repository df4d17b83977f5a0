"""The preview of a first copy (issue 24), against both emulators and Azurite: a seeded org into a
Marketo instance that already holds some of its persons — some matching by email, one email held
twice there, one with differing values, one value Marketo refuses — reports each category with
the right counts and writes nothing anywhere; then the real copy does what the preview said."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from sync.engine.full_copy import full_copy
from sync.engine.preview import ObjectPreview, preview
from sync.objects import D2M, FULL_COPY_ORDER, SyncObject
from tests.emulator_support import control
from tests.sync_support import World, by_key

_COUNTS = (
    "read",
    "filtered_out",
    "would_create",
    "would_link",
    "ambiguous",
    "shared_emails",
    "differing",
    "would_fail",
)


@pytest.fixture
def world(make_sync_world: Callable[..., World], tmp_path: Path) -> World:
    mapping = tmp_path / "mapping.yaml"  # a long text into a 255-character Marketo field: some will not fit
    extra = "{dynamics: description, marketo: leadSource, direction: to_marketo}"
    mapping.write_text(f"objects:\n  contact:\n    fields:\n      - {extra}\n")
    return make_sync_world(SYNC_MAPPING_FILE=str(mapping))


def _contact(world: World, name: str, email: str | None, **values: Any) -> str:
    return world.create("contact", {"lastname": name, **({"emailaddress1": email} if email else {}), **values})


def _marketo_has(world: World, *persons: dict[str, Any]) -> None:
    world.engine.marketo.persons.upsert(list(persons), action="createDuplicate")


def _written(world: World) -> tuple[int, int, int]:
    dataverse = int(control(world.dataverse, "GET", "stats")["writes"])
    links = sum(1 for table in ("contact", "lead") for _ in world.store.links.iter_table(table))
    return world.marketo_writes(), dataverse, links


def _seed(world: World) -> dict[str, str]:
    ids = {
        "same": _contact(world, "Same", "same@example.com", jobtitle="Engineer"),
        "differs": _contact(world, "Differs", "differs@example.com", jobtitle="Director"),
        "twice": _contact(world, "Twice", "twice@example.com"),
        "new": _contact(world, "New", "new@example.com"),
        "shared1": _contact(world, "Shared", "shared@example.com"),
        "shared2": _contact(world, "Shared", "shared@example.com"),
        "no email": _contact(world, "Nomail", None),
        "too long": _contact(world, "Long", "long@example.com", description="x" * 300),
    }
    _marketo_has(
        world,
        {"email": "same@example.com", "lastName": "Same", "title": "Engineer"},
        {"email": "differs@example.com", "lastName": "Differs", "title": "Manager"},
        {"email": "twice@example.com", "lastName": "Twice"},
        {"email": "twice@example.com", "lastName": "Twice again"},
    )
    for obj in FULL_COPY_ORDER:
        if obj not in (SyncObject.CONTACT, SyncObject.LEAD):
            full_copy(world.engine, obj)
    return ids


def test_a_preview_counts_each_category_and_writes_nothing_anywhere(world: World) -> None:
    _seed(world)
    before = _written(world)
    shown = preview(world.engine, SyncObject.CONTACT)
    assert _written(world) == before
    assert world.store.checkpoints.get(SyncObject.CONTACT, D2M) is None  # nor a copy begun
    counts = {name: getattr(shown, name) for name in _COUNTS}
    assert counts == {
        "read": 8,
        "filtered_out": 0,
        "would_create": 4,  # new, both holders of the shared email, the one without an email
        "would_link": 2,  # same, differs
        "ambiguous": 1,  # twice: two unlinked persons hold the email
        "shared_emails": 1,
        "differing": 2,  # both linked persons lack the owner and status the copy writes; one its title too
        "would_fail": 1,
    }
    assert shown.differing_fields == {"externalSalesPersonId": 2, "leadStatus": 2, "title": 1}
    assert shown.winners == {"externalSalesPersonId": "dynamics", "leadStatus": "dynamics", "title": "dynamics"}
    assert [reason.endswith("is 300 characters; the Marketo field holds 255") for reason in shown.reasons] == [True]
    assert shown.marketo_calls == 2  # a describe, and one query for up to 300 emails


def test_the_real_copy_does_what_the_preview_said(world: World) -> None:
    ids = _seed(world)
    shown: ObjectPreview = preview(world.engine, SyncObject.CONTACT)
    before = world.engine.marketo.client.limiter.calls_made
    full_copy(world.engine, SyncObject.CONTACT)
    assert world.engine.marketo.client.limiter.calls_made - before == shown.copy_marketo_calls
    links = {link.dynamics.id: link for link in world.store.links.iter_table("contact")}
    errors = {e.record_id: e.message for e in world.store.errors.list(SyncObject.CONTACT)}
    persons = by_key(world.marketo_rows("lead"), "dynamicsId")
    assert len(links) == shown.would_create + shown.would_link
    assert len(errors) == shown.ambiguous + shown.would_fail
    assert {ids["twice"].lower(), ids["too long"].lower()} <= set(errors)
    assert errors[ids["too long"].lower()] in shown.reasons  # the copy's reason is the preview's
    assert persons[ids["differs"].lower()]["title"] == "Director"  # Dynamics wins for contacts, as previewed
