"""`make soak` (`python -m tests.soak [--minutes 30]`): the reliability tests at a large profile and
fresh random seeds, again and again for a set time — not part of `make test`.

Each round runs, each as its own pytest process:
- the crash test (tests/reliability/test_crashes.py) with a fresh SYNC_CRASH_SEED and
  SYNC_CRASH_KILLS=120: SIGKILLs during the first copy and during rounds of work on both sides,
  with the emulators' hostile settings on;
- the stateful test (tests/test_engine_stateful.py) with fresh Hypothesis randomness, 20
  examples of 40 steps: random work on both sides, injected faults (429, 503, 606, 611) and
  crashes between writes and checkpoints.
It prints what each round ran and how it ended, and for a failure the command that runs it again
(the crash seed, or Hypothesis' @reproduce_failure blob as SYNC_STATEFUL_REPRODUCE). Exit 1 when
anything failed. At the end it writes RESULT (the commit, the machine, every round), which
docs/reliability.md shows under "Measured".
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

ROOT: Final = Path(__file__).resolve().parent.parent
LOGS: Final = ROOT / "build" / "soak"
RESULT: Final = ROOT / "tests" / "reliability" / "soak_result.json"
CRASH_KILLS: Final = 120
REPRODUCE: Final = re.compile(r"@reproduce_failure\('[^']+', b'([^']+)'\)")
STATEFUL: Final = {"SYNC_STATEFUL_SOAK": "1", "SYNC_STATEFUL_EXAMPLES": "20", "SYNC_STATEFUL_STEPS": "40"}


@dataclass(frozen=True)
class Trial:
    name: str
    test: str
    env: dict[str, str]

    def command(self, log: str = "") -> str:
        env = dict(self.env)
        blob = REPRODUCE.search(log)
        if blob:
            env["SYNC_STATEFUL_REPRODUCE"] = f"'{blob.group(1)}'"
        settings = " ".join(f"{k}={v}" for k, v in env.items())
        return f"{settings} .venv/bin/python -m pytest -x -q -s {self.test}"


def trials(seed: int) -> list[Trial]:
    return [
        Trial(
            "crash",
            "tests/reliability/test_crashes.py",
            {"SYNC_CRASH_SEED": str(seed), "SYNC_CRASH_KILLS": str(CRASH_KILLS)},
        ),
        Trial("stateful", "tests/test_engine_stateful.py", {**STATEFUL, "SYNC_STATEFUL_TIMEOUT_S": "3600"}),
    ]


def run(trial: Trial, log: Path) -> tuple[bool, float]:
    started = time.monotonic()
    with log.open("w") as out:
        done = subprocess.run(
            [sys.executable, "-m", "pytest", "-x", "-q", "-s", "--timeout=3600", "-p", "no:cacheprovider", trial.test],
            cwd=ROOT,
            env={**os.environ, **trial.env},
            stdout=out,
            stderr=subprocess.STDOUT,
            check=False,
        )
    return done.returncode == 0, time.monotonic() - started


def write_result(minutes: float, ran: list[dict[str, Any]]) -> None:
    git = shutil.which("git") or "git"
    commit = subprocess.run([git, "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    dirty = subprocess.run([git, "status", "--porcelain", "sync"], cwd=ROOT, capture_output=True, text=True)
    result = {
        "commit": commit.stdout.strip() + ("+changes" if dirty.stdout.strip() else ""),
        "finished": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "minutes": minutes,
        "machine": f"{os.cpu_count()} cores, Python {sys.version.split()[0]}",
        "rounds": ran,
    }
    RESULT.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {RESULT.relative_to(ROOT)}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.soak", description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=30.0, help="how long to keep starting rounds (default 30)")
    minutes = parser.parse_args(argv).minutes
    LOGS.mkdir(parents=True, exist_ok=True)
    ends = time.monotonic() + minutes * 60
    rounds = failures = 0
    ran: list[dict[str, Any]] = []
    print(f"soak for {minutes:g} minutes; logs in {LOGS.relative_to(ROOT)}/", flush=True)
    while time.monotonic() < ends:
        rounds += 1
        seed = random.SystemRandom().randrange(1, 2**31)
        for trial in trials(seed):
            log = LOGS / f"round-{rounds}-{trial.name}.log"
            ok, seconds = run(trial, log)
            summary = next((line for line in reversed(log.read_text().splitlines()) if line.strip()), "")
            outcome = "passed" if ok else "FAILED"
            seeded = f" (seed {seed})" if "SYNC_CRASH_SEED" in trial.env else " (fresh Hypothesis randomness)"
            print(f"round {rounds} {trial.name}{seeded}: {outcome} in {seconds:.0f} s — {summary}")
            detail = [line for line in log.read_text().splitlines() if line.startswith("crash test")]
            for line in detail:
                print(f"    {line}")
            ran.append(
                {
                    "round": rounds,
                    "trial": trial.name,
                    "settings": trial.env,
                    "passed": ok,
                    "seconds": round(seconds),
                    "summary": summary.strip("= "),
                    "detail": detail,
                }
            )
            if not ok:
                failures += 1
                again = trial.command(log.read_text())
                print(f"    run it again: {again}   (output: {log.relative_to(ROOT)})", flush=True)
    print(f"soak done: {rounds} round(s), {failures} failure(s)")
    write_result(minutes, ran)
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
