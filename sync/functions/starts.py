"""Starting orchestrations as singletons. `start_new` silently replaces a running instance with
the same id, so the status is checked first: a second request joins the one under way."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

import azure.durable_functions as df

from sync.functions.orchestrations import object_instance
from sync.objects import SyncObject

UNDER_WAY: Final = frozenset(
    {
        df.OrchestrationRuntimeStatus.Running,
        df.OrchestrationRuntimeStatus.Pending,
        df.OrchestrationRuntimeStatus.ContinuedAsNew,
    }
)
ALL_OBJECTS: Final = "full-copy"


async def under_way(client: df.DurableOrchestrationClient, instance_id: str) -> bool:
    status = await client.get_status(instance_id)
    return status is not None and status.runtime_status in UNDER_WAY


async def start_once(
    client: df.DurableOrchestrationClient, orchestrator: str, instance_id: str, request: dict[str, Any]
) -> dict[str, Any]:
    if await under_way(client, instance_id):
        return {"instance_id": instance_id, "started": False, "reason": "already under way"}
    await client.start_new(orchestrator, instance_id, request)
    return {"instance_id": instance_id, "started": True}


COPY_PATHS: Final = ("auto", "rest", "bulk")


async def start_full_copy(
    client: df.DurableOrchestrationClient, objects: Sequence[SyncObject], again: bool = False, path: str = "auto"
) -> dict[str, Any]:
    """One object: its own singleton. Several: one chain, unless one of them is copying already."""
    if len(objects) == 1:
        obj = objects[0].value
        request = {"object": obj, "again": again, "path": path}
        return await start_once(client, "full_copy_object", object_instance(obj), request)
    busy = [o.value for o in objects if await under_way(client, object_instance(o.value))]
    if busy:
        return {"instance_id": ALL_OBJECTS, "started": False, "reason": f"already copying: {', '.join(busy)}"}
    request = {"objects": [o.value for o in objects], "again": again, "path": path}
    return await start_once(client, "full_copy", ALL_OBJECTS, request)
