"""Index the Functions app the way the Python worker does: import, find the one register, list."""

from __future__ import annotations

import asyncio
import importlib
import json
import sys
from types import ModuleType, SimpleNamespace
from typing import Any

import azure.durable_functions as df
import azure.functions as func

from sync.functions import worker

WEBHOOK_SECRET = "s" * 40


def import_function_app() -> ModuleType:
    """A fresh import, as a worker start would do: settings are read again from the environment."""
    worker.reset()
    sys.modules.pop("function_app", None)
    return importlib.import_module("function_app")


def index_functions(module: ModuleType) -> dict[str, func.Function]:
    registers = [v for v in vars(module).values() if isinstance(v, func.FunctionRegister)]
    if len(registers) != 1:
        raise AssertionError(f"the worker needs exactly one FunctionRegister, found {len(registers)}")
    functions = registers[0].get_functions()  # raises on duplicate names, like the worker
    return {str(fn.get_function_name()): fn for fn in functions}


class DurableClientStandIn:
    """What the timers and endpoints ask of the Durable client: status and start."""

    def __init__(self) -> None:
        self.started: list[tuple[str, str, Any]] = []
        self.statuses: dict[str, Any] = {}

    async def get_status(self, instance_id: str) -> Any:
        return self.statuses.get(instance_id)

    async def start_new(self, name: str, instance_id: str, request: Any) -> str:
        self.started.append((name, instance_id, request))
        self.statuses[instance_id] = SimpleNamespace(runtime_status=df.OrchestrationRuntimeStatus.Running)
        return instance_id


def call_function(fn: func.Function, method: str, route: str, *args: Any, **request: Any) -> func.HttpResponse:
    req = func.HttpRequest(
        method=method,
        url=f"http://localhost/api/{route}",
        body=request.get("body", b""),
        params=request.get("params", {}),
        headers=request.get("headers", {}),
    )
    user: Any = fn.get_user_function()
    # the Durable client binding: past the SDK's middleware, which builds the client from the host's JSON
    result = user.__wrapped__(req, client=args[0]) if args else user(req)
    response = asyncio.run(result) if asyncio.iscoroutine(result) else result
    assert isinstance(response, func.HttpResponse)
    return response


def response_json(response: func.HttpResponse) -> Any:
    return json.loads(response.get_body())
