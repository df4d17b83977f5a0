"""The faults the suite tries and what it proves about each: the source of `docs/reliability.md`
(`python -m tests.reliability.catalogue` writes it; tests/reliability/test_catalogue.py fails
when the page differs, when a test named here is gone, or when a reliability test is not named
here — so the page cannot drift from the suite)."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Final

ROOT: Final = Path(__file__).resolve().parents[2]
DOC: Final = ROOT / "docs" / "reliability.md"
SOAK_RESULT: Final = ROOT / "tests" / "reliability" / "soak_result.json"  # written by `make soak`


@dataclass(frozen=True)
class Fault:
    fault: str
    proves: str
    checks: tuple[str, ...]  # "tests/<file>.py::<test function>", or a make target ("make audit")


R: Final = "tests/reliability/"
CRASHES: Final = [
    Fault(
        "SIGKILL at seeded random points (at least 40 a run) of `full-copy` and `run --once` as subprocesses, "
        "restarted each time: the contacts' first copy, then rounds of work on both sides (creates, edits, "
        "deletes, lead qualifications in Dynamics; edits and deletions in Marketo) each followed by every "
        "object's run; Marketo at its default concurrency; activities repeated and without ids, Dataverse "
        "deltas holding a row once per change",
        "every record has exactly one Marketo person and one link; every field holds what the conflict policy "
        "says; the copy's checkpoint, sampled every 20 ms, never goes backwards and Marketo is written at most "
        "one page (ten calls) more per kill than a clean copy; one more cycle writes nothing on either side; the "
        "restarted process takes the dead one's lease at once",
        (f"{R}test_crashes.py::test_killed_copies_and_runs_both_ways_lose_and_duplicate_nothing",),
    ),
    Fault(
        "A lead's qualification read before its contact's takeover is stored: the contact's run died between "
        "its page journal and its checkpoint (or the lead's and the contact's runs overlap)",
        "the lead never takes the person back: it waits in the errors table saying which record carries the "
        "person, and clears once the contact's link is stored; one person, carrying the contact's id",
        (
            "tests/test_engine_two_way.py::test_a_qualified_lead_read_before_its_contacts_link_is_stored_never_takes_the_person_back",
        ),
    ),
    Fault(
        "A lead or contact run dies between writing a page to Marketo and storing its links (the page journal "
        "holds them); before that object runs again, the person stream reads a deletion, a merge or an edit of "
        "one of those persons (the stateful soak found both)",
        "the person run stores the journaled links first, so the edit reaches Dynamics; a link to a person "
        "deleted since is never stored (no record linked to a person that is gone): the record gets a new person "
        "when it changes, as after any deletion",
        (
            "tests/test_page_journal.py::"
            "test_a_journaled_link_to_a_person_deleted_since_is_not_stored_and_the_record_gets_a_new_person",
            "tests/test_page_journal.py::"
            "test_a_marketo_edit_of_a_person_whose_link_waits_in_the_journal_reaches_dynamics",
        ),
    ),
    Fault(
        "A crash after the person stream wrote Dynamics and before its checkpoint (in process, at that point)",
        "the restarted stream reads the activity again and finds it an echo: nothing lost, nothing written twice",
        (
            "tests/test_engine_two_way.py::"
            "test_a_crash_after_the_person_stream_wrote_dynamics_and_before_its_checkpoint_loses_and_repeats_nothing",
        ),
    ),
    Fault(
        "A person stream page failing to apply while the next page is read ahead",
        "the checkpoint stays before the failed page; the next run reads it and the page after it again, and "
        "the edit behind them arrives",
        (
            "tests/test_engine_busy_log.py::"
            "test_a_page_that_fails_to_apply_while_the_next_is_read_ahead_is_read_again_and_loses_nothing",
        ),
    ),
    Fault(
        "A crash after Marketo's writes and before the checkpoint (in process, at the exact point)",
        "the page is written again, keyed, and nothing is created twice",
        ("tests/test_engine_scenarios.py::test_a_crash_mid_copy_of_opportunity_roles_loses_and_duplicates_nothing",),
    ),
    Fault(
        "A crash between a page's journal and its checkpoint, or while its links are stored",
        "the page's links come back from the journal with no Marketo call; at most the pages being written "
        "(two: one queued behind the other) are written again",
        (
            "tests/test_page_journal.py::test_a_crash_between_the_journal_and_the_checkpoint_does_not_write_that_page_again",
            "tests/test_page_journal.py::test_a_crash_while_a_pages_links_are_stored_repeats_at_most_the_pages_being_written",
        ),
    ),
    Fault(
        "A crash between submitting a bulk import file and the checkpoint (bulk first copy, in process)",
        "the file's pages are read and submitted again; the re-import finds the same persons (by email, or by "
        "the Dynamics id each row carries): every contact one person, every person linked",
        ("tests/test_bulk_copy.py::test_a_crash_between_submit_and_checkpoint_duplicates_nothing",),
    ),
    Fault(
        "Random work on both sides interleaved with sync cycles, injected faults and crashes (Hypothesis)",
        "no record lost or duplicated, each field holds what the conflict policy says, one more cycle writes nothing",
        ("tests/test_engine_stateful.py::test_random_work_on_both_sides_converges_without_loss_or_duplicates",),
    ),
]
STORMS: Final = f"{R}test_faults.py::test_throttling_and_outage_storms_delay_a_full_copy_but_lose_and_duplicate_nothing"
MATRIX: Final = [
    Fault(
        "Webhook notices (Dataverse's or Marketo's) posted twice, out of order, or never; a Marketo webhook "
        "call lost (Marketo never retries); a Dataverse delivery answered 503, 500",
        "a notice is a hint: the record's current state is read, so duplicates and reordering come to one result, "
        "and the timers, which still read every change, reconcile what never came; Dataverse tries once more on "
        "502/503/504 only and records the failure as a system job",
        (
            "tests/test_engine_changes.py::"
            "test_a_change_posted_twice_out_of_order_or_never_comes_to_one_result_after_the_next_timer_run",
            "tests/test_marketo_webhooks.py::"
            "test_a_marketo_edit_crosses_to_dynamics_by_webhook_and_a_lost_call_is_reconciled_by_the_timer",
            "tests/test_dataverse_webhooks.py::"
            "test_a_failed_post_is_tried_once_more_on_503_only_and_recorded_as_a_failed_system_job",
        ),
    ),
    Fault(
        "A webhook notice for an object whose lease a long run holds (a person run following a log a copy "
        "floods); the run ending just as the drain hands the notice over",
        "the notice is handed over to the holder and synced between its pages, not put back on the queue to wait "
        "out the run; a drain whose holder has just ended takes its notices back and syncs them itself, so none "
        "is stranded",
        (
            "tests/test_engine_busy_log.py::"
            "test_a_webhook_notice_for_a_person_whose_run_follows_the_log_is_synced_by_that_run",
            "tests/test_engine_changes.py::test_a_drain_whose_holder_ended_as_it_handed_over_syncs_its_notices_itself",
            "tests/test_store_handover.py::test_a_reference_added_while_the_holder_syncs_stays_for_the_next_look",
        ),
    ),
    Fault(
        "429 storms: Retry-After 0, N seconds, an HTTP date (Marketo and Dataverse)",
        "waits as told (clamped), retries, and the copy ends with every record once",
        (
            STORMS,
            f"{R}test_faults.py::test_a_storm_during_an_incremental_run_delays_it_and_it_still_succeeds",
            "tests/test_connector_policies.py::test_marketo_retry_after_is_honoured_in_both_forms",
            "tests/test_connector_policies.py::test_a_retry_after_longer_than_the_clamp_is_waited_only_up_to_it",
        ),
    ),
    Fault(
        "502 / 503 / 504 from either service",
        "retried with backoff; the copy ends with every record once",
        (STORMS, "tests/test_connector_policies.py::test_each_dataverse_http_status_is_handled_as_its_policy_row_says"),
    ),
    Fault(
        "Marketo 604 / 606 / 608 / 611 / 615 / 713 mid-run",
        "each handled as its policy row says (retry; a 606 holds calls till a slot frees); every record once",
        (STORMS, "tests/test_connector_policies.py::test_each_marketo_error_code_is_handled_as_its_policy_row_says"),
    ),
    Fault(
        "606 from a window another integration on the API user filled",
        "this process holds its calls a twentieth of the window, doubling while 606s repeat, never past its "
        "oldest call's leaving (not the whole 20 s); then one call at a time until Marketo admits one",
        (
            "tests/test_marketo_client.py::"
            "test_a_606_from_a_window_another_integration_filled_holds_our_calls_briefly_not_a_whole_window",
        ),
    ),
    Fault(
        "Marketo 601 / 602 (token invalid, expired) mid-run",
        "one fresh sign-in, the call repeated; every record once",
        (STORMS,),
    ),
    Fault(
        "607 daily quota",
        "the command stops cleanly (exit 1, no traceback) saying when the quota resets; the checkpoint keeps the "
        "pages done; the same Marketo day it stops again; after the reset on the emulator's clock it resumes and "
        "ends with every record once; an orchestration waits on a durable timer",
        (
            f"{R}test_faults.py::test_the_daily_quota_stops_the_copy_cleanly_and_it_resumes_after_marketos_reset",
            "tests/test_engine_scenarios.py::test_a_systemic_failure_fails_the_run_and_leaves_the_checkpoint",
            "tests/test_functions_orchestrations.py::test_waits_are_durable_timers_never_sleeps",
        ),
    ),
    Fault(
        "1029 (bulk export quota, or too many bulk jobs)",
        "the quota meaning stops until the reset, the other waits and retries (the sync does not use bulk "
        "export yet; each meaning is tested as its policy row)",
        ("tests/test_connector_policies.py::test_each_marketo_error_code_is_handled_as_its_policy_row_says",),
    ),
    Fault(
        "Partial batch failures: records refused inside an accepted call, either way",
        "the refused ones go to the errors table with their reason; the rest flows",
        (
            "tests/test_engine_scenarios.py::test_a_record_marketo_refuses_goes_to_the_errors_table_and_the_rest_flows",
            "tests/test_engine_two_way.py::test_a_value_dynamics_refuses_goes_to_the_errors_table_and_the_rest_flows",
        ),
    ),
    Fault(
        "A poison record that fails every time",
        "tried with backoff, parked after N attempts and left alone, while new work keeps flowing",
        (f"{R}test_faults.py::test_a_poison_record_is_parked_after_n_attempts_while_the_rest_flows",),
    ),
    Fault(
        "Expired Dataverse delta token",
        "re-baselines: reads everything, writes only what differs, finds deletions by reconciling ids",
        ("tests/test_engine_scenarios.py::test_an_expired_delta_link_rebaselines_writing_only_what_differs",),
    ),
    Fault(
        "Marketo's deleted-leads window pruned (a paging token unread for 14 days, or refused)",
        "every linked person is checked; the missed edit and deletion are found",
        (
            "tests/test_engine_two_way.py::test_a_token_unread_for_14_days_rebaselines_and_finds_what_was_missed",
            "tests/test_engine_two_way.py::test_a_paging_token_marketo_no_longer_accepts_rebaselines_instead_of_failing",
        ),
    ),
    Fault(
        "A mapped field removed on either side (Marketo field, Dataverse column)",
        "the run fails as auth/config or fatal naming the field, the checkpoint does not move, and a new process "
        "refuses to start with the mapping problem and its fix",
        (f"{R}test_faults.py::test_a_mapped_field_removed_on_either_side_fails_runs_with_a_clear_reason",),
    ),
    Fault(
        "A new unmapped Marketo field with values",
        "ignored: runs succeed and write nothing to Dynamics for it",
        (f"{R}test_faults.py::test_a_new_unmapped_marketo_field_is_ignored",),
    ),
    Fault(
        "Two runs of one object at once (two engines, two processes' worth)",
        "exactly one proceeds; the other is skipped, saying who holds the lease",
        (
            f"{R}test_faults.py::test_two_runs_of_one_object_at_once_exactly_one_proceeds",
            "tests/test_store_leases.py::test_of_many_simultaneous_contenders_for_an_expired_lease_exactly_one_wins",
        ),
    ),
    Fault(
        "Table Storage lost mid-run (connections dropped and refused through a real TCP forwarder)",
        "the run fails, loses nothing, and the next run after the store returns catches up with every record once",
        (f"{R}test_faults.py::test_table_storage_lost_mid_run_fails_the_run_and_the_next_run_recovers",),
    ),
    Fault(
        "Either service's clock 10 minutes ahead or behind",
        "edits on both sides still arrive (Marketo's paging tokens are dates: the person stream starts its "
        "token 15 minutes early, which re-reads only changes the merge already has, and its late-activity "
        "sweep keeps to Marketo's clock, read from its Date header)",
        (f"{R}test_faults.py::test_clocks_ten_minutes_apart_lose_no_change_either_way",),
    ),
    Fault(
        "Marketo activities committed late: 30 % of them up to 5 minutes after their date, behind date-based "
        "paging tokens (Marketo's KB)",
        "every Marketo edit reaches Dynamics, each merged exactly once: the late-activity sweep finds what "
        "the stream passed, and what it re-reads comes back as echoes",
        (f"{R}test_hostile_marketo.py::test_activities_committed_up_to_five_minutes_late_reach_dynamics_exactly_once",),
    ),
    Fault(
        "The same activity on two pages; activities without an `id` (Marketo's newer activity service)",
        "each edit applied once (a repeat is an echo; nothing is keyed on the activity id)",
        (f"{R}test_hostile_marketo.py::test_repeated_activities_and_activities_without_ids_are_each_applied_once",),
    ),
    Fault(
        "Writes whose answer is lost after the service did the work (the connection dropped, or a gateway's "
        "504): Marketo person creates (with an email, without one, with an email other persons hold; the "
        "Dynamics id a lookup field or not), Marketo updates, Dynamics updates and flow-action creates",
        "nothing created twice on either side: keyed writes are repeated; a person no key finds again is made "
        "at most once a call and a lost call is settled from Marketo's New Person activities",
        (
            f"{R}test_lost_answers.py::test_person_creates_whose_answers_are_lost_make_each_person_once",
            f"{R}test_lost_answers.py::test_a_person_update_whose_answer_is_lost_arrives_once",
            f"{R}test_lost_answers.py::test_dynamics_writes_whose_answers_are_lost_create_nothing_twice",
        ),
    ),
    Fault(
        "A Dataverse delta whose pages hold a row once per change (changed twice while listed), on one page "
        "and across pages",
        "each row synced once as it is last: a page counts a row once, and a row met again is unchanged",
        (f"{R}test_hostile_dataverse.py::test_rows_changed_twice_in_one_delta_are_each_synced_once_as_they_are_last",),
    ),
    Fault(
        "Pessimistic latency on both services (a 300-person push ~5.5 s, a Dataverse page ~0.8 s, an "
        "UpsertMultiple of 500 ~5 s; emulators/common/latency.py says what bounds them)",
        "the copy and a cycle both ways finish slower, every edit once, nothing duplicated",
        (f"{R}test_faults.py::test_pessimistic_latency_on_both_services_slows_the_sync_but_loses_nothing",),
    ),
    Fault(
        "Marketo takes no lookup by the Dynamics id field (its describe does not list it as searchable; a "
        "lookup by it is refused, 1011)",
        "`check` warns; persons without an email are still made, once each, and found again by their "
        "Marketo id; a lost answer is settled from the activity log",
        (
            f"{R}test_hostile_marketo.py::"
            "test_persons_without_an_email_sync_once_when_marketo_takes_no_lookup_by_the_dynamics_id",
            f"{R}test_lost_answers.py::test_person_creates_whose_answers_are_lost_make_each_person_once",
        ),
    ),
    Fault(
        "The store emptied",
        "the next full copy links every record to its existing person from the ids on the records: nothing duplicated",
        (
            "tests/test_engine_two_way.py::test_a_lost_store_is_rebuilt_from_the_ids_on_the_records_with_nothing_duplicated",
        ),
    ),
]
BAD_INPUT: Final = [
    Fault(
        "Change notices with a wrong or missing key, a body that is not JSON or not a change, an id that is not a "
        "GUID (an OData injection attempt), over 1 MiB; a queue message that is not a change message",
        "401, 400 naming the problem, 413 — never a 500 — each counted on the status page with its reason; "
        "nothing queued; a bad queue message goes to the poison queue",
        (
            "tests/test_functions_changes.py::test_a_wrong_or_missing_key_is_401_and_counted",
            "tests/test_functions_changes.py::test_a_body_that_is_not_a_dataverse_context_is_400_naming_the_problem",
            "tests/test_functions_changes.py::"
            "test_an_oversized_body_is_413_and_a_message_the_sync_does_not_follow_is_200",
            "tests/test_engine_changes.py::test_a_message_that_is_not_a_change_goes_to_the_poison_queue",
        ),
    ),
    Fault(
        "Fuzzed mapping files (Hypothesis: shaped and shapeless YAML and JSON, random text and bytes)",
        "either a usable mapping or a MappingError listing each problem; never another exception",
        (
            f"{R}test_bad_input.py::test_any_mapping_file_resolves_or_gets_a_mapping_error_naming_each_problem",
            f"{R}test_bad_input.py::test_any_text_as_a_mapping_file_gets_a_clear_answer",
            "tests/test_cli_sync.py::test_a_bad_mapping_file_stops_full_copy_with_every_problem",
        ),
    ),
    Fault(
        "Bad settings",
        "start-up stops with every problem and its fix at once",
        ("tests/test_settings.py::test_every_problem_is_reported_at_once_each_with_its_fix",),
    ),
    Fault(
        "Fuzzed webhook payloads and secrets (Hypothesis, all three webhooks)",
        "200, or a 4xx with a message; 401 for any wrong or missing secret; never a 500",
        (
            f"{R}test_bad_input.py::test_any_webhook_payload_gets_a_2xx_or_a_4xx_with_a_message_never_a_500",
            "tests/test_function_app.py::test_the_sync_person_webhook_answers_bad_requests_with_a_4xx_naming_the_problem",
        ),
    ),
    Fault(
        "Awkward values: right-to-left text, bidi marks, emoji, combining marks, markup, tabs and newlines, "
        "plus signs, apostrophes and quotes in emails, the longest title, GUIDs in upper case",
        "synced unchanged, or reported in the errors table with a reason; never a crash",
        (f"{R}test_bad_input.py::test_awkward_values_are_synced_intact_or_reported_never_a_crash",),
    ),
    Fault(
        "A Marketo value too long for its Dynamics column",
        "that record's error is reported; the other persons' changes flow",
        (
            f"{R}test_bad_input.py::test_a_marketo_value_too_long_for_dynamics_is_reported_and_the_rest_of_the_person_flows",
        ),
    ),
]
SECURITY: Final = [
    Fault(
        "The Dataverse webhook's key and the change queue",
        "the key is written to Dataverse and never read back (`authvalue` is write-only), kept in Key Vault in "
        "Azure; the queue holds record references only, never a value",
        (
            "tests/test_dataverse_webhooks.py::"
            "test_registration_is_idempotent_and_reversible_and_the_key_is_never_read_back",
            "tests/test_functions_changes.py::"
            "test_a_dataverse_notice_with_the_right_key_is_queued_as_a_reference_without_values",
        ),
    ),
    Fault(
        "Known secrets (client secrets, storage key, webhook secret, an access token) configured, logging at DEBUG, "
        "failures forced (refused credentials, an unreachable service)",
        "none appears in logs (request lines included: redacted as they are made), command output, start-up errors, "
        "the status report, table or page, the errors export, or any stored row",
        (
            f"{R}test_secrets.py::test_configured_secrets_never_appear_in_logs_outputs_errors_or_the_status_page",
            "tests/test_settings.py::test_secrets_never_appear_in_repr_or_the_config_summary",
        ),
    ),
    Fault(
        "Admin endpoints called without a key",
        "every admin route is indexed with a function key; webhooks need the shared secret",
        ("tests/test_function_app.py::test_the_worker_indexes_every_function_with_its_trigger_route_and_auth",),
    ),
    Fault(
        "TLS verification turned off somewhere in the deployed app",
        "no place in function_app.py or sync/ turns it off (a static check shown to catch each way of doing it)",
        (
            f"{R}test_secrets.py::test_no_tls_verification_is_disabled_anywhere_in_the_deployed_app",
            f"{R}test_secrets.py::test_the_tls_check_finds_each_way_of_turning_verification_off",
            "tests/test_settings.py::test_plain_http_is_refused_except_for_local_emulators",
        ),
    ),
    Fault(
        "Timing attacks on the webhook secret",
        "the secret is compared by hmac.compare_digest only (a static check shown to catch a plain comparison)",
        (
            f"{R}test_secrets.py::test_webhook_secrets_are_compared_in_constant_time_only",
            f"{R}test_secrets.py::test_the_comparison_check_finds_a_plain_comparison_of_a_secret",
        ),
    ),
    Fault(
        "Known vulnerabilities in the pinned dependencies",
        "pip-audit finds none (it warns and goes on when its vulnerability service cannot be reached)",
        ("make audit",),
    ),
]
SECTIONS: Final = {"Crashes": CRASHES, "Fault matrix": MATRIX, "Bad input": BAD_INPUT, "Security": SECURITY}


def measured() -> list[str]:
    """The last `make soak`, as its result file has it."""
    if not SOAK_RESULT.is_file():
        return []
    soak = json.loads(SOAK_RESULT.read_text(encoding="utf-8"))
    rounds = soak["rounds"]
    failed = sum(1 for r in rounds if not r["passed"])
    lines = [
        "",
        "## Measured: the last soak",
        "",
        f"`make soak` (SOAK_MINUTES={soak['minutes']:g}) at commit {soak['commit']}, finished {soak['finished']}, "
        f"on {soak['machine']}: {len(rounds)} runs, {failed} failed. Crash runs at SYNC_CRASH_KILLS=120 with a "
        "fresh seed each; stateful runs at 20 examples of 40 steps with fresh randomness.",
        "",
        "| round | test | settings | outcome | seconds | what it did |",
        "|---|---|---|---|---|---|",
    ]
    for r in rounds:
        settings = ", ".join(f"{k}={v}" for k, v in r["settings"].items() if k.endswith(("SEED", "KILLS")))
        did = "; ".join(r["detail"]) or r["summary"]
        outcome = "passed" if r["passed"] else "FAILED"
        lines.append(f"| {r['round']} | {r['trial']} | {settings} | {outcome} | {r['seconds']} | {did} |")
    return lines


def render() -> str:
    lines = [
        "# Reliability: the faults tried and what the suite proves",
        "",
        "Generated from `tests/reliability/catalogue.py` by `python -m tests.reliability.catalogue`; a test",
        "fails when this page and the suite differ. Everything runs inside `make test`, against both",
        "emulators over HTTPS and Azurite, with faults injected on the wire (the emulators' fault rules,",
        "a TCP forwarder cut in front of Azurite, SIGKILL).",
    ]
    for title, faults in SECTIONS.items():
        lines += ["", f"## {title}", "", "| fault | what the suite proves | checked by |", "|---|---|---|"]
        for f in faults:
            checks = "<br>".join(f"`{c.split('::')[-1]}`" for c in f.checks)
            lines.append(f"| {f.fault} | {f.proves} | {checks} |")
    lines += measured()
    lines += ["", "Where each check lives:", ""]
    for check in dict.fromkeys(c for faults in SECTIONS.values() for f in faults for c in f.checks):
        lines.append(f"- `{check}`")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    DOC.write_text(render(), encoding="utf-8")
    sys.stdout.write(f"wrote {DOC.relative_to(ROOT)}\n")
