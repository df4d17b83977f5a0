"""The preview of a first copy (issue 24), against both emulators and Azurite: a seeded org into a
Marketo instance that already holds some of its persons — some matching by email, one email held
twice there, one with differing values, one value Marketo refuses — reports each category with
the right counts and writes nothing anywhere; then the real copy does what the preview said."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest

from sync.engine.full_copy import full_copy
from sync.engine.preview import copy_eta_s, preview, preview_and_keep
from sync.engine.preview_report import COUNTS, ObjectPreview
from sync.objects import D2M, SyncObject
from sync.store.previews import PreviewState
from tests.emulator_support import fault
from tests.preview_support import previewed_world, written
from tests.preview_support import seed_previewed_org as _seed
from tests.sync_support import World, by_key


@pytest.fixture
def world(make_sync_world: Callable[..., World], tmp_path: Path) -> World:
    return previewed_world(make_sync_world, tmp_path)


_COUNTS = COUNTS


def test_a_preview_counts_each_category_and_writes_nothing_anywhere(world: World) -> None:
    _seed(world)
    before = written(world)
    shown = preview(world.engine, SyncObject.CONTACT)
    assert written(world) == before
    assert world.store.checkpoints.get(SyncObject.CONTACT, D2M) is None  # nor a copy begun
    counts = {name: getattr(shown, name) for name in _COUNTS}
    assert counts == {
        "read": 8,
        "filtered_out": 0,
        "would_create": 4,  # new, both holders of the shared email, the one without an email
        "would_link": 2,  # same, differs
        "ambiguous": 1,  # twice: two unlinked persons hold the email
        "shared_emails": 1,
        "differing": 2,  # both linked persons lack the owner and status the copy writes; one its title too
        "would_fail": 1,
    }
    assert shown.differing_fields == {"externalSalesPersonId": 2, "leadStatus": 2, "title": 1}
    assert shown.winners == {"externalSalesPersonId": "dynamics", "leadStatus": "dynamics", "title": "dynamics"}
    assert [reason.endswith("is 300 characters; the Marketo field holds 255") for reason in shown.reasons] == [True]
    assert shown.marketo_calls == 2  # a describe, and one query for up to 300 emails


def test_the_real_copy_does_what_the_preview_said(world: World) -> None:
    ids = _seed(world)
    shown: ObjectPreview = preview(world.engine, SyncObject.CONTACT)
    before = world.engine.marketo.client.limiter.calls_made
    full_copy(world.engine, SyncObject.CONTACT)
    assert world.engine.marketo.client.limiter.calls_made - before == shown.copy_marketo_calls
    links = {link.dynamics.id: link for link in world.store.links.iter_table("contact")}
    errors = {e.record_id: e.message for e in world.store.errors.list(SyncObject.CONTACT)}
    persons = by_key(world.marketo_rows("lead"), "dynamicsId")
    assert len(links) == shown.would_create + shown.would_link
    assert len(errors) == shown.ambiguous + shown.would_fail
    assert {ids["twice"].lower(), ids["too long"].lower()} <= set(errors)
    assert errors[ids["too long"].lower()] in shown.reasons  # the copy's reason is the preview's
    assert persons[ids["differs"].lower()]["title"] == "Director"  # Dynamics wins for contacts, as previewed


def test_a_preview_of_accounts_tells_the_companies_marketo_holds_under_their_ids_from_new_ones(world: World) -> None:
    held = world.create("account", {"name": "Contoso Ltd"})
    new = [world.create("account", {"name": f"New {n}"}) for n in range(2)]
    companies = world.engine.marketo.lead_database("company")
    companies.upsert([{"externalCompanyId": held.lower(), "company": "Contoso (old name)"}])
    before = written(world)
    shown = preview(world.engine, SyncObject.ACCOUNT)
    assert written(world) == before
    assert (shown.read, shown.would_create, shown.would_link, shown.differing) == (3, 2, 1, 1)
    assert shown.differing_fields["company"] == 1 and shown.winners["company"] == "dynamics"
    assert sorted(shown.samples["would_create"]) == sorted(i.lower() for i in new)
    assert shown.marketo_calls == 1  # one query for up to 300 ids
    calls = world.engine.marketo.client.limiter.calls_made
    full_copy(world.engine, SyncObject.ACCOUNT)
    assert world.engine.marketo.client.limiter.calls_made - calls == shown.copy_marketo_calls == 1
    names = {r["externalCompanyId"]: r["company"] for r in world.marketo_rows("company")}
    assert len(names) == 3 and names[held.lower()] == "Contoso Ltd"  # linked and updated, as previewed


def test_a_preview_past_its_time_limit_stops_between_pages_and_says_its_counts_are_partial(world: World) -> None:
    _seed(world)
    shown = preview(world.engine, SyncObject.CONTACT, deadline=time.monotonic())
    assert shown.complete is False
    assert shown.read == 8  # the first page (all eight here) was read and matched before it stopped


def test_the_store_keeps_each_objects_latest_preview_and_a_failed_ones_reason(world: World) -> None:
    _seed(world)
    shown = preview_and_keep(world.engine, SyncObject.CONTACT)
    (kept,) = world.store.previews.latest()
    assert (kept.object, kept.state, kept.report) == ("contact", PreviewState.DONE, shown.as_json())
    fault(world.marketo, path="/rest/v1/leads.json", method="GET", error_code="603", message="Access denied", times=50)
    with pytest.raises(Exception, match="Access denied"):
        preview_and_keep(world.engine, SyncObject.CONTACT)
    (failed,) = world.store.previews.latest()
    assert failed.state is PreviewState.FAILED and "Access denied" in failed.message and failed.report is None


@pytest.mark.parametrize(
    ("calls", "eta_s"),
    [
        (0, 0.0),
        (500, 100.0),  # within the day's budget: at the call rate
        (1000, 200.0),  # the whole budget, still one day
        (1001, 86_400 + 0.2),  # one call past it: the next Marketo day
        (2500, 2 * 86_400 + 100.0),
    ],
)
def test_the_copys_time_is_its_calls_at_the_rate_plus_a_day_each_time_the_budget_is_spent(
    calls: int, eta_s: float
) -> None:
    assert copy_eta_s(calls, per_second=5.0, daily_budget=1000) == pytest.approx(eta_s)


def test_past_what_is_left_of_todays_quota_the_copy_waits_for_marketos_next_day() -> None:
    assert copy_eta_s(400, 5.0, 1000, left_today=400, to_next_day_s=3600) == 80.0  # fits in today's rest
    assert copy_eta_s(401, 5.0, 1000, left_today=400, to_next_day_s=3600) == 3600.2  # one call tomorrow
    assert copy_eta_s(1500, 5.0, 1000, left_today=0, to_next_day_s=60) == 60 + 86_400 + 100.0
