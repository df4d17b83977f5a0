"""`python -m bench report`: every result under bench/results/ as one markdown table
(bench/results/REPORT.md) and two plots: the full copy's wall time against the number of
records with the rate-limit ideal beside it, and the sync's peak memory against the same."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt

RESULTS = Path(__file__).parent / "results"


def _load(pattern: str) -> list[dict[str, Any]]:
    return [json.loads(p.read_text()) for p in sorted(RESULTS.glob(pattern))]


def _machines() -> str:
    """Where the results were measured, as their provenance says (the text does not depend on the
    machine that writes the report, so a test can compare it with the committed one)."""
    seen: dict[str, list[str]] = {}
    for path in sorted(RESULTS.glob("*.json")):
        machine = (json.loads(path.read_text()).get("provenance") or {}).get("machine")
        if machine:
            memory = f", {machine['memory_bytes'] / 2**30:.0f} GiB" if machine.get("memory_bytes") else ""
            name = f"{machine['cpus']} cores{memory}, {machine['platform']}, Python {machine['python']}"
        else:
            name = "not recorded (measured before results carried provenance)"
        seen.setdefault(name, []).append(path.stem)
    return "; ".join(f"{name} ({', '.join(stems)})" for name, stems in seen.items())


def _plot(copies: list[dict[str, Any]]) -> list[str]:
    copies = sorted(copies, key=lambda r: r["records"])
    n = [r["records"] for r in copies]
    figure, axis = plt.subplots(figsize=(7, 4))
    axis.plot(n, [r["wall_s"] for r in copies], marker="o", label="the sync's full copy")
    axis.plot(n, [r["ideal_s"] for r in copies], linestyle="--", label="Marketo's ceiling (ideal)")
    axis.set(xlabel="records", ylabel="seconds", title="Full copy: wall time")
    axis.legend()
    figure.savefig(RESULTS / "full_copy_wall.png", dpi=100, bbox_inches="tight")
    figure, axis = plt.subplots(figsize=(7, 4))
    axis.plot(n, [r["peak_rss_mb"] for r in copies], marker="o")
    axis.set(xlabel="records", ylabel="MB", title="Full copy: peak memory of the sync process", ylim=(0, None))
    figure.savefig(RESULTS / "full_copy_rss.png", dpi=100, bbox_inches="tight")
    return list(PLOTS)


PLOTS = ("full_copy_wall.png", "full_copy_rss.png")


COPY_COLUMNS: list[tuple[str, Callable[[dict[str, Any]], str]]] = [
    ("records", lambda r: f"{r['records']:,}"),
    ("latency", lambda r: str(r.get("latency", "realistic"))),
    ("time scale", lambda r: f"{r['time_scale']:g}"),
    ("wall s", lambda r: f"{r['wall_s']:.1f}"),
    ("ideal s", lambda r: f"{r['ideal_s']:.1f}"),
    ("wall/ideal", lambda r: str(r["wall_over_ideal"])),
    ("Marketo calls", lambda r: str(r["marketo_calls"])),
    ("/ideal", lambda r: str(r["marketo_calls_over_ideal"])),
    ("store writes", lambda r: f"{r['store_writes']:,}"),
    ("peak RSS MB", lambda r: str(r["peak_rss_mb"])),
    ("CPU s", lambda r: f"{r['cpu_s']:.1f}"),
]


def report_text() -> str:
    """REPORT.md from the result files alone."""
    lines = [
        f"# Benchmark results\n\nMeasured on: {_machines()}.\n",
        "## Full copy (real limits unless a time scale is shown)\n",
    ]
    lines.append("| " + " | ".join(name for name, _ in COPY_COLUMNS) + " |")
    lines.append("|" + "---|" * len(COPY_COLUMNS))
    every_copy = _load("full_copy_*.json")
    copies = [r for r in every_copy if r.get("path", "rest") == "rest"]  # the REST path, against its ideal
    for r in sorted(copies, key=lambda r: (r.get("latency", "realistic") != "realistic", r["records"])):
        lines.append("| " + " | ".join(cell(r) for _, cell in COPY_COLUMNS) + " |")
    bulk = [r for r in every_copy if r.get("path") == "bulk"]
    if bulk:
        lines.append("\n## Bulk first copy of persons")
    for r in sorted(bulk, key=lambda r: r["records"]):
        rate = r["assumed_import_rows_per_s_per_job"]
        at_rate = r.get("projected_10m_at_assumed_rate")
        with_polls = (
            f"; at {rate:g} rows a second a job with {at_rate['poll_s']:g}-s polls and usage reads: "
            f"{at_rate['calls']['total']:,}, {at_rate['share_of_50k_day']:.1%}"
            if at_rate
            else ""
        )
        lines += [
            "",
            f"{r['seed']['contact'] + r['seed']['lead']:,} persons through Marketo's bulk import: "
            f"{r['persons_marketo_calls']} REST calls ({r['marketo_calls_per_million_persons']} per million; "
            f"10 million at the emulator's speed: {r['projected_calls_10m']:,}, "
            f"{r['projected_share_of_50k_day_10m']:.1%} of a 50,000-call day{with_polls}); "
            f"persons in {r['persons_wall_s']:,} s; peak RSS {r['peak_rss_mb']} MB; 10 million projected in "
            f"{r['projected_wall_h_10m_at_best']}-{r['projected_wall_h_10m_at_worst']} h at "
            f"{rate:g} imported rows a second per job (assumed).",
        ]
    for r in _load("incremental_*.json"):
        lines += [
            f"\n## Incremental ({r.get('latency', 'realistic')} latency)\n",
            f"{r['changed']} changes over {len(r['cycles'])} cycles; Marketo calls per changed record "
            f"{r['marketo_calls_per_changed_record']}, Dataverse {r['dataverse_calls_per_changed_record']}; "
            f"lag p50 {r['lag_p50_s']} s, p95 {r['lag_p95_s']} s after the timer fires; a quiescent cycle writes "
            f"{r['quiescent_cycle']['written']} and calls Marketo {r['quiescent_cycle']['marketo_calls']} time(s): "
            f"{r['idle_marketo_calls_per_day']:,} Marketo calls per idle day.",
        ]
    for r in _load("engagement_*.json"):
        day = r["marketo_calls_per_day"]
        lines += [
            "\n## Engagement\n",
            f"{r['per_day']:,} engagement activities a day ({r['minutes']} minutes replayed, {r['persons']:,} linked "
            f"persons, engagement's own stream every {r['engagement_every_min']} minutes): engagement "
            f"{r['engagement_calls_per_million']:,} Marketo calls per million activities (goal ≤ 3,400), the person "
            f"stream {day['person']:,} a day reading the same log; {r['timeline_rows']:,} timeline rows in "
            f"{r['dataverse_batches']:,} `$batch` requests ({r['rows_per_batch']} rows each, at most 1,000); "
            f"a day within the budget: {'yes' if r['day_within_budget'] else 'no'}.",
        ]
    for r in _load("transform.json"):
        lines += [
            "\n## Transform\n",
            f"{r['records_per_s_per_core']:,} records per second per core ({r['fields_per_record']} fields each).",
        ]
    for r in _load("peers_*.json"):
        push = r["push_persons"]
        script = push["marketorestpython_script"]
        lines += [
            "\n## Peers\n",
            f"Pushing {r['persons']:,} persons: the sync {push['ours']['wall_s']} s "
            "(reading Dynamics and storing links too), "
            f"a hand-written marketorestpython script on {script.get('threads', 1)} thread(s) {script['wall_s']} s: "
            f"ours / theirs = {push['wall_ours_over_theirs']}.",
        ]
        sequential = push.get("marketorestpython_script_sequential")
        if sequential:
            lines.append(
                f"\nThe same script one call after another: {sequential['wall_s']} s "
                f"(ours / that = {push['wall_ours_over_sequential']})."
            )
        read = r.get("read_persons")
        if read:
            lines.append(
                f"\nReading them from Dataverse: the sync {read['ours']['process_wall_s']} s, Airbyte's "
                f"airbyte-source-microsoft-dataverse {read['airbyte_source_microsoft_dataverse']['wall_s']} s "
                f"(whole processes): ours / theirs = {read['process_wall_ours_over_theirs']}."
            )
        every_column = read.get("ours_every_column") if read else None
        if read and every_column:
            lines.append(
                f"\nThe same work, every column as Airbyte reads them: the sync {every_column['process_wall_s']} s: "
                f"ours / theirs = {read['process_wall_same_columns_ours_over_theirs']}."
            )
    if copies:
        lines += ["", *(f"![{name}]({name})" for name in PLOTS)]
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    _plot(
        [
            r
            for r in _load("full_copy_*.json")
            if r.get("path", "rest") == "rest" and r.get("latency", "realistic") == "realistic"
        ]
    )
    text = report_text()
    (RESULTS / "REPORT.md").write_text(text)
    print(text)
    return 0
