"""What reaches Application Insights: one SyncRun event per run carrying every dimension the
workbook and alert queries read, a MarketoUsage event with each usage reading; and the queries
in infra/monitoring/ read only events and dimensions the code emits."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Final

import pytest

from sync.engine.full_copy import full_copy
from sync.engine.run import run_once
from sync.engine.runtime import record_usage
from sync.objects import SyncObject
from sync.telemetry import CUSTOM_EVENT_ATTRIBUTE, RUN_DIMENSIONS, RUN_EVENT, USAGE_EVENT
from tests.cli_support import ROOT
from tests.sync_support import World

USAGE_DIMENSIONS: Final = ("total", "budget")


def _events(caplog: pytest.LogCaptureFixture, name: str) -> list[logging.LogRecord]:
    return [r for r in caplog.records if getattr(r, CUSTOM_EVENT_ATTRIBUTE, None) == name]


def test_a_run_logs_one_sync_run_event_with_every_dimension(
    make_sync_world: Callable[..., World], caplog: pytest.LogCaptureFixture
) -> None:
    world = make_sync_world()
    world.create("contact", {"lastname": "First", "emailaddress1": "first@example.com"})
    full_copy(world.engine, SyncObject.CONTACT)
    world.create("contact", {"lastname": "Second", "emailaddress1": "second@example.com"})
    caplog.set_level(logging.INFO, logger="sync.runs")

    record = run_once(world.engine, SyncObject.CONTACT)

    (event,) = _events(caplog, RUN_EVENT)
    missing = [name for name in RUN_DIMENSIONS if name != "failure_kind" and not hasattr(event, name)]
    assert not missing
    dims = event.__dict__
    assert (dims["object"], dims["direction"], dims["run_id"]) == ("contact", "dynamics_to_marketo", record.run_id)
    assert (dims["outcome"], dims["read"], dims["written"]) == ("succeeded", 1, 1)
    assert dims["errors_parked"] == 0 and dims["lag_seconds"] >= 0


def test_each_marketo_usage_reading_is_an_event(
    make_sync_world: Callable[..., World], caplog: pytest.LogCaptureFixture
) -> None:
    world = make_sync_world()
    caplog.set_level(logging.INFO, logger="sync.runs")
    record_usage(world.store, 4500, 40000)
    (event,) = _events(caplog, USAGE_EVENT)
    assert (event.__dict__["total"], event.__dict__["budget"]) == (4500, 40000)


def test_the_queries_read_only_the_events_and_dimensions_the_code_emits() -> None:
    known = {RUN_EVENT: set(RUN_DIMENSIONS), USAGE_EVENT: set(USAGE_DIMENSIONS)}
    for path in sorted((ROOT / "infra" / "monitoring").glob("*.kql")):
        text = path.read_text()
        (event,) = set(re.findall(r'name == "(\w+)"', text))
        dimensions = set(re.findall(r"customDimensions\.(\w+)", text))
        assert event in known and dimensions and dimensions <= known[event], path.name
