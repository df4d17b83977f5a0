"""Campaigns, Dynamics → Marketo (issue 25), against both emulators and Azurite: each campaign
becomes a record of the campaign custom object with its name, code, status and type (by their
labels), dates and owner; a status change crosses on the next run; a template stays behind; a
deleted campaign's record goes; a Marketo without the custom object, or a mapping that switches
it off, leaves campaigns out and says so."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from sync.engine.check import Status, run_check
from sync.engine.full_copy import full_copy
from sync.engine.run import run_once
from sync.objects import FULL_COPY_ORDER, SyncObject
from tests.sync_support import World, by_key

CAMPAIGNS = "customobject/dynamicsCampaign_c"


@pytest.fixture
def world(make_sync_world: Callable[..., World]) -> World:
    return make_sync_world()


def _copy_all(world: World) -> None:
    for obj in FULL_COPY_ORDER:
        full_copy(world.engine, obj)


def test_campaigns_cross_with_their_labels_dates_and_owner_and_follow_changes_and_deletions(world: World) -> None:
    launch = world.create(
        "campaign",
        {
            "name": "Spring Launch",
            "typecode": 3,
            "statuscode": 1,
            "proposedstart": "2027-03-01",
            "proposedend": "2027-03-31",
        },
    )
    gone = world.create("campaign", {"name": "Old Newsletter", "typecode": 2})
    template = world.create("campaign", {"name": "Template", "istemplate": True})
    _copy_all(world)
    records = by_key(world.marketo_rows(CAMPAIGNS), "campaignId")
    assert set(records) == {launch.lower(), gone.lower()}  # a template is no campaign anyone runs
    record = records[launch.lower()]
    row = by_key(world.dynamics_rows("campaign"), "campaignid")[launch.lower()]
    assert {k: record[k] for k in ("campaignName", "campaignCode", "campaignStatus", "campaignType")} == {
        "campaignName": "Spring Launch",
        "campaignCode": row["codename"],
        "campaignStatus": "Ready To Launch",
        "campaignType": "Event",
    }
    assert (record["proposedStart"], record["proposedEnd"], record.get("actualStart")) == (
        "2027-03-01",
        "2027-03-31",
        None,
    )
    assert record["ownerId"] == row["ownerid"][1]

    world.update("campaign", launch, {"statuscode": 2})
    world.delete("campaign", gone)
    result = run_once(world.engine, SyncObject.CAMPAIGN)
    assert result.outcome.value == "succeeded"
    records = by_key(world.marketo_rows(CAMPAIGNS), "campaignId")
    assert set(records) == {launch.lower()} and records[launch.lower()]["campaignStatus"] == "Launched"
    assert template


def test_a_mapping_without_the_campaign_object_leaves_campaigns_out_and_check_says_why(
    make_sync_world: Callable[..., World], tmp_path: Path
) -> None:
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text("campaign_object: dynamicsCampaignMissing_c\n")
    world = make_sync_world(SYNC_MAPPING_FILE=str(mapping))
    world.create("campaign", {"name": "Unsynced"})
    assert [p.stream for p in world.engine.pipelines[SyncObject.CAMPAIGN]] == ["listmember"]  # no campaign stream
    lines = {line.subject: line for line in run_check(world.engine.settings).lines}
    campaigns = lines["Campaigns"]
    assert campaigns.status is Status.WARNING
    assert "Marketo has no custom object dynamicsCampaignMissing_c" in campaigns.detail
