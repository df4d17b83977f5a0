"""The engine's pure decisions as tables: what a page plans given the links, how a new person is
matched to Marketo's candidates, and fingerprints."""

from __future__ import annotations

from typing import Any

import pytest

from sync.connectors.http.failures import FailureKind
from sync.engine.fingerprint import fingerprint
from sync.engine.matching import Match, MatchKind, match_person
from sync.engine.plan import Decision, Pending, Skip, plan_page
from sync.mapping.records import Mapped
from sync.store.links import DynamicsRef, Link, MarketoRef

REF = DynamicsRef(table="contact", id="AAAA0000-0000-4000-8000-000000000001")
VALUES = {"email": "a@example.com", "firstName": "Ada"}


def link(**state: Any) -> Link:
    return Link(dynamics=REF, marketo=MarketoRef(object="person", id="7"), fingerprint=fingerprint(VALUES), **state)


def outcome(decision: Decision, existing: Link | None) -> str:
    plan = plan_page([(REF, decision)], [], {REF: existing} if existing else {})
    kinds = [
        ("upsert", plan.upserts),
        ("filter", plan.to_filter),
        ("remove", plan.removals),
        ("fail", plan.failures),
    ]
    done = [name for name, items in kinds if items]
    return done[0] if done else ("unchanged" if plan.unchanged else "nothing")


@pytest.mark.parametrize(
    ("decision", "existing", "expected"),
    [
        (Mapped(VALUES), None, "upsert"),  # new record
        (Mapped(VALUES), link(), "unchanged"),  # what was last synced: no write (no echo)
        (Mapped({**VALUES, "firstName": "Grace"}), link(), "upsert"),  # a real change
        (Mapped(VALUES), link(filtered=True), "upsert"),  # the filter turned on again: the whole record
        (Mapped(VALUES), link(deleted=True), "upsert"),  # synced again after a delete mark
        (Mapped(VALUES, ["email: bad"]), link(), "fail"),  # a value that cannot be carried
        (Skip.FILTERED, None, "nothing"),  # never synced and filtered: nothing to do
        (Skip.FILTERED, link(), "filter"),  # true → false: stop, leave Marketo as it is
        (Skip.FILTERED, link(filtered=True), "nothing"),  # already stopped: no store write
        (Skip.NOT_MINE, link(), "remove"),  # e.g. a connection no longer an opportunity stakeholder
        (Skip.NOT_MINE, None, "nothing"),
        (Pending("contact not in Marketo yet"), None, "fail"),
    ],
)
def test_a_page_plans_each_row_by_its_decision_and_its_link(
    decision: Decision, existing: Link | None, expected: str
) -> None:
    assert outcome(decision, existing) == expected


def test_a_pending_row_waits_as_a_transient_failure_and_a_bad_value_as_a_bad_record() -> None:
    plan = plan_page([(REF, Pending("later"))], [], {})
    assert plan.failures[0].kind is FailureKind.TRANSIENT
    plan = plan_page([(REF, Mapped(VALUES, ["a", "b"]))], [], {})
    assert (plan.failures[0].kind, plan.failures[0].message) == (FailureKind.BAD_RECORD, "a; b")


def test_rows_with_nothing_to_write_are_in_sync_so_their_open_errors_can_clear() -> None:
    assert plan_page([(REF, Mapped(VALUES))], [], {REF: link()}).in_sync == [REF.id]  # last synced as it is
    taken_over = link(qualified_into="bbbb0000-0000-4000-8000-000000000002")
    assert plan_page([(REF, Mapped({**VALUES, "leadStatus": "Qualified"}))], [], {REF: taken_over}).in_sync == [REF.id]
    assert plan_page([(REF, Mapped({**VALUES, "firstName": "Grace"}))], [], {REF: link()}).in_sync == []


def test_deletions_become_removals_once() -> None:
    assert len(plan_page([], [REF], {REF: link()}).removals) == 1
    assert plan_page([], [REF], {REF: link(deleted=True)}).removals == []  # already marked
    assert len(plan_page([], [REF], {}).removals) == 1  # unknown: the target decides (by external id)


OURS = "aaaa0000-0000-4000-8000-000000000001"


@pytest.mark.parametrize(
    ("candidates", "expected"),
    [
        ([], Match(MatchKind.CREATE_OWN)),
        ([{"id": 5, "dynamicsId": None}], Match(MatchKind.LINK, 5)),
        ([{"id": 5, "dynamicsId": OURS.upper()}], Match(MatchKind.LINK, 5)),  # ours, written before a crash
        ([{"id": 5, "dynamicsId": "other"}, {"id": 6, "dynamicsId": OURS}], Match(MatchKind.LINK, 6)),
        ([{"id": 5, "dynamicsId": "other"}, {"id": 6, "dynamicsId": ""}], Match(MatchKind.LINK, 6)),
        ([{"id": 6, "dynamicsId": None}, {"id": 5}], Match(MatchKind.AMBIGUOUS, None, (5, 6))),
        ([{"id": 9, "dynamicsId": "other"}], Match(MatchKind.CREATE_OWN, None, (9,))),  # shared email
    ],
)
def test_a_new_person_is_matched_to_marketos_candidates_by_rule(
    candidates: list[dict[str, Any]], expected: Match
) -> None:
    assert match_person(OURS, candidates, "dynamicsId") == expected


def test_fingerprints_ignore_key_order_and_see_every_value() -> None:
    assert fingerprint({"a": 1, "b": "x"}) == fingerprint({"b": "x", "a": 1})
    assert fingerprint({"a": 1}) != fingerprint({"a": "1"})
    assert fingerprint({"a": None}) != fingerprint({})
