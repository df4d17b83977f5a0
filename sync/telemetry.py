"""What the sync tells Application Insights. With host.json's `telemetryMode: OpenTelemetry`,
`PYTHON_APPLICATIONINSIGHTS_ENABLE_TELEMETRY=true` and azure-monitor-opentelemetry installed, the
worker exports log records with their `extra=` attributes as customDimensions; a record carrying
`microsoft.custom_event.name` becomes a customEvent. Each run ends with one `SyncRun` event whose
dimensions the workbook and alert queries in infra/monitoring/ read (the names here are theirs:
change one, change the queries)."""

from __future__ import annotations

import logging
from typing import Any, Final

from sync.store.runs import RunRecord

log = logging.getLogger("sync.runs")

RUN_EVENT: Final = "SyncRun"
USAGE_EVENT: Final = "MarketoUsage"
CUSTOM_EVENT_ATTRIBUTE: Final = "microsoft.custom_event.name"
# customDimensions of every SyncRun event (infra/monitoring/*.kql reads these names).
RUN_DIMENSIONS: Final = (
    "object",
    "direction",
    "run_id",
    "kind",
    "outcome",
    "read",
    "written",
    "skipped",
    "failed",
    "marketo_calls",
    "dataverse_calls",
    "lag_seconds",
    "failure_kind",
    "errors_waiting",
    "errors_parked",
)


def run_dimensions(record: RunRecord, errors_waiting: int, errors_parked: int) -> dict[str, Any]:
    values = {**record.model_dump(mode="json"), "errors_waiting": errors_waiting, "errors_parked": errors_parked}
    return {name: values[name] for name in RUN_DIMENSIONS if values.get(name) is not None}


def log_run(record: RunRecord, errors_waiting: int, errors_parked: int) -> None:
    """One record per finished run (with the object's sync errors after it): a customEvent in
    Application Insights, a line elsewhere."""
    level = logging.WARNING if record.outcome.value == "failed" else logging.INFO
    log.log(
        level,
        "run of %s %s: %s",
        record.object.value,
        record.outcome.value,
        record.message,
        extra={**run_dimensions(record, errors_waiting, errors_parked), CUSTOM_EVENT_ATTRIBUTE: RUN_EVENT},
    )


def log_usage(total: int, budget: int) -> None:
    """Marketo's count of today's calls against the sync's budget: the quota alert reads it."""
    log.info(
        "Marketo calls today: %d of %d",
        total,
        budget,
        extra={"total": total, "budget": budget, CUSTOM_EVENT_ATTRIBUTE: USAGE_EVENT},
    )
