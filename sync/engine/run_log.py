"""A run's record, measured the same way whatever the run is: an incremental run, or a stretch of a
full copy (one Durable activity's minute of pages, or one CLI copy). Recorded when it starts and
again when it ends, with what it read and wrote and the calls it made to each service, so the
status page, its chart and the SyncRun events show the first copy beside the runs after it."""

from __future__ import annotations

import uuid
from contextvars import Token
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final

from azure.core.exceptions import AzureError

from sync.connectors.http.failures import ConnectorError
from sync.engine.apply import PageCounts
from sync.engine.runtime import Engine
from sync.mapping.transforms import parse_datetime
from sync.objects import DIRECTIONS, SyncObject
from sync.store.checkpoints import CheckpointConflict
from sync.store.leases import LeaseLost
from sync.store.runs import RunKind, RunOutcome, RunRecord
from sync.tally import Tally, close_tally, open_tally
from sync.telemetry import log_run

# Failures of the run's own machinery, by kind: Table Storage down is an outage; a lost lease or
# checkpoint means another run took over (this one stops; nothing is lost).
FAILURE_KIND: Final[dict[type[BaseException], str]] = {
    AzureError: "transient",
    LeaseLost: "transient",
    CheckpointConflict: "transient",
    PermissionError: "auth/config",
}


@dataclass
class RunLog:
    """Begun and finished in the same context: the run's calls and writes are tallied between
    (`sync/tally.py`), not those of whatever runs beside it in the process."""

    engine: Engine
    record: RunRecord
    tally: Tally
    token: Token[Tally | None]

    @classmethod
    def begin(cls, engine: Engine, obj: SyncObject, kind: RunKind = RunKind.INCREMENTAL) -> RunLog:
        record = RunRecord(
            run_id=uuid.uuid4().hex[:12],
            object=obj,
            direction=DIRECTIONS[obj][0],
            kind=kind,
            started_at=datetime.now(UTC),
            outcome=RunOutcome.RUNNING,
        )
        return cls(engine, record, *open_tally())

    def started(self) -> None:
        """Shown as running until it ends (a crashed process leaves it so)."""
        self.engine.store.runs.record(self.record)

    def measure(self, counts: PageCounts, failure_kind: str = "") -> None:
        self.record = self.record.model_copy(
            update={
                "read": counts.read,
                "written": counts.written + counts.removed,
                "skipped": counts.unchanged + counts.filtered,
                "failed": counts.failed,
                "marketo_calls": self.tally.marketo,
                "dataverse_calls": self.tally.dataverse,
                "lag_seconds": _lag(counts, self.record.started_at),
                "store_writes": self.tally.store_writes,
                "failure_kind": failure_kind,
            }
        )

    def finish(self, outcome: RunOutcome, message: str) -> RunRecord:
        close_tally(self.token)
        ended = self.record.model_copy(
            update={
                "outcome": outcome,
                "ended_at": datetime.now(UTC),
                "message": message,
                "api_calls": self.record.marketo_calls + self.record.dataverse_calls,
            }
        )
        self.engine.store.runs.record(ended)
        waiting, parked = self.engine.store.errors.counts(ended.object)
        log_run(ended, waiting, parked)
        self.record = ended
        return ended


def _lag(counts: PageCounts, started_at: datetime) -> float | None:
    if counts.oldest_change is None:
        return None
    return max(0.0, (started_at - parse_datetime(counts.oldest_change)).total_seconds())


def failure_kind(error: BaseException) -> str:
    """The kind a failed run shows: its connector's, or the run machinery's own."""
    if isinstance(error, ConnectorError):
        return error.kind.value
    return next((kind for cls, kind in FAILURE_KIND.items() if isinstance(error, cls)), "fatal")
