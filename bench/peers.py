"""`python -m bench peers --persons N`: the same jobs done, in the same run against the same
emulators, by what a user would otherwise pick, ratios ours / theirs:
- pushing the persons to Marketo: a hand-written `marketorestpython` script at its best, on 10
  threads (Marketo's concurrency), and the same one call after another as a second row (it only
  pushes; the sync also reads them from Dynamics, maps them and stores its links); Marketo is
  reset between runs, so each starts from an empty instance with a clear rate window;
- reading the leads and contacts from Dataverse: Airbyte's `airbyte-source-microsoft-dataverse`
  (in a virtualenv of its own: it pins airbyte-cdk 0.80) against the sync's change-tracking
  reader, twice: the mapped columns (what the sync reads) and every column (what Airbyte reads:
  the same work, the ratio that compares them)."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.airbyte_run import airbyte_read
from bench.results_file import write_result
from bench.stack import ROOT, stack


def _peer_script(rows: list[dict[str, Any]], env: dict[str, str], threads: int) -> dict[str, Any]:
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as file:
        json.dump(rows, file)
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DATAVERSE_", "MARKETO_", "SYNC_"))}
    done = subprocess.run(
        [sys.executable, "-m", "bench.peer_script", file.name, str(threads)],
        cwd=ROOT,
        env={**clean, **env, "REQUESTS_CA_BUNDLE": env["SYNC_CA_FILE"]},
        stdout=subprocess.PIPE,
        text=True,
        check=True,
        timeout=7200,
    )
    Path(file.name).unlink()
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench peers", description=__doc__)
    parser.add_argument("--persons", type=int, default=20_000, help="leads + contacts (half each)")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    leads = args.persons // 2
    seed = {"systemuser": 10, "account": 100, "contact": args.persons - leads, "lead": leads}
    with stack(seed) as running:
        rows = [r for t in ("contact", "lead") for r in running.control("dataverse", "GET", f"data/{t}")["rows"]]
        sequential = _peer_script(rows, running.env, 1)
        running.control("marketo", "POST", "reset")
        theirs = _peer_script(rows, running.env, 10)  # at their best: Marketo's 10 at once
        running.control("marketo", "POST", "reset")
        ours = running.run_sync("full-copy", "lead", "contact")
        airbyte = airbyte_read(running.env, ["contact", "lead"])
        started = time.perf_counter()
        our_read = running.run_sync("read", "contact", "lead")
        our_read["process_wall_s"] = round(time.perf_counter() - started, 3)  # start-up included, as theirs
        started = time.perf_counter()
        every_column = running.run_sync("read", "contact", "lead", "columns=all")  # Airbyte's work exactly
        every_column["process_wall_s"] = round(time.perf_counter() - started, 3)
    ours_persons = {
        "records": sum(ours["objects"][o]["records"] for o in ("lead", "contact")),
        "wall_s": ours["wall_s"],
        "marketo_calls": ours["marketo_calls"],
        "peak_rss_mb": ours["peak_rss_mb"],
        "cpu_s": ours["cpu_s"],
    }
    report = {
        "job": "peers",
        "persons": args.persons,
        "push_persons": {
            "ours": ours_persons,
            "marketorestpython_script": theirs,
            "marketorestpython_script_sequential": sequential,
            "wall_ours_over_theirs": round(ours_persons["wall_s"] / theirs["wall_s"], 3),
            "wall_ours_over_sequential": round(ours_persons["wall_s"] / sequential["wall_s"], 3),
            "marketo_calls_ours_over_theirs": round(ours_persons["marketo_calls"] / theirs["marketo_calls"], 3),
        },
        "read_persons": {
            "ours": our_read,
            "ours_every_column": every_column,
            "airbyte_source_microsoft_dataverse": airbyte,
            "process_wall_ours_over_theirs": round(our_read["process_wall_s"] / airbyte["wall_s"], 3),
            # the same work: every column of every row, as Airbyte's source reads them
            "process_wall_same_columns_ours_over_theirs": round(every_column["process_wall_s"] / airbyte["wall_s"], 3),
        },
    }
    return write_result(report, args.out, f"peers_{args.persons}.json")
