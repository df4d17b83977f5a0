"""Durable Functions: the full copy (every object in dependency order, one singleton
sub-orchestration per object, instance id `full-copy-<object>`), its preview (instance
`preview-full-copy`: an activity per object, each kept in the store) and "resync a field".

Orchestrators are deterministic: no I/O, the orchestration's clock, plain JSON in and out. Each
loops over activities (with retries) — a copy activity runs a minute of pages, pipelined, or of
bulk steps; a resync activity one page — sets its progress as the custom status (`{object,
done, total, rate, eta_s}`), waits with durable timers (Marketo's quota reset, a lease another
run holds, a bulk job running at Marketo),
and continues as new every PAGES_PER_GENERATION activities to bound its history. The
activities are thin: they call the engine's steps (`sync/engine/steps.py`).
"""

from __future__ import annotations

import time
from collections.abc import Generator
from datetime import datetime, timedelta
from typing import Any, Final

import azure.durable_functions as df

from sync.engine.full_copy import CopyPath
from sync.engine.preview import preview_and_keep
from sync.engine.resync import ResyncRequest
from sync.engine.steps import begin_step, copy_page_step, resync_step
from sync.functions import worker
from sync.functions.progress import progress
from sync.objects import FULL_COPY_ORDER, PERSON_TABLES, SyncObject

bp = df.Blueprint()

PAGES_PER_GENERATION: Final = 50
BUSY_WAIT: Final = timedelta(seconds=30)
PAGE_RETRY: Final = df.RetryOptions(first_retry_interval_in_milliseconds=5_000, max_number_of_attempts=5)

# An activity lives at most host.json's functionTimeout (10 min): the preview stops a minute
# short, between pages, and keeps what it found marked incomplete (the CLI has no such limit).
PREVIEW_TIME_LIMIT_S: Final = 540
PREVIEW_INSTANCE: Final = "preview-full-copy"

Orchestration = Generator[Any, Any, Any]


def object_instance(obj: str) -> str:
    return f"full-copy-{obj}"


@bp.orchestration_trigger(context_name="context")
def full_copy(context: df.DurableOrchestrationContext) -> Orchestration:
    """Every object (or those asked for), one after the other, in dependency order."""
    request = context.get_input() or {}
    objects = request.get("objects") or [o.value for o in FULL_COPY_ORDER]
    results = []
    for obj in objects:
        child = {"object": obj, "again": bool(request.get("again")), "path": request.get("path", "auto")}
        result = yield context.call_sub_orchestrator("full_copy_object", child, object_instance(obj))
        results.append(result)
        if result.get("stopped"):
            break  # a paused object stops the chain: what depends on it waits for the resume
    return results


@bp.orchestration_trigger(context_name="context")
def full_copy_object(context: df.DurableOrchestrationContext) -> Orchestration:
    state = dict(context.get_input() or {})
    obj = state["object"]
    if not state.get("begun"):
        begun = yield context.call_activity(
            "begin_full_copy", {"object": obj, "again": bool(state.get("again")), "path": state.get("path", "auto")}
        )
        state.update(
            begun=True,
            total=begun["total"],
            done_at_start=begun["done"],
            started_at=context.current_utc_datetime.isoformat(),
        )
    for _ in range(PAGES_PER_GENERATION):
        page = yield context.call_activity_with_retry("copy_page", PAGE_RETRY, {"object": obj})
        if page.get("paused"):
            context.set_custom_status({"object": obj, "paused": True})
            return {"object": obj, "stopped": "paused"}
        if page.get("busy"):
            yield context.create_timer(context.current_utc_datetime + BUSY_WAIT)
            continue
        if page.get("quota_reset_at"):
            context.set_custom_status({"object": obj, "waiting_for_quota_until": page["quota_reset_at"]})
            yield context.create_timer(datetime.fromisoformat(page["quota_reset_at"]))
            continue
        context.set_custom_status(
            progress(
                obj,
                page["done"],
                state.get("total"),
                datetime.fromisoformat(state["started_at"]),
                state.get("done_at_start", 0),
                context.current_utc_datetime,
            )
        )
        if page.get("complete"):
            return {"object": obj, "complete": True, "done": page["done"]}
        if page.get("wait_s"):  # a bulk job is running at Marketo
            yield context.create_timer(context.current_utc_datetime + timedelta(seconds=float(page["wait_s"])))
    context.continue_as_new(state)
    return None


@bp.orchestration_trigger(context_name="context")
def full_copy_preview(context: df.DurableOrchestrationContext) -> Orchestration:
    """Each object's preview in copy order; one that fails (kept as failed, with its reason) does
    not stop the others."""
    request = context.get_input() or {}
    results = []
    for obj in request.get("objects") or [o.value for o in FULL_COPY_ORDER]:
        try:
            result = yield context.call_activity("preview_object", {"object": obj})
        except Exception as exc:  # the activity's failure, as the Durable SDK raises it
            result = {"object": obj, "failed": str(exc)[:500]}
        results.append(result)
        context.set_custom_status({"previewed": [r["object"] for r in results]})
    return results


@bp.orchestration_trigger(context_name="context")
def resync_field(context: df.DurableOrchestrationContext) -> Orchestration:
    state = dict(context.get_input() or {})
    state.setdefault("started_at", context.current_utc_datetime.isoformat())  # kept across generations
    for _ in range(PAGES_PER_GENERATION):
        request = {"request": state["request"], "cursor": state.get("cursor")}
        page = yield context.call_activity_with_retry("resync_page", PAGE_RETRY, request)
        if page.get("paused"):
            return {**state, "stopped": "paused"}
        if "total" in page:  # the first page: what the resync will visit
            state["total"] = page["total"]
        state.update(
            cursor=page["cursor"],
            read=state.get("read", 0) + page["read"],
            written=state.get("written", 0) + page["written"],
            failed=state.get("failed", 0) + page["failed"],
        )
        done, total = state["read"], state.get("total")
        context.set_custom_status(
            progress(
                state["request"]["object"],
                done,
                max(total, done) if total is not None else None,
                datetime.fromisoformat(state["started_at"]),
                0,
                context.current_utc_datetime,
            )
            | {"fields": state["request"]["fields"]}
            | {k: state.get(k) for k in ("read", "written", "failed")}
        )
        if page.get("complete"):
            return {**state, "complete": True}
    context.continue_as_new(state)
    return None


@bp.activity_trigger(input_name="request")
def begin_full_copy(request: dict[str, Any]) -> dict[str, Any]:
    obj = SyncObject(request["object"])
    path = CopyPath(request.get("path") or "auto") if obj in PERSON_TABLES else CopyPath.AUTO
    return begin_step(worker.engine(), obj, bool(request.get("again")), path)


@bp.activity_trigger(input_name="request")
def copy_page(request: dict[str, Any]) -> dict[str, Any]:
    return copy_page_step(worker.engine(), SyncObject(request["object"]))


@bp.activity_trigger(input_name="request")
def resync_page(request: dict[str, Any]) -> dict[str, Any]:
    return resync_step(worker.engine(), ResyncRequest.model_validate(request["request"]), request.get("cursor"))


@bp.activity_trigger(input_name="request")
def preview_object(request: dict[str, Any]) -> dict[str, Any]:
    engine, obj = worker.engine(), SyncObject(request["object"])
    if not engine.pipelines.get(obj):
        return {"object": obj.value, "skipped": "no Dynamics table is read for it"}
    shown = preview_and_keep(engine, obj, deadline=time.monotonic() + PREVIEW_TIME_LIMIT_S)
    return {"object": obj.value, "complete": shown.complete, "read": shown.read, "eta_s": shown.eta_s}
