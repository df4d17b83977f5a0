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
