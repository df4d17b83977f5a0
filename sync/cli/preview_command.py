"""`python -m sync full-copy --dry-run [--object O] [--json]`: the preview of a first copy of leads
and contacts (`sync/engine/preview.py`), as a table on the terminal or one JSON document."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from dataclasses import asdict

from sync.engine.preview import ObjectPreview, preview
from sync.engine.runtime import Engine
from sync.objects import PERSON_TABLES, SyncObject
from sync.settings import Settings

COUNTS = ("read", "filtered_out", "would_create", "would_link", "ambiguous", "shared_emails", "differing", "would_fail")


def preview_command(settings: Settings, objects: Sequence[SyncObject], as_json: bool) -> int:
    chosen = [o for o in objects if o in PERSON_TABLES]
    if not chosen:
        named = ", ".join(o.value for o in objects)
        print(
            f"the preview covers the contact and lead tables, not {named}: give --object contact or lead",
            file=sys.stderr,
        )
        return 2
    engine = Engine.start(settings, read_only=True)
    try:
        previews = [preview(engine, obj) for obj in chosen]
    finally:
        engine.close()
    if as_json:
        report = {
            "objects": {p.object: asdict(p) for p in previews},
            "marketo_calls": sum(p.marketo_calls for p in previews),
        }
        print(json.dumps(report, indent=2))
    else:
        for each in previews:
            _print(each)
    return 0


def _print(shown: ObjectPreview) -> None:
    print(f"{shown.object}: what a first copy would do (nothing was written)")
    for name in COUNTS:
        print(f"  {name.replace('_', ' '):<14} {getattr(shown, name):>9,}")
    for field, count in shown.differing_fields.items():
        print(f"    {field:<24} differs on {count:,}; {shown.winners[field]}'s value wins")
    for reason, count in shown.reasons.items():
        print(f"    would fail ×{count:,}: {reason}")
    for category, ids in shown.samples.items():
        print(f"    e.g. {category.replace('_', ' ')}: {'; '.join(ids)}")
    print(
        f"  the copy: {shown.path} path, about {shown.copy_marketo_calls:,} Marketo calls through REST, "
        f"{shown.eta_s:,.0f} s at Marketo's call rate; this preview made {shown.marketo_calls} Marketo call(s)"
    )
