"""The thin Azure Functions layer: parses input, calls the engine and the store, shapes output."""

from __future__ import annotations

import azure.functions as func

from sync.functions.admin_http import bp as admin_http


def blueprints() -> list[func.Blueprint]:
    """Every Blueprint the app registers (function_app.py registers exactly these)."""
    return [admin_http]
