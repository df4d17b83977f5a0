"""Every benchmark figure the README and bench/README.md cite is the one its result file holds, and
bench/results/REPORT.md is what `python -m bench report` makes of the result files: a figure
re-measured without its text (or the other way round) fails here. One row per cited passage."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from bench.report import report_text

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"

# (the document, the result file, the passage as the document words it, with the file's values in it)
CITED: list[tuple[str, str, str]] = [
    (
        "README.md",
        "full_copy_200000.json",
        "takes {wall_s:.1f} s against the rate-limit ideal of {ideal_s:.0f} s ({wall_over_ideal:.2f} ×; goal ≤ 1.10, "
        "not met) with {marketo_calls} Marketo calls against the fewest possible {ideal_marketo_calls}, in "
        "{peak_rss_mb:.0f} MB ({marketo_calls_with_startup} with the process's start, "
        "{marketo_calls_with_startup_over_ideal:.3f} ×; goal ≤ 1.01, not met)",
    ),
    (
        "README.md",
        "full_copy_bulk_1000000.json",
        "1,000,000 persons cost {persons_marketo_calls} REST calls at the emulator's import speed",
    ),
    (
        "README.md",
        "full_copy_bulk_200000.json",
        "10 million would cost {projected_10m_at_assumed_rate__calls__total:,} ({assumed_rate_share_pct:.1f} % of a "
        "day's quota; {projected_10m_calls_by_import_rate__100_0:,} at 100 rows a second",
    ),
    (
        "bench/README.md",
        "full_copy_bulk_200000.json",
        "{projected_10m_at_assumed_rate__calls__imports} imports, "
        "{projected_10m_at_assumed_rate__calls__import_status_checks:,} status checks (one a poll for the "
        "{projected_10m_at_assumed_rate__importing_h} h Marketo imports, one more as each job ends), "
        "{projected_10m_at_assumed_rate__calls__extracts} extract calls",
    ),
    (
        "bench/README.md",
        "full_copy_bulk_200000.json",
        "**{projected_10m_at_assumed_rate__calls__total:,} calls, {assumed_rate_share_pct:.1f} % of a 50,000-call "
        "day** (goal < 5 %: met at that rate). The rate decides it: at 100 rows a second "
        "{projected_10m_calls_by_import_rate__100_0:,} calls",
    ),
    (
        "bench/README.md",
        "lag_200000.json",
        "| timers (one-minute) | {timer__p50_s:.1f} s / {timer__p95_s:.1f} s | {under_copy__timer__p50_s:.1f} s / "
        "{under_copy__timer__p95_s:.1f} s | {marketo_calls_per_change__timer:.2f} |",
    ),
    (
        "bench/README.md",
        "lag_200000.json",
        "| webhooks | {webhook__p50_s:.1f} s / {webhook__p95_s:.1f} s | {under_copy__webhook__p50_s:.1f} s / "
        "{under_copy__webhook__p95_s:.1f} s | {marketo_calls_per_change__webhook:.2f} |",
    ),
    (
        "README.md",
        "lag_200000.json",
        "{webhook__p95_s:.1f} s at p95 by webhooks and {timer__p95_s:.1f} s by one-minute timers; while another "
        "process copies 200,000 persons, {under_copy__webhook__p95_s:.1f} s and {under_copy__timer__p95_s:.1f} s",
    ),
    (
        "README.md",
        "lag_200000.json",
        "webhooks cost {marketo_calls_per_change__webhook:.2f} Marketo calls per change against the timers' "
        "{marketo_calls_per_change__timer:.2f}",
    ),
    (
        "README.md",
        "lag_200000.json",
        "a burst of 100 at once {burst__marketo_calls_per_change__webhook:.2f} against "
        "{burst__marketo_calls_per_change__timer:.2f}",
    ),
    (
        "README.md",
        "peers_20000.json",
        "pushing 20,000 persons (reading them from Dynamics and storing its links too) it takes "
        "{push_persons__ours__wall_s:.1f} s, a hand-written `marketorestpython` script on "
        "{push_persons__marketorestpython_script__threads} threads "
        "{push_persons__marketorestpython_script__wall_s:.1f} s ({push_persons__wall_ours_over_theirs:.2f} × theirs",
    ),
    (
        "README.md",
        "peers_20000.json",
        "one call after another {push_persons__marketorestpython_script_sequential__wall_s:.1f} s; reading every "
        "column of 20,000 leads and contacts, as Airbyte's source does, it takes "
        "{read_persons__ours_every_column__process_wall_s:.1f} s against Airbyte's "
        "{read_persons__airbyte_source_microsoft_dataverse__wall_s:.1f} s "
        "({read_persons__process_wall_same_columns_ours_over_theirs:.2f} ×: faster; its mapped columns "
        "{read_persons__process_wall_ours_over_theirs:.2f} ×)",
    ),
    (
        "bench/README.md",
        "peers_20000.json",
        "took {push_persons__ours__wall_s:.1f} s; the hand-written `marketorestpython` script on 10 threads "
        "{push_persons__marketorestpython_script__wall_s:.1f} s: ours / theirs = "
        "{push_persons__wall_ours_over_theirs:.2f}",
    ),
    (
        "README.md",
        "engagement_1000000.json",
        "its own stream costs {engagement_calls_per_million:,} Marketo calls per million at steady state",
    ),
    ("README.md", "engagement_1000000.json", "writes {rows_per_batch:.0f} rows per Dynamics `$batch`"),
    ("README.md", "engagement_1000000.json", "a day takes {day_calls:,} of the {daily_budget:,} calls"),
    (
        "bench/README.md",
        "engagement_1000000.json",
        "{engagement_scheduled_runs__calls} calls for {engagement_scheduled_runs__read:,} activities",
    ),
    (
        "bench/README.md",
        "engagement_1000000.json",
        "{timeline_rows:,} rows in {dataverse_batches} requests",
    ),
]


def _values(name: str) -> dict[str, Any]:
    """The result's figures, nested keys joined by `__`, and the few derived ones cited."""
    flat: dict[str, Any] = {}

    def walk(value: Any, path: str) -> None:
        if isinstance(value, dict):
            for key, inner in value.items():
                walk(inner, f"{path}__{key}" if path else key)
        else:
            flat[path] = value

    walk(json.loads((RESULTS / name).read_text()), "")
    flat.update({key.replace(".", "_"): value for key, value in list(flat.items()) if "." in key})  # "100.0"
    if "projected_share_of_50k_day_10m" in flat:
        flat["share_of_day_pct"] = 100 * flat["projected_share_of_50k_day_10m"]
    if "projected_10m_at_assumed_rate__share_of_50k_day" in flat:
        flat["assumed_rate_share_pct"] = 100 * flat["projected_10m_at_assumed_rate__share_of_50k_day"]
    if "marketo_calls_per_day__person" in flat:
        flat["day_calls"] = flat["marketo_calls_per_day__person"] + flat["marketo_calls_per_day__engagement"]
    return flat


def _text(document: str) -> str:
    return re.sub(r"\s+", " ", (ROOT / document).read_text(encoding="utf-8"))


@pytest.mark.parametrize(("document", "result", "passage"), CITED)
def test_a_cited_figure_is_the_one_its_result_file_holds(document: str, result: str, passage: str) -> None:
    cited = passage.format_map(_values(result))
    assert cited in _text(document), f"{document} should say: {cited!r} (from bench/results/{result})"


def test_the_report_is_what_the_result_files_make() -> None:
    assert (RESULTS / "REPORT.md").read_text(encoding="utf-8") == report_text(), "run python -m bench report"
