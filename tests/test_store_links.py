from __future__ import annotations

import uuid

import pytest

from sync.store import SyncStore
from sync.store.limits import EntityTooLarge
from sync.store.links import DynamicsRef, Link, MarketoRef


def _link(n: int, table: str = "contact") -> Link:
    return Link(
        dynamics=DynamicsRef(table=table, id=str(uuid.UUID(int=n))),
        marketo=MarketoRef(object="lead", id=str(1000 + n)),
        fingerprint=f"fp-{n}",
        synced={"email": f"p{n}@example.com", "firstName": f"P{n}"},
    )


def test_a_thousand_links_written_in_batches_are_found_both_ways(store: SyncStore) -> None:
    links = [_link(n) for n in range(1000)]
    store.links.upsert_many(links)

    by_dynamics = store.links.get_many_by_dynamics(link.dynamics for link in links)
    by_marketo = store.links.get_many_by_marketo(link.marketo for link in links)

    assert len(by_dynamics) == 1000 and len(by_marketo) == 1000
    assert by_dynamics[links[417].dynamics] == by_marketo[links[417].marketo].model_copy(
        update={"updated_at": by_dynamics[links[417].dynamics].updated_at}
    )
    assert by_dynamics[links[999].dynamics].synced == {"email": "p999@example.com", "firstName": "P999"}
    assert sum(1 for _ in store.links.iter_table("contact")) == 1000


def test_guid_case_does_not_split_one_record_into_two_links(store: SyncStore) -> None:
    guid = "6B29FC40-CA47-1067-B31D-00DD010662DA"
    store.links.upsert(Link(dynamics=DynamicsRef(table="lead", id=guid), marketo=MarketoRef(object="lead", id="7")))
    assert store.links.get_by_dynamics(DynamicsRef(table="lead", id=guid.lower())) is not None


@pytest.mark.parametrize(
    "awkward_id",
    ["a/b\\c#d?e", "100%", "tab\there", "line\nbreak", "\x7fdel\x9f", "ünïcødé✓", "'quoted' \"id\""],
)
def test_ids_with_characters_table_storage_forbids_are_stored_and_found(store: SyncStore, awkward_id: str) -> None:
    link = Link(
        dynamics=DynamicsRef(table="new_project", id=awkward_id),
        marketo=MarketoRef(object="co", id=awkward_id),
    )
    store.links.upsert(link)
    found = store.links.get_by_marketo(MarketoRef(object="co", id=awkward_id))
    assert found is not None and found.dynamics.id == awkward_id.lower()


def test_relinking_a_record_makes_its_old_marketo_id_resolve_to_no_link(store: SyncStore) -> None:
    link = _link(1)
    store.links.upsert(link)
    relinked = link.model_copy(update={"marketo": MarketoRef(object="lead", id="9999")})
    store.links.upsert(relinked)
    assert store.links.get_by_marketo(link.marketo) is None
    found = store.links.get_by_marketo(MarketoRef(object="lead", id="9999"))
    assert found is not None and found.dynamics == link.dynamics


def test_a_synced_value_too_large_for_table_storage_is_refused_and_nothing_is_written(
    store: SyncStore,
) -> None:
    small, huge = _link(1), _link(2).model_copy(update={"synced": {"description": "x" * 40_000}})
    with pytest.raises(EntityTooLarge, match=r"property 'synced' is [\d,]+ bytes; Table Storage allows 65,536"):
        store.links.upsert_many([small, huge])
    assert store.links.get_by_dynamics(small.dynamics) is None
    assert store.links.get_by_marketo(small.marketo) is None


def test_a_deleted_dynamics_record_keeps_its_link_marked_deleted(store: SyncStore) -> None:
    link = _link(3)
    store.links.upsert(link)
    store.links.upsert_many([link.model_copy(update={"deleted": True})])  # as a settled page stores it
    found = store.links.get_by_marketo(link.marketo)
    assert found is not None and found.deleted


def test_a_dropped_link_is_gone_both_ways(store: SyncStore) -> None:
    link = _link(4)
    store.links.upsert(link)
    store.links.delete(link)
    assert store.links.get_by_dynamics(link.dynamics) is None
    assert store.links.get_by_marketo(link.marketo) is None


def test_two_links_to_one_marketo_person_in_one_batch_keep_the_later_one(store: SyncStore) -> None:
    person = MarketoRef(object="lead", id="42")
    lead = Link(dynamics=DynamicsRef(table="lead", id=str(uuid.UUID(int=1))), marketo=person)
    contact = Link(dynamics=DynamicsRef(table="contact", id=str(uuid.UUID(int=2))), marketo=person)
    store.links.upsert_many([lead, contact])  # a qualification relink arriving in the same page
    found = store.links.get_by_marketo(person)
    assert found is not None and found.dynamics == contact.dynamics
