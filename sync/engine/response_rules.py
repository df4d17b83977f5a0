"""The mapping file's `campaign_responses`, checked at start against both systems (I/O at the edge):
each Marketo program (by name or id) must exist, its statuses must be its channel's, the Dynamics
campaign (by id or code) must exist, and each response code and channel must be a label of the
campaign response's option sets. Every problem is reported at once, each with its closest
matches, so a typo stops the start with its fix instead of silently creating nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

from sync.connectors.dataverse.connection import DataverseConnection
from sync.connectors.dataverse.errors import DataverseError
from sync.connectors.dataverse.guids import is_guid
from sync.connectors.marketo.connection import MarketoConnection
from sync.mapping.file import CampaignResponseEntry, MappingError
from sync.mapping.resolve import closest

NONE: Final = "none"  # a status that makes no response


@dataclass(frozen=True)
class ResponseRule:
    program_id: int
    program: str
    campaign_id: str
    campaign: str
    codes: dict[str, int | None]  # program status → responsecode (None: no response)
    channel: int  # channeltypecode


def _labels(dataverse: DataverseConnection) -> dict[str, dict[str, int]]:
    """campaignresponse's responsecode and channeltypecode: label → value."""
    found = dataverse.metadata.option_labels("campaignresponse")
    return {column: {label: value for value, label in options.items()} for column, options in found.items()}


def _campaign(dataverse: DataverseConnection, key: str) -> tuple[str, str] | None:
    """(id, name) of the campaign with this id or code."""
    try:
        if is_guid(key):
            row = dataverse.client.get_json(f"campaigns({key})", params={"$select": "campaignid,name"})
        else:
            quoted = "'" + key.replace("'", "''") + "'"
            params = {"$select": "campaignid,name", "$filter": f"codename eq {quoted}"}
            rows = dataverse.client.get_json("campaigns", params=params).get("value") or []
            if not rows:
                return None
            row = rows[0]
    except DataverseError as error:
        if error.status == 404:
            return None
        raise
    return str(row["campaignid"]).lower(), str(row.get("name") or key)


def _campaign_names(dataverse: DataverseConnection) -> list[str]:
    rows = dataverse.client.get_json("campaigns", params={"$select": "name,codename", "$top": "5000"}).get("value")
    return [str(r.get(k)) for r in rows or [] for k in ("codename", "name") if r.get(k)]


def resolve_response_rules(
    entries: Iterable[CampaignResponseEntry], marketo: MarketoConnection, dataverse: DataverseConnection, source: str
) -> dict[int, ResponseRule]:
    """The rules by program id; a MappingError naming every problem."""
    entries = list(entries)
    if not entries:
        return {}
    problems: list[str] = []
    labels = _labels(dataverse)
    codes, channels = labels.get("responsecode", {}), labels.get("channeltypecode", {})
    rules: dict[int, ResponseRule] = {}
    for n, entry in enumerate(entries):
        where = f"campaign_responses[{n}]"
        program = (
            marketo.programs.by_id(entry.program)
            if isinstance(entry.program, int)
            else marketo.programs.by_name(entry.program)
        )
        if program is None:
            problems.append(
                f"{where}: Marketo has no program {entry.program!r}"
                f"{closest(str(entry.program), marketo.programs.names())}"
            )
        campaign = _campaign(dataverse, entry.campaign)
        if campaign is None:
            problems.append(
                f"{where}: Dynamics has no campaign with the id or code {entry.campaign!r}"
                f"{closest(entry.campaign, _campaign_names(dataverse))}"
            )
        if entry.channel not in channels:
            problems.append(f"{where}: {entry.channel!r} is no response channel{closest(entry.channel, channels)}")
        statuses = marketo.programs.statuses(str(program["channel"])) if program else []
        mapped: dict[str, int | None] = {}
        for status, code in entry.statuses.items():
            if program is not None and status not in statuses:
                problems.append(
                    f"{where}: {status!r} is not a status of the program's channel {program['channel']!r}"
                    f"{closest(status, statuses)}"
                )
            if code.lower() == NONE:
                mapped[status] = None
            elif code in codes:
                mapped[status] = codes[code]
            else:
                problems.append(f"{where}: {code!r} is no response code (or none){closest(code, codes)}")
        if program is not None and int(program["id"]) in rules:
            problems.append(f"{where}: the program {program['name']!r} is mapped twice")
        if program is not None and campaign is not None and entry.channel in channels:
            rules[int(program["id"])] = ResponseRule(
                int(program["id"]), str(program["name"]), campaign[0], campaign[1], mapped, channels[entry.channel]
            )
    if problems:
        raise MappingError(source, problems)
    return rules
