"""The sync's webhook in Dataverse, registered through the Web API
(../shared/reference/dataverse-webhooks.md §1-3): one service endpoint of the webhook kind
(contract 8) that sends the key in an HTTP header (authtype 5), and one asynchronous
post-operation step per message and table: Create, Update (filtered to the columns the sync
reads, so an edit of another column costs nothing) and Delete.

`register` is idempotent: it finds the endpoint by its unique name and its steps by their event
handler, creates what is missing, corrects what differs (the URL, the key, a step's columns) and
deletes the steps no longer wanted; run twice, the second run changes nothing but the key (which
Dataverse never returns, so it cannot be compared). `unregister` deletes the steps, then the
endpoint. Asynchronous steps leave the write's transaction alone: a webhook that fails never
fails a user's save in Dynamics, and the timers pick the change up.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final
from xml.sax.saxutils import quoteattr

from sync.connectors.dataverse.client import DataverseClient

ENDPOINT_NAME: Final = "Dynamics Marketo Sync: changes"
KEY_HEADER: Final = "x-sync-key"
WEBHOOK: Final = 8
HTTP_HEADER: Final = 5
JSON: Final = 2
POST_OPERATION: Final = 40
ASYNCHRONOUS: Final = 1
MESSAGES: Final = ("Create", "Update", "Delete")


@dataclass
class Registration:
    """What `register` found and did, and what `inspect` sees."""

    endpoint_id: str | None = None
    url: str | None = None
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    steps: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)  # (message, table) → step
    unsupported: list[str] = field(default_factory=list)  # tables Dataverse takes no steps on

    @property
    def changed(self) -> bool:
        return bool(self.created or self.updated or self.deleted)


def step_name(message: str, table: str) -> str:
    return f"Dynamics Marketo Sync: {message} of {table}"


def _auth_value(key: str) -> str:
    return f"<settings><setting name={quoteattr(KEY_HEADER)} value={quoteattr(key)} /></settings>"


def _quoted(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


class WebhookRegistration:
    def __init__(self, client: DataverseClient) -> None:
        self.client = client

    def _rows(self, entity_set: str, select: str, filter_: str) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        for page in self.client.read_pages(entity_set, params={"$select": select, "$filter": filter_}):
            rows.extend(page.get("value", []))
        return rows

    def _endpoint(self) -> dict[str, Any] | None:
        found = self._rows(
            "serviceendpoints", "serviceendpointid,name,url,authtype", f"name eq {_quoted(ENDPOINT_NAME)}"
        )
        return found[0] if found else None

    def _steps(self, endpoint_id: str) -> list[dict[str, Any]]:
        return self._rows(
            "sdkmessageprocessingsteps",
            "sdkmessageprocessingstepid,name,filteringattributes,_sdkmessageid_value,_sdkmessagefilterid_value",
            f"_eventhandler_value eq {endpoint_id}",
        )

    def inspect(self) -> Registration:
        """What is registered now (for `check`)."""
        endpoint = self._endpoint()
        if endpoint is None:
            return Registration()
        state = Registration(endpoint_id=str(endpoint["serviceendpointid"]), url=endpoint.get("url"))
        for step in self._steps(state.endpoint_id or ""):
            message, _, table = str(step["name"]).removeprefix("Dynamics Marketo Sync: ").partition(" of ")
            state.steps[(message, table)] = step
        return state

    def register(self, url: str, key: str, watched: Mapping[str, Sequence[str]]) -> Registration:
        """`watched`: table → the columns whose change matters (an Update of others is not sent)."""
        state = Registration(url=url)
        endpoint = self._endpoint()
        body = {
            "name": ENDPOINT_NAME,
            "contract": WEBHOOK,
            "url": url,
            "authtype": HTTP_HEADER,
            "authvalue": _auth_value(key),
            "messageformat": JSON,
        }
        if endpoint is None:
            answer = self.client.request("POST", "serviceendpoints", json=body, prefer=["return=representation"])
            state.endpoint_id = str(answer.json()["serviceendpointid"])
            state.created.append(f"service endpoint {ENDPOINT_NAME!r} → {url}")
        else:
            state.endpoint_id = str(endpoint["serviceendpointid"])
            self.client.request("PATCH", f"serviceendpoints({state.endpoint_id})", json=body)
            if endpoint.get("url") != url or endpoint.get("authtype") != HTTP_HEADER:
                state.updated.append(f"service endpoint {ENDPOINT_NAME!r} → {url}")
        messages = {
            str(m["name"]): str(m["sdkmessageid"])
            for m in self._rows("sdkmessages", "sdkmessageid,name", " or ".join(f"name eq '{m}'" for m in MESSAGES))
        }
        existing = {str(s["name"]): s for s in self._steps(state.endpoint_id)}
        wanted: set[str] = set()
        for table, columns in sorted(watched.items()):
            taken = 0
            for message in MESSAGES:
                filters = self._rows(
                    "sdkmessagefilters",
                    "sdkmessagefilterid",
                    f"_sdkmessageid_value eq {messages[message]} and primaryobjecttypecode eq {_quoted(table)}",
                )
                if not filters:  # the table has no such message (a list member is never updated)
                    if message == MESSAGES[-1] and not taken:
                        state.unsupported.append(table)
                    continue
                taken += 1
                name = step_name(message, table)
                wanted.add(name)
                attributes = ",".join(sorted(set(columns))) if message == "Update" else None
                step = existing.get(name)
                if step is None:
                    self._create_step(
                        name, state.endpoint_id, messages[message], str(filters[0]["sdkmessagefilterid"]), attributes
                    )
                    state.created.append(name)
                elif (step.get("filteringattributes") or None) != attributes:
                    self.client.request(
                        "PATCH",
                        f"sdkmessageprocessingsteps({step['sdkmessageprocessingstepid']})",
                        json={"filteringattributes": attributes},
                    )
                    state.updated.append(name)
        for name, step in existing.items():
            if name not in wanted:
                self.client.request("DELETE", f"sdkmessageprocessingsteps({step['sdkmessageprocessingstepid']})")
                state.deleted.append(name)
        return state

    def _create_step(
        self, name: str, endpoint_id: str, message_id: str, filter_id: str, attributes: str | None
    ) -> None:
        self.client.request(
            "POST",
            "sdkmessageprocessingsteps",
            json={
                "name": name,
                "description": "Sends the record's id to the sync's change queue (python -m sync setup-webhooks).",
                "mode": ASYNCHRONOUS,
                "stage": POST_OPERATION,
                "rank": 1,
                "supporteddeployment": 0,
                "asyncautodelete": True,  # succeeded jobs do not pile up; failed ones stay, to be seen
                "filteringattributes": attributes,
                "sdkmessageid@odata.bind": f"/sdkmessages({message_id})",
                "sdkmessagefilterid@odata.bind": f"/sdkmessagefilters({filter_id})",
                "eventhandler_serviceendpoint@odata.bind": f"/serviceendpoints({endpoint_id})",
            },
        )

    def unregister(self) -> Registration:
        state = Registration()
        endpoint = self._endpoint()
        if endpoint is None:
            return state
        state.endpoint_id = str(endpoint["serviceendpointid"])
        for step in self._steps(state.endpoint_id):
            self.client.request("DELETE", f"sdkmessageprocessingsteps({step['sdkmessageprocessingstepid']})")
            state.deleted.append(str(step["name"]))
        self.client.request("DELETE", f"serviceendpoints({state.endpoint_id})")
        state.deleted.append(f"service endpoint {ENDPOINT_NAME!r}")
        return state
