"""A seeded org for the preview's tests: contacts of every category the preview tells apart,
and a Marketo instance already holding some of their persons."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from sync.engine.full_copy import full_copy
from sync.objects import FULL_COPY_ORDER, SyncObject
from tests.emulator_support import control
from tests.sync_support import World


def previewed_world(make_sync_world: Callable[..., World], tmp_path: Path) -> World:
    mapping = tmp_path / "mapping.yaml"  # a long text into a 255-character Marketo field: some will not fit
    extra = "{dynamics: description, marketo: leadSource, direction: to_marketo}"
    mapping.write_text(f"objects:\n  contact:\n    fields:\n      - {extra}\n")
    return make_sync_world(SYNC_MAPPING_FILE=str(mapping))


def _contact(world: World, name: str, email: str | None, **values: Any) -> str:
    return world.create("contact", {"lastname": name, **({"emailaddress1": email} if email else {}), **values})


def _marketo_has(world: World, *persons: dict[str, Any]) -> None:
    world.engine.marketo.persons.upsert(list(persons), action="createDuplicate")


def written(world: World) -> tuple[int, int, int]:
    dataverse = int(control(world.dataverse, "GET", "stats")["writes"])
    links = sum(1 for table in ("contact", "lead") for _ in world.store.links.iter_table(table))
    return world.marketo_writes(), dataverse, links


def seed_previewed_org(world: World) -> dict[str, str]:
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
