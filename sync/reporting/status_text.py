"""The status report as a table for a terminal (`python -m sync status`); `--json` prints the
report itself."""

from __future__ import annotations

from typing import Any

COLUMNS = ("object", "direction", "phase", "last run", "read", "written", "failed", "lag", "errors")


def _last_run(direction: dict[str, Any]) -> tuple[str, str, str, str, str]:
    runs = direction.get("last_runs") or []
    if not runs:
        return ("never", "", "", "", "")
    run = runs[0]
    when = str(run.get("ended_at") or run.get("started_at") or "")[:19].replace("T", " ")
    outcome = run["outcome"] + (f" ({run['failure_kind']})" if run.get("failure_kind") else "")
    lag = "" if run.get("lag_seconds") is None else f"{run['lag_seconds']:.0f} s"
    return (f"{outcome} {when}", str(run.get("read", 0)), str(run.get("written", 0)), str(run.get("failed", 0)), lag)


def status_table(report: dict[str, Any]) -> str:
    rows: list[tuple[str, ...]] = [COLUMNS]
    notes: list[str] = []
    for item in report["objects"]:
        errors = item["errors"]
        error_text = f"{errors['waiting_retry']} waiting, {errors['parked']} parked"
        for direction in item["directions"]:
            last, read, written, failed, lag = _last_run(direction)
            phase = direction["phase"] + (" (running)" if item["running"] else "")
            if item.get("paused_since"):
                phase += f" (paused since {item['paused_since'][:16].replace('T', ' ')})"
            engagement = direction.get("engagement")
            if engagement:
                behind = f"; timeline up to {engagement['through'][:16]}" if engagement["through"] else ""
                calls = f"{engagement['calls_today']:,} of {engagement['budget']:,}"
                phase += f" (own stream: {calls} Marketo calls today{behind})"
            bulk = direction.get("bulk")
            if bulk:
                phase += (
                    f" (bulk {bulk['phase']}: {bulk['open_jobs']} job(s) at Marketo, {bulk['imported']:,} imported, "
                    f"{bulk['failed']:,} failed, {bulk['warned']:,} with a warning, {bulk['linked']:,} linked)"
                )
            rows.append((item["object"], direction["direction"], phase, last, read, written, failed, lag, error_text))
            for stream, state in (direction.get("streams") or {}).items():
                if state["read_mode"] == "modifiedon":
                    notes.append(
                        f"{item['object']}: {stream} has no change tracking: read by modifiedon, deletions found "
                        "by a reconcile every 6 hours"
                    )
            runs = direction.get("last_runs") or []
            if runs and runs[0]["outcome"] in ("failed", "skipped") and runs[0].get("message"):
                notes.append(f"{item['object']}: {runs[0]['message']}")
        shared = item.get("shared_emails") or []
        if shared:
            notes.append(
                f"{item['object']}: {len(shared)} email(s) shared by several Dynamics records: "
                + ", ".join(s["email"] for s in shared[:5])
            )
        warned = item.get("bulk_warnings") or []
        if warned:
            notes.append(
                f"{item['object']}: rows the bulk import took with a warning: "
                + ", ".join(f"{w['record']} ({w['reason']})" for w in warned[:5])
                + (", …" if len(warned) > 5 else "")
            )
    widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in rows]
    head = f"Status at {report['generated_at'][:19].replace('T', ' ')} UTC"
    return "\n".join([head, *lines, *notes, _quota(report), *_changes(report)])


def _changes(report: dict[str, Any]) -> list[str]:
    changes = report.get("changes") or {}
    lines = []
    for route, counts in sorted((changes.get("routes") or {}).items()):
        line = (
            f"Webhooks today, {route}: {counts['queued']:,} queued, {counts['ignored']:,} ignored; refused: "
            f"{counts['bad_key']:,} bad key, {counts['bad_body']:,} bad body, {counts['too_large']:,} too large"
        )
        last = counts.get("refused_last")
        lines.append(f"{line} (last: {last['reason']}, {last['at'][:16].replace('T', ' ')} UTC)" if last else line)
    queue = changes.get("queue")
    if queue:
        if "error" in queue:
            lines.append(f"Change queue {queue['name']}: {queue['error']}")
        else:
            lines.append(f"Change queue {queue['name']}: {queue['waiting']:,} waiting, {queue['poison']:,} poison")
    return lines


def _quota(report: dict[str, Any]) -> str:
    counted = report.get("calls_today") or {}
    live = max(int(counted.get("drawn") or 0), int(counted.get("by_runs") or 0))
    line = f"Marketo API calls today: {live:,} by the sync (live)"
    quota = report.get("quota")
    if not quota:
        return f"{line}; Marketo's usage report: not read yet"
    share = 100 * quota["total"] / quota["budget"] if quota["budget"] else 0.0
    as_of = quota["at"][:16].replace("T", " ")
    return (
        f"{line}; Marketo's usage report: {quota['total']:,} of {quota['budget']:,} ({share:.1f} %), "
        f"as of {as_of} UTC (it lags up to an hour)"
    )
