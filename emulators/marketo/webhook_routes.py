"""The control API's trigger campaigns with a Call Webhook step (`webhooks.py`): register one,
see what was registered and what each call answered, and how many calls are still to be made."""

from __future__ import annotations

from typing import Any

from werkzeug.wrappers import Request, Response

from emulators.common.control import control, json_response
from emulators.marketo.core import MarketoCore
from emulators.marketo.webhooks import CampaignWebhook


class WebhookRoutes(MarketoCore):
    @control("webhooks", "GET", "POST")
    def control_webhooks(self, request: Request, body: Any) -> Response:
        """POST {"url", "template", "headers", "triggers": ["created", "changed"], "fields"}: a
        trigger campaign calling the webhook; GET: the campaigns, their calls, the calls pending."""
        if request.method == "POST":
            try:
                webhook = CampaignWebhook.parse(body)
            except ValueError as error:
                return json_response({"error": str(error)}, 400)
            with self.lock:
                return json_response({"id": self.campaigns.register(webhook)}, 201)
        with self.lock:
            return json_response(
                {
                    "webhooks": [
                        {"url": w.url, "triggers": list(w.triggers), "fields": list(w.fields)}
                        for w in self.campaigns.registered
                    ],
                    "calls": list(self.campaigns.calls),
                    "pending": self.campaigns.jobs.pending,
                }
            )
