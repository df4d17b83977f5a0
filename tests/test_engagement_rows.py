"""Engagement's pure parts: how an activity reads on the timeline (individually or in a day's
roll-up), when engagement rides on the person stream's call, and the mapping file's section."""

from __future__ import annotations

from typing import Any

import pytest

from sync.connectors.dataverse.metadata import TableDefinition
from sync.engine.engagement_plan import ActivityType, EngagementPlan
from sync.engine.engagement_rows import activity_key, individual, rollup
from sync.mapping.engagement import DEFAULT_TYPES, WORDING, EngagementNames, Mode
from sync.mapping.file import MappingError, parse_mapping

NAMES = EngagementNames("mkto")


def _activity(type_id: int, primary: str, **attributes: Any) -> dict[str, Any]:
    return {
        "marketoGUID": "7c2f9a1e-0000-4000-8000-000000000001",
        "leadId": 42,
        "activityDate": "2026-12-07T09:30:00Z",
        "activityTypeId": type_id,
        "primaryAttributeValue": primary,
        "attributes": [{"name": k.replace("_", " "), "value": v} for k, v in attributes.items()],
    }


@pytest.mark.parametrize(
    ("name", "activity", "subject"),
    [
        ("Open Email", _activity(10, "Newsletter - January", Device="Mobile"), "Opened email: Newsletter - January"),
        ("Fill Out Form", _activity(2, "Request a demo"), "Filled out form: Request a demo"),
        (
            "Interesting Moment",
            _activity(46, "Web", Description="Visited pricing twice"),
            "Interesting moment: Visited pricing twice",
        ),
        (
            "Change Status in Progression",
            _activity(104, "Spring Webinar", New_Status="Attended"),
            "Program status: Spring Webinar → Attended",
        ),
        ("Some Custom Type", _activity(100001, "Game Giveaway"), "Some Custom Type: Game Giveaway"),
    ],
)
def test_an_activity_reads_as_a_seller_would_say_it(name: str, activity: dict[str, Any], subject: str) -> None:
    row = individual(activity, ActivityType(int(activity["activityTypeId"]), name, Mode.INDIVIDUAL), NAMES)
    assert row.values["subject"] == subject and row.create_only
    assert row.key == activity["marketoGUID"] and row.values["mkto_marketoleadid"] == 42
    assert row.values["statecode"] == 1 and row.values["actualend"] == "2026-12-07T09:30:00Z"


def test_an_activity_without_a_guid_is_keyed_by_its_id() -> None:
    assert activity_key({"id": 991, "marketoGUID": None}) == "id-991"


def test_a_roll_up_counts_its_activities_and_lists_what_they_were_about() -> None:
    members = {"a": "Newsletter - January", "b": "Newsletter - January", "c": "Product update"}
    row = rollup(42, ActivityType(10, "Open Email", Mode.ROLLUP), "2026-12-07", members, NAMES)
    assert row.values["subject"] == "Opened 3 email(s) on 2026-12-07" and row.values["mkto_count"] == 3
    assert row.values["description"] == "Newsletter - January (2), Product update"
    assert row.key == "rollup-42-10-2026-12-07" and not row.create_only


def test_every_default_type_has_its_wording() -> None:
    assert set(DEFAULT_TYPES) <= set(WORDING)


def _plan(person: tuple[int, ...], types: tuple[int, ...], key: str | None = "Active") -> EngagementPlan:
    table = TableDefinition("mkto_marketoactivity", "mkto_marketoactivities", "activityid")
    kinds = {t: ActivityType(t, f"type {t}", Mode.INDIVIDUAL) for t in types}
    return EngagementPlan(NAMES, {}, table, key, kinds, (), person)


@pytest.mark.parametrize(
    ("person", "types", "rides"),
    [
        ((13, 37), (1, 2, 7, 9, 10, 11, 46, 104), True),  # 10 types: one call
        ((13, 37, 22), (1, 2, 7, 9, 10, 11, 46, 104), False),  # 11: engagement reads on its own
        ((13, 37, 104), (104, 10), True),  # shared types count once
    ],
)
def test_engagement_rides_on_the_person_streams_call_when_the_types_fit(
    person: tuple[int, ...], types: tuple[int, ...], rides: bool
) -> None:
    plan = _plan(person, types)
    assert plan.rides is rides
    assert set(plan.asked) == (set(person) | set(types) if rides else set(person))


def test_without_an_active_key_nothing_is_written_and_setup_is_named() -> None:
    plan = _plan((13, 37), (10,), key="Pending")
    assert not plan.timeline and not plan.rides and "run `python -m sync setup`" in (plan.missing() or "")


def test_the_mapping_takes_yaml_off_and_names_the_modes_of_a_bad_one() -> None:
    entry = parse_mapping(
        "engagement:\n  types: {Visit Webpage: individual, Email Delivered: off}\n", "m.yaml", "YAML"
    ).engagement
    assert entry.modes()["Visit Webpage"] is Mode.INDIVIDUAL and "Email Delivered" not in entry.modes()
    with pytest.raises(MappingError) as refused:
        parse_mapping("engagement:\n  types: {Open Email: daily}\n", "m.yaml", "YAML")
    assert "individual, rollup or off" in str(refused.value)
