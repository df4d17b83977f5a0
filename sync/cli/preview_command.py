"""`python -m sync full-copy --dry-run [--object O] [--json] [--html FILE]`: the preview of a first
copy (`sync/engine/preview.py`) of each object, as a table on the terminal or one JSON document,
kept in the store as the latest preview (`GET sync/preview`), and with --html as the page."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Final

from sync.engine.preview import preview_and_keep
from sync.engine.preview_report import ObjectPreview
from sync.engine.runtime import Engine
from sync.objects import SyncObject
from sync.reporting.preview_page import preview_page, previews_json
from sync.reporting.status_page import duration
from sync.settings import Settings


def preview_command(settings: Settings, objects: Sequence[SyncObject], as_json: bool, html: str | None) -> int:
    engine = Engine.start(settings, read_only=True)
    try:
        chosen = [o for o in objects if engine.pipelines.get(o)]
        if not chosen:
            named = ", ".join(o.value for o in objects)
            print(f"{named}: no Dynamics table is read for it, so a first copy has nothing to preview", file=sys.stderr)
            return 2
        previews = [preview_and_keep(engine, obj) for obj in chosen]
        kept = [s for s in engine.store.previews.latest() if s.object in {o.value for o in chosen}]
    finally:
        engine.close()
    if html:
        Path(html).write_text(preview_page(kept), encoding="utf-8")
    if as_json:
        print(json.dumps(previews_json(kept), indent=2))
    else:
        _print(previews)
    return 0


_COLUMNS: Final = (  # (count, heading)
    ("read", "read"),
    ("filtered_out", "filtered"),
    ("would_create", "create"),
    ("would_link", "link"),
    ("differing", "differing"),
    ("ambiguous", "ambiguous"),
    ("shared_emails", "shared emails"),
    ("would_fail", "fail"),
    ("waiting", "waiting"),
)
_SHOWN_SAMPLES: Final = ("would_link", "differing", "ambiguous", "would_fail", "waiting")


def _print(previews: Sequence[ObjectPreview]) -> None:
    """One row per object, then what an admin should look at: fields that differ and whose value
    wins, why records would fail, a few ids of the categories that need a look."""
    print("What a first copy would do (nothing was written):")
    heads = [h for _, h in _COLUMNS]
    print(
        f"  {'object':<16}" + "".join(f"{h:>{max(len(h), 7) + 2}}" for h in heads) + f"  {'path':<5}{'calls':>8}  time"
    )
    for shown in previews:
        cells = "".join(f"{getattr(shown, n):>{max(len(h), 7) + 2},}" for n, h in _COLUMNS)
        eta = duration(shown.eta_s)
        print(f"  {shown.object:<16}{cells}  {shown.path:<5}{shown.copy_marketo_calls:>8,}  {eta}")
    for shown in previews:
        notes = [
            f"{field} on {count:,} ({shown.winners[field]} wins)" for field, count in shown.differing_fields.items()
        ]
        lines = [f"differs: {', '.join(notes)}"] if notes else []
        lines += [f"would fail ×{count:,}: {reason}" for reason, count in shown.reasons.items()]
        lines += [
            f"e.g. {category.replace('_', ' ')}: {'; '.join(shown.samples[category])}"
            for category in _SHOWN_SAMPLES
            if category in shown.samples
        ]
        if shown.not_previewed:
            lines.append(f"not previewed: {', '.join(shown.not_previewed)} (links between records)")
        if not shown.complete:
            lines.append(f"stopped at its time limit: the counts cover the first {shown.read:,} rows")
        for line in lines:
            print(f"  {shown.object}: {line}")
    budget = previews[0].daily_budget if previews else 0
    left = previews[-1].calls_left_today if previews else 0
    own = sum(p.marketo_calls for p in previews)
    print(
        f"calls: the copy's Marketo calls through REST; time: at Marketo's call rate, with {left:,} of the daily "
        f"budget of {budget:,} left today. This preview made {own:,} Marketo call(s)."
    )
