"""The registry of synced objects is the one list of them: the default mapping, the Marketo
objects the connector knows, the timers and the full-copy order all agree with it."""

from __future__ import annotations

from sync.connectors.marketo.lead_database import STANDARD_OBJECTS
from sync.mapping.defaults import DEFAULT_FIELDS
from sync.mapping.types import Winner
from sync.objects import (
    D2M,
    DIRECTIONS,
    FULL_COPY_ORDER,
    M2D,
    MAPPED_TABLES,
    PERSON_TABLES,
    REGISTRY,
    STANDARD_TABLES,
    STANDARD_TARGETS,
    Shape,
    SyncObject,
    opportunity_state,
)


def test_every_object_has_exactly_one_row_and_the_rows_give_the_full_copy_order() -> None:
    assert [spec.object for spec in REGISTRY] == list(FULL_COPY_ORDER)
    assert sorted(FULL_COPY_ORDER) == sorted(SyncObject)


def test_owners_and_companies_are_copied_before_what_points_at_them_and_leads_before_contacts() -> None:
    order = list(FULL_COPY_ORDER)
    for earlier, later in [
        (SyncObject.SYSTEMUSER, SyncObject.ACCOUNT),
        (SyncObject.TEAM, SyncObject.LEAD),
        (SyncObject.ACCOUNT, SyncObject.CONTACT),
        (SyncObject.PERSON, SyncObject.LEAD),  # Marketo's position is taken before persons are copied
        (SyncObject.LEAD, SyncObject.CONTACT),  # a qualified lead's person exists before its contact
        (SyncObject.CONTACT, SyncObject.OPPORTUNITY_ROLE),
    ]:
        assert order.index(earlier) < order.index(later), (earlier, later)


def test_the_default_mapping_covers_exactly_the_tables_the_registry_maps_field_by_field() -> None:
    assert set(DEFAULT_FIELDS) == set(MAPPED_TABLES)


def test_leads_and_contacts_flow_both_ways_with_their_winners_and_everything_else_one_way() -> None:
    two_way = {spec.object: spec.winner for spec in REGISTRY if spec.two_way}
    assert two_way == {SyncObject.LEAD: Winner.MARKETO, SyncObject.CONTACT: Winner.DYNAMICS}
    assert PERSON_TABLES == (SyncObject.LEAD, SyncObject.CONTACT)
    marketo_to_dynamics = {obj for obj, directions in DIRECTIONS.items() if directions == (M2D,)}
    assert marketo_to_dynamics == {SyncObject.PERSON, SyncObject.ENGAGEMENT}
    assert all(DIRECTIONS[obj] == (D2M,) for obj in SyncObject if obj not in marketo_to_dynamics)


def test_every_record_stream_names_its_key_and_every_target_is_an_object_the_connector_writes() -> None:
    records = [s for spec in REGISTRY for s in spec.streams if s.shape is Shape.RECORD]
    assert [s.table for s in records if not s.key] == []
    assert set(STANDARD_TARGETS) <= set(STANDARD_OBJECTS)
    names = [s.stream for spec in REGISTRY for s in spec.streams]
    assert len(names) == len(set(names))  # one cursor, one set of links per stream name


def test_the_tables_described_at_start_are_those_the_streams_read_and_the_flow_actions_write() -> None:
    read = {s.table for spec in REGISTRY for s in spec.streams}
    assert set(STANDARD_TABLES) == read | {"task"}


def test_an_opportunitys_state_gives_won_closed_and_the_close_date_that_applies() -> None:
    won = {"statecode": 1, "actualclosedate": "2026-11-30T00:00:00Z", "estimatedclosedate": "2026-12-31"}
    lost = {"statecode": 2, "actualclosedate": None, "estimatedclosedate": "2026-12-31"}
    open_ = {"statecode": 0, "actualclosedate": "2026-11-30", "estimatedclosedate": None}
    assert opportunity_state(won) == {"isWon": True, "isClosed": True, "closeDate": "2026-11-30"}
    assert opportunity_state(lost) == {"isWon": False, "isClosed": True, "closeDate": "2026-12-31"}
    assert opportunity_state(open_) == {"isWon": False, "isClosed": False, "closeDate": None}
