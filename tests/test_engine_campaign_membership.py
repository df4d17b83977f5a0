"""Marketo's Add to / Remove from Microsoft Campaign (issue 25), against both emulators and Azurite:
a contact's person goes into the campaign's `Mkto-contacts-<campaign>` static list, made and
attached once; a person without a Dynamics record gets a lead first and goes into the leads'
list; the same call twice changes nothing; remove takes out only what the sync added (a member
added in Dynamics stays); a list the native sync made is used; a crash between the store's pending
row and the member adopts the member on the retry; a deleted campaign or a bad id is refused
by name; each membership the steps meet shows on the person in Marketo (the campaign member
custom object: added or removed, by Marketo or Dynamics)."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from sync.connectors.http.failures import ConnectorError
from sync.engine.campaign_membership import add_to_campaign, remove_from_campaign
from sync.engine.flow_actions import FlowActionError, sync_person
from sync.engine.full_copy import full_copy
from sync.engine.run import run_once
from sync.objects import FULL_COPY_ORDER, SyncObject
from sync.store.campaign_members import CampaignMember
from tests.emulator_support import fault
from tests.sync_support import World, by_key

MEMBERS = "customobject/dynamicsCampaignMember_c"


@pytest.fixture
def world(make_sync_world: Callable[..., World]) -> World:
    made = make_sync_world()
    made.create("contact", {"lastname": "Member", "firstname": "Mo", "emailaddress1": "mo@example.com"})
    for obj in FULL_COPY_ORDER:
        full_copy(made.engine, obj)
    return made


def _person_of(world: World, email: str) -> int:
    return int(next(p["id"] for p in world.marketo_rows("lead") if p.get("email") == email))


def _members(world: World) -> list[tuple[str, str]]:
    """(list name, member's record id) of every list member in Dynamics."""
    names = {r["listid"]: r["listname"] for r in world.dynamics_rows("list")}
    return sorted((names[m["listid"][1]], m["entityid"][1]) for m in world.dynamics_rows("listmember"))


def test_add_puts_the_contact_in_the_campaigns_contact_list_once_and_remove_takes_it_out(world: World) -> None:
    campaign = world.create("campaign", {"name": "Spring Webinar"})
    person = _person_of(world, "mo@example.com")
    added = add_to_campaign(world.engine, person, campaign)
    again = add_to_campaign(world.engine, person, campaign)
    assert (added.done, again.done) == ("added", "already a member (added by the sync)")
    assert added.record.table == "contact"
    assert _members(world) == [("Mkto-contacts-Spring Webinar", added.record.id)]
    (item,) = world.dynamics_rows("campaignitem")
    assert (item["campaignid"][1], item["entityid"]) == (campaign.lower(), added.list_id)
    (shown,) = world.marketo_rows(MEMBERS)  # on the person in Marketo, for smart lists to filter and trigger on
    assert {
        k: shown.get(k) for k in ("leadId", "campaignId", "campaignName", "listName", "memberStatus", "changedBy")
    } == {
        "leadId": person,
        "campaignId": campaign.lower(),
        "campaignName": "Spring Webinar",
        "listName": "Mkto-contacts-Spring Webinar",
        "memberStatus": "added",
        "changedBy": "marketo",
    }
    removed = remove_from_campaign(world.engine, person, campaign)
    twice = remove_from_campaign(world.engine, person, campaign)
    assert (removed.done, twice.done) == ("removed", "not added by the sync: left as it is")
    (shown,) = world.marketo_rows(MEMBERS)
    assert (shown["memberStatus"], shown["changedBy"], shown["campaignName"]) == (
        "removed",
        "marketo",
        "Spring Webinar",
    )
    assert _members(world) == [] and len(world.dynamics_rows("list")) == 1  # the list stays for the next one


def test_a_person_without_a_dynamics_record_gets_a_lead_that_joins_the_leads_list(world: World) -> None:
    campaign = world.create("campaign", {"name": "Trade Show"})
    person = world.engine.marketo.persons.upsert([{"email": "walkin@example.com", "lastName": "Walk-in"}])[0].id
    assert person is not None
    added = add_to_campaign(world.engine, person, campaign)
    assert (added.done, added.record.table) == ("added", "lead")
    assert _members(world) == [("Mkto-leads-Trade Show", added.record.id)]
    assert [r["emailaddress1"] for r in world.dynamics_rows("lead")] == ["walkin@example.com"]


def test_a_member_added_in_dynamics_stays_whatever_marketo_asks(world: World) -> None:
    campaign = world.create("campaign", {"name": "Summit"})
    person = _person_of(world, "mo@example.com")
    contact = sync_person(world.engine, person).dynamics.id
    lists = world.engine.dataverse.marketing_lists
    native = "0f6c1a52-1d9e-4b8e-9a53-3c1f0e2d7a11"
    lists.create(native, "Mkto-contacts-Summit", "contact")  # as the native sync or a user made it
    lists.add(native, contact)
    assert add_to_campaign(world.engine, person, campaign).done == "already a member (added in Dynamics): left as it is"
    assert remove_from_campaign(world.engine, person, campaign).done == "not added by the sync: left as it is"
    assert _members(world) == [("Mkto-contacts-Summit", contact)]
    (shown,) = world.marketo_rows(MEMBERS)
    assert (shown["memberStatus"], shown["changedBy"]) == ("added", "dynamics")  # what Marketo learned: a user added it
    assert world.dynamics_rows("campaignitem") == []  # the native list was found by name, not attached again


def test_a_crash_after_the_pending_row_adopts_the_member_on_the_retry(world: World) -> None:
    campaign = world.create("campaign", {"name": "Crash"})
    person = _person_of(world, "mo@example.com")
    first = add_to_campaign(world.engine, person, campaign)
    record, list_id = first.record, str(first.list_id)
    pending = CampaignMember(campaign.lower(), record.table, record.id, list_id, None, person, datetime.now(UTC))
    world.store.campaign_members.put(pending)  # the row as it was before the member was added
    retried = add_to_campaign(world.engine, person, campaign)
    assert retried.done == "added" and len(world.dynamics_rows("listmember")) == 1
    kept = world.store.campaign_members.get(campaign, record.table, record.id)
    assert kept is not None and kept.member_id == world.dynamics_rows("listmember")[0]["listmemberid"]
    assert remove_from_campaign(world.engine, person, campaign).done == "removed"  # it is the sync's to remove


@pytest.mark.parametrize(
    ("campaign", "message"),
    [
        ("not-a-guid", "campaignId 'not-a-guid' is not a Dynamics campaign id (a GUID)"),
        ("2b0d8a52-9f6e-4b1e-9a53-3c1f0e2d7a11", "Dynamics has no campaign 2b0d8a52-9f6e-4b1e-9a53-3c1f0e2d7a11"),
    ],
)
def test_a_bad_or_deleted_campaign_is_refused_by_name(world: World, campaign: str, message: str) -> None:
    with pytest.raises(FlowActionError, match=re.escape(message)):
        add_to_campaign(world.engine, _person_of(world, "mo@example.com"), campaign)


def test_a_deleted_campaigns_members_can_still_be_removed_from_the_store(world: World) -> None:
    campaign = world.create("campaign", {"name": "Gone"})
    person = _person_of(world, "mo@example.com")
    add_to_campaign(world.engine, person, campaign)
    world.delete("campaign", campaign)
    with pytest.raises(FlowActionError, match="Dynamics has no campaign"):
        add_to_campaign(world.engine, person, campaign)
    assert remove_from_campaign(world.engine, person, campaign).done == "removed"


def test_members_added_and_removed_in_dynamics_through_a_campaigns_list_show_on_the_person_in_marketo(
    world: World,
) -> None:
    campaign = world.create("campaign", {"name": "Roadshow"})
    person = _person_of(world, "mo@example.com")
    contact = sync_person(world.engine, person).dynamics.id
    other = world.create("contact", {"lastname": "Other", "emailaddress1": "other@example.com"})
    run_once(world.engine, SyncObject.CONTACT)
    lists = world.engine.dataverse.marketing_lists
    roadshow, newsletter = "1f6c1a52-1d9e-4b8e-9a53-3c1f0e2d7a11", "2f6c1a52-1d9e-4b8e-9a53-3c1f0e2d7a11"
    lists.create(roadshow, "Mkto-contacts-Roadshow", "contact")  # the campaign's list, as the native sync names it
    lists.create(newsletter, "Newsletter", "contact")  # a list of no campaign
    member = lists.add(roadshow, contact)  # a user adds them in Dynamics
    lists.add(newsletter, other)
    assert run_once(world.engine, SyncObject.CAMPAIGN).outcome.value == "succeeded"
    (shown,) = world.marketo_rows(MEMBERS)
    assert {k: shown.get(k) for k in ("listMemberId", "leadId", "campaignName", "memberStatus", "changedBy")} == {
        "listMemberId": member,
        "leadId": person,
        "campaignName": "Roadshow",
        "memberStatus": "added",
        "changedBy": "dynamics",
    }
    lists.remove(member)  # and takes them out again
    run_once(world.engine, SyncObject.CAMPAIGN)
    (shown,) = world.marketo_rows(MEMBERS)
    assert (shown["memberStatus"], shown["changedBy"]) == ("removed", "dynamics")

    added = add_to_campaign(world.engine, person, campaign)  # Marketo's step: shown as marketo's, and stays so
    run_once(world.engine, SyncObject.CAMPAIGN)
    kept = world.store.campaign_members.get(campaign, "contact", contact)
    assert kept is not None
    mine = by_key(world.marketo_rows(MEMBERS), "listMemberId")[str(kept.member_id)]
    assert (mine["memberStatus"], mine["changedBy"]) == ("added", "marketo") and added.done == "added"
    assert list(world.store.errors.list(SyncObject.CAMPAIGN)) == []  # the record there already is no failure


def test_a_failed_marketo_write_of_the_membership_is_made_by_the_same_call_again(world: World) -> None:
    campaign = world.create("campaign", {"name": "Flaky"})
    person = _person_of(world, "mo@example.com")
    members = "/rest/v1/customobjects/dynamicsCampaignMember_c.json"
    fault(world.marketo, path=members, method="POST", error_code="603", message="Access denied", times=1)
    with pytest.raises(ConnectorError, match="Access denied"):
        add_to_campaign(world.engine, person, campaign)  # in the list in Dynamics; Marketo refused the record
    assert len(_members(world)) == 1 and world.marketo_rows(MEMBERS) == []
    again = add_to_campaign(world.engine, person, campaign)  # Marketo's webhook retried, or the next trigger
    assert again.done == "already a member (added by the sync)"
    (shown,) = world.marketo_rows(MEMBERS)
    assert (shown["memberStatus"], shown["changedBy"]) == ("added", "marketo")
