"""The status page in a real headless Chromium: served as `GET sync/dashboard` answers it, it
shows every number `GET sync/status` reports, each where it belongs (per object and direction,
per run, per hour of the chart, Marketo's calls today), says what failed and why, draws its
chart, lists the full copies among the runs, shows no secret, and a screenshot of it is produced
(`build/status-page.png`)."""

from __future__ import annotations

import os
import shutil
import struct
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import azure.functions as func
from bs4 import BeautifulSoup, Tag

from emulators.launch import RunningEmulator
from sync.connectors.dataverse.connection import DataverseConnection
from sync.engine.full_copy import full_copy
from sync.engine.pause import pause
from sync.engine.run import run_once
from sync.engine.runtime import record_usage
from sync.functions import worker
from sync.objects import Direction, SyncObject
from sync.reporting.status_page import number
from sync.settings import DataverseSettings, load_section
from sync.store.notices import BULK_WARNING
from tests.browser_support import chromium, dump_dom, screenshot, serving
from tests.emulator_support import fault
from tests.functions_app import WEBHOOK_SECRET, call_function, response_json

ROOT = Path(__file__).resolve().parent.parent


def _numbers(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], int | float]]:
    """Every number of the report, with where it is."""
    if isinstance(value, bool) or value is None:
        return
    if isinstance(value, int | float):
        yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _numbers(item, (*path, key))
    elif isinstance(value, list):
        for n, item in enumerate(value):
            yield from _numbers(item, (*path, n))


def _place(dom: BeautifulSoup, report: dict[str, Any], path: tuple[Any, ...]) -> Tag:
    """Where on the page a number of the report belongs."""
    selector = ""
    if path[0] in ("quota", "calls_today"):
        selector = "#quota"
    elif path[0] == "changes":
        selector = "#webhooks"
    elif path[0] == "history":
        selector = f'#history tr[data-hour="{report["history"][path[1]]["hour"]}"]'
    elif path[0] == "objects":
        item = report["objects"][path[1]]
        if path[2] == "directions":
            direction = item["directions"][path[3]]
            selector = f'tr.detail[data-object="{item["object"]}"][data-direction="{direction["direction"]}"]'
            if path[4] == "last_runs":
                selector += f' tr[data-run="{direction["last_runs"][path[5]]["run_id"]}"]'
        else:
            selector = {
                "errors": f'tr[data-object="{item["object"]}"] td.errors',
                "shared_emails": f"#shared-{item['object']}",
                "bulk_warnings": f"#bulk-warnings-{item['object']}",
            }[path[2]]
    place = dom.select_one(selector) if selector else None
    assert place is not None, f"no place on the page for {path} ({selector or 'unknown'})"
    return place


def _cell(row: Tag, name: str) -> str:
    cell = row.select_one(f"td.{name}")
    assert cell is not None, f"no td.{name} in {row}"
    return cell.get_text(" ", strip=True)


def _sync_some(dataverse: RunningEmulator) -> None:
    """Real runs: accounts and contacts copied, a contact edited and carried, leads paused, a
    record Marketo refuses, one its bulk import warned of, an account run failing on a Dataverse
    permission error."""
    engine = worker.engine()
    for obj in (SyncObject.ACCOUNT, SyncObject.PERSON, SyncObject.CONTACT):
        full_copy(engine, obj)
    dynamics = DataverseConnection.from_settings(load_section(DataverseSettings, dict(os.environ)))
    contact = str(dynamics.client.get_json("contacts", params={"$select": "contactid"})["value"][0]["contactid"])
    dynamics.writer.update(dynamics.metadata.describe("contact"), contact, {"jobtitle": "Head of Status Pages"})
    dynamics.close()
    assert run_once(engine, SyncObject.CONTACT).written == 1
    pause(engine.store, [SyncObject.LEAD], datetime.now(UTC))
    engine.store.errors.record_failure(
        SyncObject.CONTACT,
        Direction.DYNAMICS_TO_MARKETO,
        "c-1",
        operation="upsert",
        code="1003",
        message="Invalid email",
        kind="bad_record",
    )
    warned = {"reason": "Invalid email address", "email": "<b>odd</b>", "table": "contact"}
    engine.store.notices.note(BULK_WARNING, SyncObject.CONTACT, "c-2", warned)
    fault(dataverse, path="/api/data/v9.2/accounts", status=403, error_code="0x80040220", times=50)
    assert run_once(engine, SyncObject.ACCOUNT).outcome.value == "failed"
    record_usage(engine.store, 12_345, 50_000)


