"""`make demo`: runs what is real today, against local stand-ins, and prints only real results.

Today (foundation): Azurite holds the sync's tables; the demo shows two runners contending for
one object's lease, a checkpoint that a stale writer cannot move back, a failing record landing
in the errors table, and the status report read back from storage. The Dataverse and Marketo
emulators and the sync itself join this demo as they land.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

from emulators.azurite import AzuriteTable
from sync.objects import Direction, SyncObject
from sync.reporting.status import status_report
from sync.store import SyncStore
from sync.store.checkpoints import Checkpoint, CheckpointConflict, Phase
from sync.store.tables import Table

D2M = Direction.DYNAMICS_TO_MARKETO


def _say(text: str) -> None:
    print(text, flush=True)


def run_demo() -> int:
    with AzuriteTable() as azurite:
        _say(f"Azurite table service on 127.0.0.1:{azurite.port} (in memory)")
        store = SyncStore.open(azurite.connection_string, "demo")
        _say(f"Tables created: {', '.join(store.tables.name_of(t) for t in Table)}")

        first = store.leases.acquire(SyncObject.CONTACT, f"run-{uuid.uuid4().hex[:6]}", timedelta(minutes=5))
        second = store.leases.acquire(SyncObject.CONTACT, f"run-{uuid.uuid4().hex[:6]}", timedelta(minutes=5))
        if first is None:
            _say("Lease on contact: could not be taken on empty storage (bug)")
            return 1
        _say(
            f"Lease on contact: taken by {first.owner}; a second runner was "
            f"{'refused' if second is None else 'ALSO GIVEN IT (bug)'}"
        )

        saved = store.checkpoints.save(Checkpoint(object="contact", direction=D2M, phase=Phase.FULL_COPY))
        stale = saved
        saved = store.checkpoints.save(saved.advanced(cursor="page-2", counters={"done": 5000, "total": 12000}))
        try:
            store.checkpoints.save(stale.advanced(cursor="page-1"))
            _say("Checkpoint: a stale writer MOVED IT BACK (bug)")
        except CheckpointConflict:
            _say("Checkpoint: moved to page 2; a stale writer's save was refused (ETag compare-and-swap)")

        store.errors.record_failure(
            "contact",
            D2M,
            "3f2c7a8e-0000-0000-0000-000000000001",
            operation="push",
            code="1003",
            message="Invalid email address",
            dynamics_id="3f2c7a8e-0000-0000-0000-000000000001",
        )
        store.leases.release(first)
        report = status_report(store, datetime.now(UTC))
        contact = next(o for o in report["objects"] if o["object"] == "contact")
        _say("Status of contact, read back from Table Storage:")
        _say(json.dumps(contact, indent=2))
    _say("Demo finished. Next stages add the Dataverse and Marketo emulators and the sync itself.")
    return 0
