"""A trigger campaign that calls a webhook, standing in for what an admin builds in Marketo
(../shared/reference/marketo-more.md §f; docs/setup.md gives the real steps): triggers "Person
is Created" and "Data Value Changes" (optionally on some fields only), flow step "Call Webhook".

Registered through the control API (`POST /_emulator/webhooks`): the URL, the custom headers,
the payload template (tokens `{{lead.Id}}` and `{{lead.<field>}}`, by API or display name; a
string token goes out JSON-quoted, as with Request Token Encoding JSON), which triggers, and the
fields a value change must touch. A person's change fires after its write, asynchronously (the
campaign's processing delay: `campaign` latency), on one worker thread in order. Marketo waits
30 s for an answer and never retries a failed call; the outcome of each call is kept for the
control API's GET (as "Webhook is Called" would record it).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

import requests

from emulators.common.background import BackgroundJobs

if TYPE_CHECKING:
    from emulators.marketo.core import MarketoCore

TIMEOUT_S: Final = 30.0
TRIGGERS: Final = ("created", "changed")
_TOKEN = re.compile(r"\{\{lead\.([^}]+)\}\}")


@dataclass(frozen=True)
class CampaignWebhook:
    url: str
    template: str
    headers: dict[str, str] = field(default_factory=dict)
    triggers: tuple[str, ...] = TRIGGERS
    fields: tuple[str, ...] = ()  # "changed" only when one of these changed (empty: any field)

    @classmethod
    def parse(cls, body: Any) -> CampaignWebhook:
        if not isinstance(body, dict) or not isinstance(body.get("url"), str) or not body["url"].startswith("http"):
            raise ValueError("give 'url' (http or https) and 'template' (the payload, with {{lead.Id}} tokens)")
        if not isinstance(body.get("template"), str):
            raise ValueError("give 'template': the payload, e.g. {\"personId\": {{lead.Id}}}")
        triggers = tuple(body.get("triggers") or TRIGGERS)
        if not set(triggers) <= set(TRIGGERS):
            raise ValueError(f"'triggers' are among {list(TRIGGERS)}")
        headers = body.get("headers") or {}
        if not isinstance(headers, dict):
            raise ValueError("'headers' is an object of header names to values")
        fields = tuple(body.get("fields") or ())
        return cls(body["url"], body["template"], {str(k): str(v) for k, v in headers.items()}, triggers, fields)


@dataclass(frozen=True)
class Call:
    webhook: CampaignWebhook
    lead_id: int
    payload: str


class CampaignWebhooks:
    def __init__(self, service: MarketoCore) -> None:
        self.service = service
        self.registered: list[CampaignWebhook] = []
        self.calls: list[dict[str, Any]] = []  # what each call answered, in order
        self.jobs: BackgroundJobs[Call] = BackgroundJobs("marketo-campaigns", self._call)

    def register(self, webhook: CampaignWebhook) -> int:
        self.registered.append(webhook)
        return len(self.registered)

    # the trigger (under the service's lock: called by the write)

    def on_person(self, lead_id: int, trigger: str, changed: list[str]) -> None:
        for webhook in self.registered:
            if trigger not in webhook.triggers:
                continue
            if trigger == "changed" and webhook.fields and not set(webhook.fields) & set(changed):
                continue
            self._enqueue(Call(webhook, lead_id, self._render(webhook.template, lead_id)))

    def _render(self, template: str, lead_id: int) -> str:
        person = self.service.persons.leads.get(lead_id, {})
        by_display = {f.display_name: f.name for f in self.service.persons.fields.values()}

        def token(match: re.Match[str]) -> str:
            name = match.group(1).strip()
            value = lead_id if name in ("Id", "id") else person.get(by_display.get(name, name))
            if value is None:
                return ""
            return json.dumps(value) if isinstance(value, str) else str(value)

        return _TOKEN.sub(token, template)

    # the campaign's flow, asynchronously

    def _enqueue(self, call: Call) -> None:
        # the campaign's processing delay counts from the trigger: a mass update's persons run
        # through the trigger campaign together, not one delay after another
        self.jobs.put(call, delay_s=self.service.latency_s("campaign"))

    def _call(self, call: Call) -> None:
        self.calls.append({"lead_id": call.lead_id, "url": call.webhook.url, **self._post(call)})

    @staticmethod
    def _post(call: Call) -> dict[str, Any]:
        headers = {"Content-Type": "application/json", **call.webhook.headers}
        try:
            answer = requests.post(call.webhook.url, data=call.payload.encode(), headers=headers, timeout=TIMEOUT_S)
        except requests.RequestException as exc:
            return {"status": None, "error": type(exc).__name__}
        return {"status": answer.status_code}
