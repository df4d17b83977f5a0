"""A benchmark's result file says what produced it: the commit (and whether the tree differed from
it), when, and on which machine — so a figure in the README can be traced to its code."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from datetime import datetime
from pathlib import Path

from bench.full_copy import bulk_calls_projected
from bench.marketo_routes import route_kind
from bench.results_file import write_result

ROOT = Path(__file__).resolve().parent.parent


def test_a_result_file_is_stamped_with_its_commit_time_and_machine(tmp_path: Path) -> None:
    out = tmp_path / "result.json"
    assert write_result({"figure": 42}, out, "unused.json") == 0
    written = json.loads(out.read_text())
    stamp = written["provenance"]
    git = shutil.which("git")
    head = (
        subprocess.run([git, "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=False)
        if git
        else None
    )
    expected = head.stdout.strip() if head is not None and head.returncode == 0 else None
    assert written["figure"] == 42 and stamp["commit"] == expected
    assert expected is None or re.fullmatch(r"[0-9a-f]{40}", expected)
    assert stamp["uncommitted_changes"] in (True, False, None)
    assert datetime.fromisoformat(stamp["measured_at"]).tzinfo is not None
    assert stamp["machine"]["cpus"] == os.cpu_count() and stamp["machine"]["python"].startswith("3.")


def test_the_bulk_projection_counts_status_checks_by_marketos_import_time_and_files_by_the_rows() -> None:
    run = {"import": 20, "import_status": 60, "extract_start": 4, "extract_file": 8, "extract_status": 10}
    fast = bulk_calls_projected(run, 1_000_000, rows_per_s=1000.0, poll_s=30.0)
    slow = bulk_calls_projected(run, 1_000_000, rows_per_s=200.0, poll_s=30.0)
    # 10 million rows, two jobs at once: 25,000 s of importing at 200 a second, a check every 30 s
    assert slow["calls"]["import_status_checks"] == round(25_000 / 30 + 200)
    assert slow["calls"]["usage_reads"] == round(25_000 / 3600)  # 10 checks between reads: not busy, hourly
    assert slow["calls"]["imports"] == fast["calls"]["imports"] == 200  # files grow with the rows only
    # two extract jobs (leads, contacts), two calls each to start; 550 MB of links read 32 MB a call
    assert slow["calls"]["extracts"] == fast["calls"]["extracts"] == 2 * 2 + 2 * 9
    assert slow["calls"]["extract_status_checks"] == 10  # the run's: one job a person object whatever the rows
    assert slow["calls"]["total"] > fast["calls"]["total"]
    assert [route_kind(p) for p in ("/bulk/v1/leads.json", "/bulk/v1/leads/batch/7.json", "/rest/v1/leads.json")] == [
        "import",
        "import_status",
        "rest",
    ]
