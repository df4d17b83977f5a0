"""The Marketo custom objects the sync writes with fields of its own (not mapped field by field):
each named by a mapping-file setting (null switches it off), checked at start for its fields,
and reported by `check` — when Marketo lacks one, what it carries stops and the rest syncs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from sync.objects import CAMPAIGN_FIELDS, CAMPAIGN_MEMBER_FIELDS, TEAM_MEMBER_FIELDS


@dataclass(frozen=True)
class OwnObject:
    setting: str  # the mapping file's key naming the object
    fields: tuple[str, ...]
    dedupe: str  # how to make it: its dedupe field (and link)
    subject: str  # check's line
    carries: str  # what it carries
    without: str  # what stops when Marketo lacks it


OWN_OBJECTS: Final = (
    OwnObject(
        "team_member_object",
        TEAM_MEMBER_FIELDS,
        "teamMembershipId",
        "Team members",
        "team memberships",
        "teams sync, their members do not",
    ),
    OwnObject(
        "campaign_object", tuple(CAMPAIGN_FIELDS), "campaignId", "Campaigns", "campaigns", "campaigns do not sync"
    ),
    OwnObject(
        "campaign_member_object",
        CAMPAIGN_MEMBER_FIELDS,
        "listMemberId; leadId linked to the person",
        "Campaign members",
        "campaign memberships on persons",
        "campaign memberships do not show on persons in Marketo",
    ),
)
