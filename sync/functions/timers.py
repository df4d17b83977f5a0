"""One timer per object (`%SYNC_SCHEDULE_<OBJECT>%`, six-field NCRONTAB, UTC, default every
minute; `run_on_startup=False`: it would fire on every scale-out; `use_monitor=True`: a missed
schedule runs once when the host is back). A timer runs one incremental run; an object with no
checkpoint gets its full copy started instead (the orchestration, a singleton per object)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import azure.durable_functions as df
import azure.functions as func

from sync.engine.pause import paused
from sync.engine.run import run_once
from sync.functions import worker
from sync.functions.starts import start_full_copy
from sync.objects import DIRECTIONS, FULL_COPY_ORDER, SyncObject
from sync.settings import schedule_setting

bp = df.Blueprint()


async def tick(obj: SyncObject, client: df.DurableOrchestrationClient) -> str:
    """What one timer firing does; returns what happened, for the log and the tests."""
    engine = await asyncio.to_thread(worker.engine)
    store = engine.store
    if store.checkpoints.get(obj, DIRECTIONS[obj][0]) is None and obj not in paused(store):
        started = await start_full_copy(client, [obj])
        return f"full copy {'started' if started['started'] else started.get('reason', '')}"
    record = await asyncio.to_thread(run_once, engine, obj)  # logs its SyncRun event (sync/telemetry.py)
    return f"{record.outcome.value}: {record.message}"


def _timer(obj: SyncObject) -> Callable[[func.TimerRequest, df.DurableOrchestrationClient], Awaitable[None]]:
    async def timer(timer: func.TimerRequest, client: df.DurableOrchestrationClient) -> None:
        await tick(obj, client)

    timer.__name__ = f"timer_{obj.value}"
    return timer


for _obj in FULL_COPY_ORDER:
    bp.function_name(f"timer_{_obj.value}")(
        bp.timer_trigger(
            schedule=f"%{schedule_setting(_obj)}%", arg_name="timer", run_on_startup=False, use_monitor=True
        )(bp.durable_client_input(client_name="client")(_timer(_obj)))
    )
