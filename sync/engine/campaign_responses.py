"""Beyond the native sync: a person's program status change in Marketo (activity 104, read with
the person stream's page) becomes a Dynamics campaign response, when the mapping file links the
program to a campaign and maps the new status to a response code (`response_rules.py`).

One response per person × program × status, never two: its id is derived from the three, so an
activity read twice (the late-activity sweep, a page re-read after a crash, Marketo returning it
again) creates nothing the second time. The response is from the person's linked lead or contact
(the contact a lead was qualified into), dated the day the status changed; a person with no
Dynamics record, or a status mapped to none, makes none.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any, Final

from sync.engine.apply import PageCounts
from sync.engine.flow_actions import IDS
from sync.engine.response_rules import ResponseRule
from sync.engine.runtime import Engine
from sync.objects import PERSON_TARGET
from sync.store.links import MarketoRef

PROGRAM_STATUS: Final = 104  # Change Status in Progression


def _attribute(activity: Mapping[str, Any], name: str) -> Any:
    return next((a.get("value") for a in activity.get("attributes") or [] if a.get("name") == name), None)


def respond(engine: Engine, activities: Sequence[Mapping[str, Any]]) -> PageCounts:
    rules: Mapping[int, ResponseRule] = engine.response_rules
    changes = [
        a
        for a in activities
        if a.get("activityTypeId") == PROGRAM_STATUS and int(a.get("primaryAttributeValueId") or 0) in rules
    ]
    counts = PageCounts()
    if not changes:
        return counts
    refs = {MarketoRef(object=PERSON_TARGET, id=str(a["leadId"])) for a in changes}
    links = engine.store.links.get_many_by_marketo(list(refs))
    for activity in changes:
        rule = rules[int(activity["primaryAttributeValueId"])]
        status = str(_attribute(activity, "New Status") or "")
        code = rule.codes.get(status)
        link = links.get(MarketoRef(object=PERSON_TARGET, id=str(activity["leadId"])))
        if code is None or link is None or link.deleted:
            counts.filtered += 1  # a status with no response, or a person with no Dynamics record
            continue
        member = ("contact", link.qualified_into) if link.qualified_into else (link.dynamics.table, link.dynamics.id)
        key = f"campaign-response/{engine.marketo.client.base_url}/{activity['leadId']}/{rule.program_id}/{status}"
        values = {
            "subject": f"{rule.program}: {status}"[:200],
            "responsecode": code,
            "channeltypecode": rule.channel,
            "receivedon": str(activity.get("activityDate") or "")[:10],
            "description": f"Marketo program {rule.program} (id {rule.program_id}): "
            f"{_attribute(activity, 'Old Status') or 'Not in Program'} → {status}",
        }
        created = engine.dataverse.marketing_lists.respond(str(uuid.uuid5(IDS, key)), rule.campaign_id, member, values)
        if created:
            counts.written += 1
        else:
            counts.unchanged += 1
    return counts
