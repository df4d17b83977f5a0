"""Beyond the native sync: a person's program status change in Marketo (activity 104, read with
the person stream's page) becomes a Dynamics campaign response, when the mapping file links the
program to a campaign and maps the new status to a response code (`response_rules.py`).

One response per person × program × status, never two: its id is derived from the three, so an
activity read twice (the late-activity sweep, a page re-read after a crash, Marketo returning it
again) creates nothing the second time. The response is from the person's linked lead or contact
(the contact a lead was qualified into), dated the day the status changed; a person with no
Dynamics record, or a status mapped to none, makes none.

A response Dynamics refuses (the campaign or the contact deleted meanwhile, a value it rejects)
never holds the person stream: it goes to the errors table (object campaign, Marketo → Dynamics)
under a key that says everything needed to make it again — person, program, day, status — and
the person run retries it with the errors' backoff, as it retries persons.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from sync.connectors.dataverse.errors import DataverseError
from sync.connectors.http.failures import FailureKind
from sync.engine.apply import PageCounts
from sync.engine.flow_actions import IDS
from sync.engine.runtime import Engine
from sync.objects import M2D, PERSON_TARGET, SyncObject
from sync.store.links import MarketoRef

PROGRAM_STATUS: Final = 104  # Change Status in Progression
REFUSED: Final = (400, 404)  # the record's own problem; anything else stops the run and is retried whole


@dataclass(frozen=True)
class StatusChange:
    person_id: int
    program_id: int
    day: str  # YYYY-MM-DD, Marketo's activity date
    status: str
    old: str = "Not in Program"

    @property
    def key(self) -> str:
        """The errors table's record id: the change, whole (status last: it may hold any text)."""
        return f"{self.person_id}/{self.program_id}/{self.day}/{self.status}"

    @classmethod
    def of_key(cls, key: str) -> StatusChange:
        person, program, day, status = key.split("/", 3)
        return cls(int(person), int(program), day, status)


def _attribute(activity: Mapping[str, Any], name: str) -> Any:
    return next((a.get("value") for a in activity.get("attributes") or [] if a.get("name") == name), None)


def respond(engine: Engine, activities: Sequence[Mapping[str, Any]]) -> PageCounts:
    changes = [
        StatusChange(
            int(a["leadId"]),
            int(a["primaryAttributeValueId"]),
            str(a.get("activityDate") or "")[:10],
            str(_attribute(a, "New Status") or ""),
            str(_attribute(a, "Old Status") or "Not in Program"),
        )
        for a in activities
        if a.get("activityTypeId") == PROGRAM_STATUS
        and int(a.get("primaryAttributeValueId") or 0) in engine.response_rules
    ]
    return _create(engine, changes, failing=set())


def retry_responses(engine: Engine) -> PageCounts:
    """The refused responses that are due again."""
    due = [e.record_id for e in engine.store.errors.due(SyncObject.CAMPAIGN) if e.direction is M2D]
    changes = [StatusChange.of_key(key) for key in due]
    return _create(engine, [c for c in changes if c.program_id in engine.response_rules], failing=set(due))


def _create(engine: Engine, changes: Iterable[StatusChange], failing: set[str]) -> PageCounts:
    changes = list(changes)
    counts = PageCounts()
    if not changes:
        return counts
    refs = {MarketoRef(object=PERSON_TARGET, id=str(c.person_id)) for c in changes}
    links = engine.store.links.get_many_by_marketo(list(refs))
    failing |= engine.store.errors.record_ids(SyncObject.CAMPAIGN, M2D) if not failing else set()
    for change in changes:
        rule = engine.response_rules[change.program_id]
        code = rule.codes.get(change.status)
        link = links.get(MarketoRef(object=PERSON_TARGET, id=str(change.person_id)))
        if code is None or link is None or link.deleted:
            counts.filtered += 1  # a status with no response, or a person with no Dynamics record
            if change.key in failing:
                engine.store.errors.resolve(SyncObject.CAMPAIGN, M2D, change.key)
            continue
        member = ("contact", link.qualified_into) if link.qualified_into else (link.dynamics.table, link.dynamics.id)
        values = {
            "subject": f"{rule.program}: {change.status}"[:200],
            "responsecode": code,
            "channeltypecode": rule.channel,
            "receivedon": change.day,
            "description": f"Marketo program {rule.program} (id {rule.program_id}): {change.old} → {change.status}",
        }
        name = (
            f"campaign-response/{engine.marketo.client.base_url}/{change.person_id}/{change.program_id}/{change.status}"
        )
        try:
            created = engine.dataverse.marketing_lists.respond(
                str(uuid.uuid5(IDS, name)), rule.campaign_id, member, values
            )
        except DataverseError as error:
            if error.status not in REFUSED:
                raise
            engine.store.errors.record_failure(
                SyncObject.CAMPAIGN,
                M2D,
                change.key,
                operation="campaign response",
                code=error.code,
                message=f"{rule.program}: {change.status} → {rule.campaign}: {error.message}",
                dynamics_id=rule.campaign_id,
                marketo_id=str(change.person_id),
                kind=FailureKind.BAD_RECORD.value,
                table="campaignresponse",
            )
            counts.failed += 1
            continue
        if change.key in failing:
            engine.store.errors.resolve(SyncObject.CAMPAIGN, M2D, change.key)
        if created:
            counts.written += 1
        else:
            counts.unchanged += 1
    return counts
