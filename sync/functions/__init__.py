"""The thin Azure Functions layer: parses input, calls the engine and the store, shapes output."""

from __future__ import annotations

import azure.durable_functions as df

from sync.functions.admin_http import bp as admin_http
from sync.functions.changes import bp as changes
from sync.functions.orchestrations import bp as orchestrations
from sync.functions.timers import bp as timers
from sync.functions.webhooks import bp as webhooks


def blueprints() -> list[df.Blueprint]:
    """Every Blueprint the app registers (function_app.py registers exactly these)."""
    return [admin_http, changes, orchestrations, timers, webhooks]
