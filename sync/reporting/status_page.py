"""The status page (HTML): what an admin opens when something looks wrong. It shows every number
of the status report — per object phase, pause, backlog, last-hour throughput, lag, last runs
(full copies among them), counters, how each table is read, errors by kind; Marketo's calls
today, the sync's live count beside Marketo's own report; failed runs first with their reason —
and a chart of the last day's throughput and lag with its numbers as a table. Rendered from the
report only, so it never shows what the JSON does not (no cursor, no secret), and it works
offline (the chart is inline SVG, no script)."""

from __future__ import annotations

from typing import Any

import pygal
from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup
from pygal.style import Style

RECENT_RUNS = 20
ENV = Environment(loader=PackageLoader("sync.reporting", "templates"), autoescape=select_autoescape(["html"]))


def number(value: Any) -> str:
    """Whole numbers with thousands separators, others to a tenth: as the report's numbers read."""
    if value is None:
        return "—"
    if isinstance(value, float) and not value.is_integer():
        return f"{value:,.1f}"
    return f"{int(value):,}"


ENV.filters["number"] = number
_STYLE = Style(background="white", plot_background="white", colors=("#2563eb", "#dc2626"), font_family="sans-serif")


def _chart(history: list[dict[str, Any]]) -> Markup:
    chart = pygal.Line(
        style=_STYLE,
        height=260,
        width=900,
        js=[],  # no script from a CDN: the page works offline and shows no third-party content
        show_dots=False,
        x_label_rotation=0,
        show_minor_x_labels=False,
        legend_at_bottom=True,
        legend_at_bottom_columns=2,
        margin_bottom=0,
        disable_xml_declaration=True,
        title="Last 24 hours",
    )
    chart.x_labels = [h["hour"][11:16] for h in history]
    chart.x_labels_major = chart.x_labels[::4]
    chart.add("records written per hour", [h["written"] for h in history])
    chart.add("worst lag (s)", [round(h["max_lag_s"]) for h in history], secondary=True)
    return Markup(chart.render(is_unicode=True))  # noqa: S704 - pygal's own SVG, no user text in it


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def status_page(report: dict[str, Any]) -> str:
    rows = []
    failures = []
    for item in report["objects"]:
        for direction in item["directions"]:
            last = next((r for r in direction["last_runs"] if r["outcome"] != "running"), None)
            rows.append(
                {"object": item, "direction": direction, "last": last, "lag": duration(direction["lag_seconds"])}
            )
            if last is not None and last["outcome"] == "failed":
                failures.append({"object": item["object"], "run": last})
    recent = sorted(
        (
            {"object": item["object"], "direction": direction["direction"], **run}
            for item in report["objects"]
            for direction in item["directions"]
            for run in direction["last_runs"]
        ),
        key=lambda run: run["started_at"],
        reverse=True,
    )[:RECENT_RUNS]
    quota = report.get("quota")
    share = round(100 * quota["total"] / quota["budget"], 1) if quota and quota.get("budget") else None
    counted = report.get("calls_today") or {}
    return ENV.get_template("status.html").render(
        report=report,
        rows=rows,
        failures=failures,
        recent=recent,
        quota=quota,
        quota_share=share,
        live=max(int(counted.get("drawn") or 0), int(counted.get("by_runs") or 0)),
        counted=counted,
        chart=_chart(report["history"]),
    )
