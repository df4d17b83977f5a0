"""Marketo's "Add to Microsoft Campaign" and "Remove from Microsoft Campaign" flow steps (the native
sync's campaign sync), called through webhooks or the CLI.

Add: the person's linked lead or contact (synced first when it has none, as "sync person" does)
goes into the campaign's static marketing list for its member type — `Mkto-leads-<campaign>` or
`Mkto-contacts-<campaign>`, as the native sync names them: found by that name (so a list the
native sync made is used), else created under an id derived from the campaign and the type (a
retry never makes a second) and attached to the campaign. The store keeps the members the sync
added (`sync/store/campaign_members.py`, with its crash order).

Remove: takes a member out only if the sync added it; one added in Dynamics stays.

Both are idempotent: the same call twice changes nothing the second time, and says so.

What Marketo sees: each membership the flow steps meet is a record of the campaign member custom
object (`campaign_member_object`, keyed by the Dynamics list member id, linked to the person by
`leadId`, so smart lists can filter and trigger on it): its campaign and list, `memberStatus`
added or removed, `changedBy` marketo (the flow step) or dynamics (a member a user added), and
when. Written after Dynamics, so a failed Marketo write is repeated by the same call again.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from sync.connectors.dataverse.guids import is_guid
from sync.connectors.dataverse.marketing_lists import LIST_NAME_MAX
from sync.engine.flow_actions import IDS, FlowActionError, sync_person
from sync.engine.runtime import Engine
from sync.objects import PERSON_TARGET
from sync.store.campaign_members import CampaignMember
from sync.store.links import DynamicsRef, MarketoRef

LIST_NAMES: Final = {"lead": "Mkto-leads-{campaign}", "contact": "Mkto-contacts-{campaign}"}


@dataclass(frozen=True)
class MembershipChange:
    person_id: int
    campaign_id: str
    record: DynamicsRef
    list_id: str | None
    done: str  # what happened, in words: "added", "already a member (added by the sync)", …


def _key(campaign_id: str) -> str:
    if not is_guid(campaign_id):
        raise FlowActionError(f"campaignId {campaign_id!r} is not a Dynamics campaign id (a GUID)")
    return str(uuid.UUID(campaign_id))


def _campaign(engine: Engine, campaign_id: str) -> tuple[str, str]:
    """The campaign's id (lowercase) and name; a 4xx-worthy error when Dynamics has none."""
    key = _key(campaign_id)
    campaign = engine.dataverse.marketing_lists.campaign(key)
    if campaign is None:
        raise FlowActionError(f"Dynamics has no campaign {key} (deleted, or not this org's)")
    return key, str(campaign.get("name") or key)


def _record(engine: Engine, person_id: int) -> DynamicsRef:
    """The person's lead or contact: its link's (a qualified lead's contact), else synced now."""
    link = engine.store.links.get_by_marketo(MarketoRef(object=PERSON_TARGET, id=str(person_id)))
    if link is not None and not link.deleted:
        if link.qualified_into:
            return DynamicsRef(table="contact", id=link.qualified_into)
        return link.dynamics
    return sync_person(engine, person_id).dynamics


def _list_name(member_table: str, campaign_name: str) -> str:
    """The native sync's name of a campaign's list for a member type (as `MarketingLists.create` stores it)."""
    return LIST_NAMES[member_table].format(campaign=campaign_name)[:LIST_NAME_MAX]


def _list_for(engine: Engine, campaign_id: str, campaign_name: str, member_table: str) -> str:
    lists = engine.dataverse.marketing_lists
    name = _list_name(member_table, campaign_name)
    found = lists.find(name, member_table)
    if found is not None:
        return found
    list_id = str(uuid.uuid5(IDS, f"campaign-list/{campaign_id}/{member_table}"))
    lists.create(list_id, name, member_table)
    lists.attach(list_id, campaign_id)
    return list_id


def add_to_campaign(engine: Engine, person_id: int, campaign_id: str) -> MembershipChange:
    key, name = _campaign(engine, campaign_id)
    record = _record(engine, person_id)
    members, lists = engine.store.campaign_members, engine.dataverse.marketing_lists
    kept = members.get(key, record.table, record.id)
    if kept is not None and kept.member_id:  # shown in Marketo again: a first call's Marketo write may have failed
        _show_in_marketo(
            engine, kept.member_id, person_id, (key, name), _list_name(record.table, name), "added", "marketo"
        )
        return MembershipChange(person_id, key, record, kept.list_id, "already a member (added by the sync)")
    list_id = kept.list_id if kept is not None else _list_for(engine, key, name, record.table)
    present = lists.member(list_id, record.id)
    if kept is None:
        if present is not None:
            _show_in_marketo(
                engine, present, person_id, (key, name), _list_name(record.table, name), "added", "dynamics"
            )
            return MembershipChange(
                person_id, key, record, list_id, "already a member (added in Dynamics): left as it is"
            )
        members.put(CampaignMember(key, record.table, record.id, list_id, None, person_id, members.now()))
    member_id = present or lists.add(list_id, record.id)  # a pending row's member: adopted when already in
    members.put(CampaignMember(key, record.table, record.id, list_id, member_id, person_id, members.now()))
    _show_in_marketo(engine, member_id, person_id, (key, name), _list_name(record.table, name), "added", "marketo")
    return MembershipChange(person_id, key, record, list_id, "added")


def remove_from_campaign(engine: Engine, person_id: int, campaign_id: str) -> MembershipChange:
    key = _key(campaign_id)
    link = engine.store.links.get_by_marketo(MarketoRef(object=PERSON_TARGET, id=str(person_id)))
    if link is None or link.deleted:
        raise FlowActionError(f"Marketo person {person_id} is not linked to a Dynamics record: nothing to remove")
    members, lists = engine.store.campaign_members, engine.dataverse.marketing_lists
    records = [DynamicsRef(table="contact", id=link.qualified_into)] if link.qualified_into else []
    records.append(link.dynamics)  # a lead added before it was qualified is still in the leads' list
    found = [(r, kept) for r in records if (kept := members.get(key, r.table, r.id)) is not None]
    if not found:
        return MembershipChange(person_id, key, records[0], None, "not added by the sync: left as it is")
    record, kept = found[0]
    member_id = kept.member_id or lists.member(kept.list_id, record.id)
    removed = lists.remove(member_id) if member_id else False
    if member_id:
        _show_in_marketo(engine, member_id, person_id, (key, None), None, "removed", "marketo")
    members.delete(key, record.table, record.id)
    return MembershipChange(person_id, key, record, kept.list_id, "removed" if removed else "already gone")


def _show_in_marketo(
    engine: Engine,
    member_id: str,
    person_id: int,
    campaign: tuple[str, str | None],
    list_name: str | None,
    status: str,
    by: str,
) -> None:
    """The membership's record on the person in Marketo (nothing when the object is switched off)."""
    name = engine.mapping.campaign_member_object
    if name is None:
        return
    record: dict[str, Any] = {
        "listMemberId": member_id,
        "leadId": person_id,
        "campaignId": campaign[0],
        "memberStatus": status,
        "changedBy": by,
        "changedAt": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    if campaign[1] is not None:
        record |= {"campaignName": campaign[1], "listName": list_name}
    (result,) = engine.marketo.custom_object(name).upsert([record])
    if not result.ok:
        reason = result.reason.message if result.reason else "skipped"
        raise FlowActionError(f"Marketo refused the membership record on {name}: {reason}")