def _hear_webhooks(app: dict[str, func.Function]) -> None:
    """A Marketo webhook queued, two refused for a wrong secret, one for a bad body."""
    for secret, body in (
        (WEBHOOK_SECRET, b'{"personId": 7}'),
        ("stale", b"{}"),
        ("stale", b"{}"),
        (WEBHOOK_SECRET, b"[]"),
    ):
        call_function(app["changes_marketo"], "POST", "changes/marketo", headers={"X-Sync-Secret": secret}, body=body)


def test_the_status_page_renders_in_chromium_the_numbers_the_status_json_reports(
    app: dict[str, func.Function], app_emulators: tuple[RunningEmulator, RunningEmulator], tmp_path: Path
) -> None:
    browser = chromium()
    _sync_some(app_emulators[0])
    _hear_webhooks(app)
    report: dict[str, Any] = response_json(call_function(app["sync_status"], "GET", "sync/status"))
    page = call_function(app["sync_dashboard"], "GET", "sync/dashboard")

    with serving(page.get_body(), page.mimetype or "text/html") as url:
        dom = BeautifulSoup(dump_dom(browser, url), "html.parser")
        shot = screenshot(browser, url, tmp_path / "status-page.png")

    numbers = list(_numbers(report))
    assert len(numbers) > 150  # the walk covers the report: runs, counters, hours, quota
    for path, value in numbers:
        text = _place(dom, report, path).get_text(" ", strip=True)
        assert f"{value:,}" in text or number(value) in text, f"{path} = {value} is not on the page: {text[:200]}"
    contact = dom.select_one('tr[data-object="contact"]')
    lead = dom.select_one('tr[data-object="lead"]')
    assert contact is not None and lead is not None
    assert _cell(contact, "written") == "4" and "bad_record 1" in _cell(contact, "errors")  # 3 copied, 1 edited
    assert "paused since" in _cell(lead, "phase")
    quota = dom.select_one("#quota")
    assert quota is not None
    marketo = quota.select_one("#calls-marketo")
    assert marketo is not None and "by Marketo's usage report: 12,345 of 50,000" in marketo.get_text(" ", strip=True)
    live = int(str(quota.select_one("#calls-live").get_text()).replace(",", ""))  # type: ignore[union-attr]
    assert live == max(report["calls_today"]["drawn"], report["calls_today"]["by_runs"]) > 0
    lanes = report["calls_today"]["by_lane"]
    assert lanes["backfill"] > 0 and lanes["incremental"] > 0  # the copies' calls and the runs', apart
    lane_line = dom.select_one("#lanes")
    assert lane_line is not None and f"backfill {lanes['backfill']:,}" in lane_line.get_text(" ", strip=True)
    copies = [r for r in dom.select("#recent-runs tr[data-run]") if "full copy" in r.get_text(" ", strip=True)]
    assert len(copies) == 2  # the accounts' and the contacts' copies are runs too
    failures = dom.select_one("#failures")
    assert failures is not None
    account_run = next(o for o in report["objects"] if o["object"] == "account")["directions"][0]["last_runs"][0]
    assert account_run["outcome"] == "failed" and account_run["message"][:40] in failures.get_text(" ", strip=True)
    assert dom.select_one("#chart svg") is not None
    heard = dom.select_one("#webhooks-marketo")
    assert heard is not None
    assert "1 queued, 0 ignored; refused 2 bad key, 1 bad body" in heard.get_text(" ", strip=True)
    assert "missing or wrong X-Sync-Secret header" not in heard.get_text(" ", strip=True)  # the newest refusal
    assert "the body must be a JSON object" in heard.get_text(" ", strip=True)
    queue = dom.select_one("#change-queue")
    assert queue is not None and "1 waiting, 0 poison" in queue.get_text(" ", strip=True)
    warned = dom.select_one("#bulk-warnings-contact")
    assert warned is not None and "c-2 <<b>odd</b>>: Invalid email address" in warned.get_text(" ", strip=True)
    assert warned.select("b") == []  # the value is shown as text, never as markup
    runs = [r for o in report["objects"] for d in o["directions"] for r in d["last_runs"]]
    shown = {str(row["data-run"]) for row in dom.select("#recent-runs tr[data-run]")}
    assert shown == {r["run_id"] for r in runs}  # every recent run, each once (fewer than 20 here)

    text = str(dom)
    settings = worker.settings()
    for secret in (
        settings.marketo.client_secret.get_secret_value(),
        settings.dataverse.client_secret.get_secret_value() if settings.dataverse.client_secret else None,
        WEBHOOK_SECRET,
        "AccountKey",
    ):
        assert not secret or secret not in text

    png = shot.read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert struct.unpack(">II", png[16:24]) == (1280, 1400)  # IHDR: the window we asked for
    assert len(png) > 20_000  # a rendered page, not a blank one
    (ROOT / "build").mkdir(exist_ok=True)
    shutil.copy(shot, ROOT / "build" / "status-page.png")
