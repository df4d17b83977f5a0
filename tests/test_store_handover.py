"""Changes handed over to an object's lease holder, on Azurite: what a drain adds while the
holder settles is kept, a reference handed over twice waits once, and a full row says so."""

from __future__ import annotations

import pytest

from sync.objects import SyncObject
from sync.store import handover as handover_module
from sync.store.change_queue import ChangeRef
from sync.store.handover import Handover
from sync.store.tables import StoreTables


@pytest.fixture
def handover(tables: StoreTables) -> Handover:
    return Handover(tables)


def _ref(person_id: int) -> ChangeRef:
    return ChangeRef(source="marketo", table="person", id=str(person_id))


def test_what_was_handed_over_is_taken_by_the_holder_and_gone_once_settled(handover: Handover) -> None:
    refs = [_ref(1), _ref(2)]
    assert handover.hand_over(SyncObject.PERSON, refs)
    handed = handover.take(SyncObject.PERSON)
    assert handed is not None and handed.refs == refs
    assert handover.take(SyncObject.CONTACT) is None  # one row per object
    handover.settle(handed)
    assert handover.take(SyncObject.PERSON) is None


def test_a_reference_added_while_the_holder_syncs_stays_for_the_next_look(handover: Handover) -> None:
    first, second = _ref(1), _ref(2)
    handover.hand_over(SyncObject.PERSON, [first])
    handed = handover.take(SyncObject.PERSON)
    assert handed is not None
    handover.hand_over(SyncObject.PERSON, [second])  # a drain, while the holder merges person 1
    handover.settle(handed)
    left = handover.take(SyncObject.PERSON)
    assert left is not None and left.refs == [second]


def test_the_same_reference_handed_over_twice_waits_once(handover: Handover) -> None:
    ref = _ref(7)
    assert handover.hand_over(SyncObject.PERSON, [ref])
    assert handover.hand_over(SyncObject.PERSON, [ref])
    handed = handover.take(SyncObject.PERSON)
    assert handed is not None and handed.refs == [ref]


def test_a_full_handover_refuses_more_and_keeps_what_it_holds(
    handover: Handover, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(handover_module, "MAX_HANDED", 2)
    assert handover.hand_over(SyncObject.PERSON, [_ref(1), _ref(2)])
    assert not handover.hand_over(SyncObject.PERSON, [_ref(3)])
    handed = handover.take(SyncObject.PERSON)
    assert handed is not None and [r.id for r in handed.refs] == ["1", "2"]


def test_two_hundred_references_fit_one_row(handover: Handover) -> None:
    refs = [
        ChangeRef(source="dataverse", table="contact", id=f"{n:08d}-0000-0000-0000-000000000000", message="Update")
        for n in range(handover_module.MAX_HANDED)
    ]
    assert handover.hand_over(SyncObject.CONTACT, refs)
    handed = handover.take(SyncObject.CONTACT)
    assert handed is not None and handed.refs == refs
