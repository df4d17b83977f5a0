"""A run's record counts the calls and store writes it made, not those of work running beside it
in the same process (the host runs timers, the queue trigger and Durable activities side by side;
the CLI runs each object's timer on a thread of its own)."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest

from sync.engine.full_copy import full_copy
from sync.engine.run import run_once
from sync.objects import FULL_COPY_ORDER, SyncObject
from sync.store.runs import RunOutcome, RunRecord
from tests.sync_support import World


def test_a_runs_record_counts_its_own_calls_not_those_made_beside_it(
    make_sync_world: Callable[..., World], monkeypatch: pytest.MonkeyPatch
) -> None:
    world = make_sync_world()
    contact = world.create("contact", {"lastname": "Counted", "emailaddress1": "counted@example.com"})
    for obj in FULL_COPY_ORDER:
        full_copy(world.engine, obj)

    def edited_run(title: str) -> RunRecord:
        world.update("contact", contact, {"jobtitle": title})
        record = run_once(world.engine, SyncObject.CONTACT)
        assert record.outcome is RunOutcome.SUCCEEDED and record.written == 1
        return record

    alone = edited_run("Alone")

    def beside() -> None:  # another thread's work: three Marketo reads, a Dataverse read, a store write
        for _ in range(3):
            world.engine.marketo.persons.query("email", ["nobody@example.com"], ["id"])
        world.engine.dataverse.rows.by_ids(world.table("contact"), [contact], ["contactid"])
        world.engine.store.notices.note("beside", SyncObject.CONTACT, contact, {})

    take = world.engine.store.handover.take

    def take_while_work_runs_beside(obj: SyncObject) -> object:
        thread = threading.Thread(target=beside)
        thread.start()
        thread.join()
        return take(obj)

    monkeypatch.setattr(world.engine.store.handover, "take", take_while_work_runs_beside)
    calls_before = world.engine.marketo.client.limiter.calls_made
    accompanied = edited_run("Accompanied")
    assert world.engine.marketo.client.limiter.calls_made - calls_before >= accompanied.marketo_calls + 3
    counted = (accompanied.marketo_calls, accompanied.dataverse_calls, accompanied.store_writes)
    assert counted == (alone.marketo_calls, alone.dataverse_calls, alone.store_writes)
    assert alone.marketo_calls > 0 and alone.dataverse_calls > 0 and alone.store_writes > 0
