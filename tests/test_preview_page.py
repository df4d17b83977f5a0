"""The preview page in a real headless Chromium: the previews the store keeps (a seeded org's
contacts and accounts, a lead preview that failed, a team preview still running) rendered as
`GET sync/preview?format=html` answers them; every count of the JSON is on the page where it
belongs, with the fields that differ and whose value wins, why records would fail, the sample ids
and the copy's cost; a failure says why, as text; no secret is shown; a screenshot is produced
(`build/preview-page.png`)."""

from __future__ import annotations

import shutil
import struct
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from bs4 import BeautifulSoup, Tag

from sync.engine.preview import preview_and_keep
from sync.engine.preview_report import COUNTS
from sync.objects import SyncObject
from sync.reporting.preview_page import preview_page, previews_json
from sync.reporting.status_page import number
from tests.browser_support import chromium, dump_dom, screenshot, serving
from tests.preview_support import previewed_world, seed_previewed_org
from tests.sync_support import World

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def world(make_sync_world: Callable[..., World], tmp_path: Path) -> World:
    return previewed_world(make_sync_world, tmp_path)


def _section(dom: BeautifulSoup, obj: str) -> Tag:
    found = dom.select_one(f"#preview-{obj}")
    assert found is not None, f"no section for {obj}"
    return found


def _text(tag: Tag | None) -> str:
    assert tag is not None
    return tag.get_text(" ", strip=True)


def test_the_preview_page_shows_in_chromium_what_each_objects_preview_found(world: World, tmp_path: Path) -> None:
    browser = chromium()
    seed_previewed_org(world)
    world.create("account", {"name": "Fabrikam"})
    for obj in (SyncObject.CONTACT, SyncObject.ACCOUNT):
        preview_and_keep(world.engine, obj)
    started = world.store.previews.latest()[0].started_at
    world.store.previews.fail("lead", "MarketoError: <b>603</b> Access denied", started)
    world.store.previews.begin("team")
    stored = world.store.previews.latest()
    report: dict[str, Any] = previews_json(stored)

    with serving(preview_page(stored).encode(), "text/html; charset=utf-8") as url:
        dom = BeautifulSoup(dump_dom(browser, url), "html.parser")
        shot = screenshot(browser, url, tmp_path / "preview-page.png")

    assert [s["id"] for s in dom.select("section")] == [  # in copy order
        "preview-team",
        "preview-account",
        "preview-lead",
        "preview-contact",
    ]
    for name in ("contact", "account"):
        body, section = report["objects"][name], _section(dom, name)
        for count in COUNTS:
            tile = section.select_one(f'[data-count="{count}"]')
            assert number(body[count]) in _text(tile).split(), f"{name} {count} = {body[count]}: {_text(tile)}"
        for field, records in body["differing_fields"].items():
            row = _text(section.select_one(f'tr[data-field="{field}"]'))
            assert row.split() == [field, number(records), body["winners"][field]]
        for category, ids in body["samples"].items():
            shown = _text(section.select_one(f'tr[data-category="{category}"]'))
            assert all(i in shown for i in ids)
        cost = _text(section.select_one(f"#cost-{name}"))
        assert f"about {number(body['copy_marketo_calls'])} Marketo calls" in cost
        assert f"This preview made {number(body['marketo_calls'])} Marketo call(s)" in cost
    contact = report["objects"]["contact"]
    (reason,) = contact["reasons"]
    assert reason in _text(_section(dom, "contact").select_one("table.reasons"))
    assert contact["would_fail"] == 1 and contact["ambiguous"] == 1 and contact["would_link"] == 2
    failed = _section(dom, "lead")
    assert "The preview failed" in _text(failed) and "MarketoError: <b>603</b> Access denied" in _text(failed)
    assert failed.select("b") == []  # the reason is shown as text, never as markup
    assert "Previewing since" in _text(_section(dom, "team"))

    text = str(dom)
    settings = world.engine.settings
    for secret in (
        settings.marketo.client_secret.get_secret_value(),
        settings.dataverse.client_secret.get_secret_value() if settings.dataverse.client_secret else None,
        "AccountKey",
    ):
        assert not secret or secret not in text

    png = shot.read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert struct.unpack(">II", png[16:24]) == (1280, 1400)
    assert len(png) > 20_000  # a rendered page, not a blank one
    (ROOT / "build").mkdir(exist_ok=True)
    shutil.copy(shot, ROOT / "build" / "preview-page.png")
