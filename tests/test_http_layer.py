"""The shared HTTP layer's pure parts: Retry-After, deadlines and their scopes, the paging loop."""

from __future__ import annotations

import contextvars
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest

from sync.connectors.http.deadline import Deadline, resolve, within
from sync.connectors.http.paging import (
    PagingStalled,
    follow,
    marketo_more_result,
    marketo_next_page_token,
    odata_next_link,
)
from sync.connectors.http.retry_after import retry_after_seconds
from sync.connectors.marketo.envelope import Envelope


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_retry_after_is_read_as_seconds_or_as_an_http_date() -> None:
    now = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
    assert retry_after_seconds("7", now) == 7.0
    assert retry_after_seconds("Sun, 22 Nov 2026 12:00:30 GMT", now) == 30.0
    assert retry_after_seconds("Sun, 22 Nov 2026 11:59:00 GMT", now) == 0.0  # already past: go now
    assert retry_after_seconds("nonsense", now) is None
    assert retry_after_seconds(None, now) is None


def test_a_deadline_counts_down_and_caps_socket_timeouts() -> None:
    clock = FakeClock()
    deadline = Deadline.after(10, clock)
    assert deadline.timeout(60) == 10
    clock.now += 9.5
    assert deadline.timeout(60) == 0.5
    clock.now += 1
    assert deadline.expired and deadline.remaining() == 0 and deadline.timeout(60) > 0


def test_a_scope_gives_its_deadline_to_calls_inside_and_never_extends_an_outer_one() -> None:
    clock = FakeClock()
    outer, longer = Deadline.after(5, clock), Deadline.after(50, clock)
    assert resolve(None, 240).remaining() > 200  # no scope: the configured default
    with within(outer):
        assert resolve(None, 240) is outer
        with within(longer):
            assert resolve(None, 240) is outer  # an inner scope cannot outlive the outer one
        assert resolve(longer, 240) is outer  # nor can an explicit deadline


def test_a_scope_reaches_calls_made_in_worker_threads_started_with_its_context() -> None:
    deadline = Deadline.after(5)
    with within(deadline), ThreadPoolExecutor(2) as pool:
        seen = pool.submit(contextvars.copy_context().run, resolve, None, 240).result()
    assert seen is deadline


def _pages(bodies: dict[str | None, dict[str, object]]) -> Callable[[str | None], dict[str, object]]:
    return lambda cursor: bodies[cursor]


def test_odata_paging_follows_next_links_until_a_page_has_none() -> None:
    bodies: dict[str | None, dict[str, object]] = {
        None: {"value": [1], "@odata.nextLink": "p2"},
        "p2": {"value": [2], "@odata.nextLink": "p3"},
        "p3": {"value": [], "@odata.deltaLink": "delta"},
    }
    assert [b["value"] for b in follow(_pages(bodies), odata_next_link)] == [[1], [2], []]


def test_marketo_activity_paging_follows_empty_pages_while_more_result_is_true() -> None:
    envelopes = {
        "t0": Envelope.model_validate({"success": True, "result": [], "nextPageToken": "t1", "moreResult": True}),
        "t1": Envelope.model_validate({"success": True, "result": [{"id": 9}], "nextPageToken": "t2"}),
    }
    pages = list(follow(lambda c: envelopes[c or ""], marketo_more_result, "t0"))
    assert [p.result for p in pages] == [[], [{"id": 9}]]


def test_marketo_query_paging_stops_when_no_token_comes_back() -> None:
    envelopes = {
        None: Envelope.model_validate({"success": True, "result": [{"id": 1}], "nextPageToken": "q1"}),
        "q1": Envelope.model_validate({"success": True, "result": [{"id": 2}]}),
    }
    assert len(list(follow(lambda c: envelopes[c], marketo_next_page_token))) == 2


def test_a_service_that_repeats_its_cursor_is_stopped_not_followed_forever() -> None:
    envelope = Envelope.model_validate({"success": True, "result": [], "nextPageToken": "same", "moreResult": True})
    with pytest.raises(PagingStalled):
        list(follow(lambda c: envelope, marketo_more_result, "same"))
