"""`python -m bench lag --persons N --changes K --out FILE`: how long a change takes to show on
the other side, by the timers alone and by webhooks, alone and while a full copy of N persons
runs at Marketo's ceiling.

The sync runs as the Functions host would run it, in processes of its own: `python -m sync run
--listen PORT --object person --object contact` (one-minute timers, the change routes, the queue
polled every 2 s) and, for the copy, `python -m sync full-copy --object lead` (the backfill
lane, as the Durable orchestration's activities are; through REST pushes, `--path rest`: Marketo's
bulk import would make it ~100 calls a million, no load at all). Emulators with realistic latency and
Marketo's real limits (100 calls / 20 s, 10 at once), shared by both processes.

Each phase makes K edits, one every `SPACING_S` (not a divisor of a minute, so edits fall all
over the timers' period), alternating sides, each on a contact no other edit touches, and polls
the other side through the emulators' control API (which costs the sync nothing) until each
shows. Phases: timer alone; the lead copy starts; timer under the copy; webhooks registered
(`setup-webhooks`, a Marketo trigger campaign); webhook under the copy; the copy ends; webhook
alone. Marketo calls per change are counted in the alone phases from Marketo's own counters,
less the editors' calls: everything the sync spent while the phase ran, timers included. Two
burst phases (before the copy by the timers, at the end by webhooks) make `--burst` edits at
once, half on each side (a mass update), and count the same way: what a burst of webhooks costs
against what the timers' batching costs.
"""

from __future__ import annotations

import argparse
import os
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.results_file import write_result
from bench.stack import ROOT, Stack, stack
from sync.connectors.dataverse.connection import DataverseConnection
from sync.connectors.marketo.connection import MarketoConnection
from sync.settings import load_settings

SPACING_S = 3.7
TIMEOUT_S = 240.0
BEGAN = time.monotonic()
GOALS = {"webhook_p95_s": 10.0, "timer_p95_s": 75.0, "under_copy_factor": 1.25}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _sync(env: dict[str, str], *args: str, background: bool = False, log: Path | None = None) -> Any:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DATAVERSE_", "MARKETO_", "SYNC_"))}
    command = [sys.executable, "-m", "sync", *args]
    if background:
        out = subprocess.PIPE if log else subprocess.DEVNULL
        process = subprocess.Popen(
            command, cwd=ROOT, env={**clean, **env}, stdout=out, stderr=subprocess.STDOUT, text=True
        )
        if log:
            threading.Thread(target=_stamped, args=(process, log), daemon=True).start()
        return process
    return subprocess.run(command, cwd=ROOT, env={**clean, **env}, capture_output=True, text=True, check=True)


def _stamped(process: subprocess.Popen[str], log: Path) -> None:
    """The process's lines, each with the seconds since the bench began (the edits' clock), so a
    phase's lags can be read against what the sync was doing."""
    assert process.stdout is not None
    with log.open("w") as out:
        for line in process.stdout:
            out.write(f"{time.monotonic() - BEGAN:9.1f} {line}")
            out.flush()


def _stop(process: subprocess.Popen[Any]) -> None:
    process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=120)
    except subprocess.TimeoutExpired:
        process.kill()


class Edits:
    """People editing contacts on both sides, on connections of their own."""

    def __init__(self, running: Stack, trail: Path) -> None:
        settings = load_settings(running.env)
        self.running, self.trail = running, trail
        self.dynamics = DataverseConnection.from_settings(settings.dataverse)
        self.marketo = MarketoConnection.from_settings(settings.marketo)
        self.table = self.dynamics.metadata.describe("contact")
        persons = running.control("marketo", "GET", "data/lead?dynamicsEntityType=contact")["rows"]
        self.unused = [(str(p["dynamicsId"]), int(p["id"])) for p in persons]
        self.marketo_calls = 0

    def phase(self, name: str, count: int) -> dict[str, Any]:
        """K edits, alternating sides; the seconds each took to show on the other side."""
        pending: dict[int, tuple[str, str, int, str, float]] = {}
        lags: dict[str, list[float]] = {"dynamics": [], "marketo": []}
        started = time.monotonic()
        self._note(f"phase {name}: {count} edits")
        for n in range(count):
            contact, person = self.unused.pop()
            value = f"{name}-{n}"
            side = "dynamics" if n % 2 == 0 else "marketo"
            if side == "dynamics":
                self.dynamics.writer.update(self.table, contact, {"jobtitle": value})
            else:
                self.marketo.persons.upsert([{"id": person, "title": value}], action="updateOnly", lookup_field="id")
                self.marketo_calls += 1
            pending[n] = (side, contact, person, value, time.monotonic())
            self._note(f"edit {value} in {side}")
            next_edit = started + (n + 1) * SPACING_S
            while time.monotonic() < next_edit:
                self._arrivals(pending, lags)
                time.sleep(0.25)
        deadline = time.monotonic() + TIMEOUT_S
        while pending and time.monotonic() < deadline:
            self._arrivals(pending, lags)
            time.sleep(0.25)
        return _summary(lags, count, len(pending))

    def burst(self, name: str, count: int) -> dict[str, Any]:
        """`count` edits at once, half on each side (a mass update: one Marketo call for its half,
        a Dataverse update per record); the seconds each took to show on the other side."""
        pending: dict[int, tuple[str, str, int, str, float]] = {}
        picked = [self.unused.pop() for _ in range(count)]
        at = time.monotonic()
        marketo_half = []
        for n, (contact, person) in enumerate(picked):
            value = f"{name}-{n}"
            if n % 2 == 0:
                self.dynamics.writer.update(self.table, contact, {"jobtitle": value})
                pending[n] = ("dynamics", contact, person, value, at)
            else:
                marketo_half.append({"id": person, "title": value})
                pending[n] = ("marketo", contact, person, value, at)
        self.marketo.persons.upsert(marketo_half, action="updateOnly", lookup_field="id")
        self.marketo_calls += 1
        self._note(f"burst {name}: {count} edits")
        lags: dict[str, list[float]] = {"dynamics": [], "marketo": []}
        deadline = time.monotonic() + TIMEOUT_S
        while pending and time.monotonic() < deadline:
            self._arrivals(pending, lags)
            time.sleep(0.25)
        return _summary(lags, count, len(pending))

    def _note(self, line: str) -> None:
        with self.trail.open("a") as out:
            out.write(f"{time.monotonic() - BEGAN:9.1f} {line}\n")

    def _arrivals(self, pending: dict[int, tuple[str, str, int, str, float]], lags: dict[str, list[float]]) -> None:
        if not pending:
            return
        now = time.monotonic()
        persons = ",".join(str(p) for side, _, p, _, _ in pending.values() if side == "dynamics")
        contacts = ",".join(c for side, c, _, _, _ in pending.values() if side == "marketo")
        titles = {}
        if persons:
            rows = self.running.control("marketo", "GET", f"data/lead?id={persons}")["rows"]
            titles.update({str(r["id"]): r.get("title") for r in rows})
        if contacts:
            rows = self.running.control("dataverse", "GET", f"data/contact?contactid={contacts}")["rows"]
            titles.update({str(r["contactid"]): r.get("jobtitle") for r in rows})
        for n, (side, contact, person, value, at) in list(pending.items()):
            if titles.get(str(person) if side == "dynamics" else contact) == value:
                lags[side].append(now - at)
                self._note(f"arrived {value} from {side} after {now - at:.1f} s")
                del pending[n]

    def close(self) -> None:
        self.dynamics.close()
        self.marketo.close()


def _summary(by_side: dict[str, list[float]], count: int, missing: int) -> dict[str, Any]:
    ordered = sorted(lag for lags in by_side.values() for lag in lags)
    p95 = statistics.quantiles(ordered, n=20, method="inclusive")[18] if len(ordered) > 1 else None
    return {
        "changes": count,
        "arrived": len(ordered),
        "not_arrived_in_s": {"count": missing, "timeout_s": TIMEOUT_S} if missing else None,
        "p50_s": round(statistics.median(ordered), 2) if ordered else None,
        "p95_s": round(p95, 2) if p95 is not None else None,
        "max_s": round(ordered[-1], 2) if ordered else None,
        "by_side": {
            side: {"p50_s": round(statistics.median(lags), 2), "max_s": round(max(lags), 2)}
            for side, lags in by_side.items()
            if lags
        },
    }


def _marketo_calls(running: Stack) -> int:
    return int(running.control("marketo", "GET", "stats")["total"])


def _spent(running: Stack, edits: Edits, phase: Callable[[], dict[str, Any]]) -> tuple[dict[str, Any], int]:
    """The phase's lags, and the Marketo calls the sync made while it ran (Marketo's own count,
    less the editors' calls)."""
    calls, own = _marketo_calls(running), edits.marketo_calls
    lags = phase()
    return lags, _marketo_calls(running) - calls - (edits.marketo_calls - own)


def _settled(running: Stack, quiet_s: float = 10.0, at_most_s: float = 240.0) -> None:
    """Wait until the sync makes no Marketo call for `quiet_s` (its timers idle between ticks),
    so a phase's count holds its own changes, not the tail of the one before."""
    deadline = time.monotonic() + at_most_s
    calls, since = _marketo_calls(running), time.monotonic()
    while time.monotonic() < deadline and time.monotonic() - since < quiet_s:
        time.sleep(1)
        now = _marketo_calls(running)
        if now != calls:
            calls, since = now, time.monotonic()


def _register_webhooks(running: Stack, port: int) -> None:
    _sync(running.env, "setup-webhooks", "--url", f"http://127.0.0.1:{port}/api/changes/dataverse")
    campaign = {
        "url": f"http://127.0.0.1:{port}/api/changes/marketo",
        "template": '{"personId": {{lead.Id}}}',
        "headers": {"X-Sync-Secret": running.env["SYNC_WEBHOOK_SECRET"]},
        "triggers": ["changed"],  # as docs/setup.md says: Data Value Changes only
        "fields": ["title", "firstName", "lastName", "email", "phone"],
    }
    running.control("marketo", "POST", "webhooks", campaign)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench lag", description=__doc__)
    parser.add_argument("--persons", type=int, default=400_000, help="leads whose full copy runs under the copy phases")
    parser.add_argument("--changes", type=int, default=20, help="edits per phase")
    parser.add_argument("--burst", type=int, default=100, help="edits made at once in each burst phase")
    parser.add_argument("--contacts", type=int, default=500, help="contacts the edits touch (each at most once)")
    parser.add_argument(
        "--latency", choices=("realistic", "pessimistic"), default="realistic", help="the emulators' latency profile"
    )
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    if args.contacts < 4 * args.changes + 2 * args.burst:
        parser.error("--contacts must be at least 4 × --changes + 2 × --burst: every edit takes a contact of its own")
    seed = {"systemuser": 5, "team": 1, "account": 20, "contact": args.contacts, "lead": args.persons}
    result: dict[str, Any] = {"job": "lag", "latency": args.latency, "seed": seed, "spacing_s": SPACING_S}
    result["goals"] = GOALS
    secret, key = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    with stack(seed, latency=args.latency, SYNC_WEBHOOK_SECRET=secret, SYNC_DATAVERSE_WEBHOOK_KEY=key) as running:
        running.run_sync("full-copy", "systemuser", "team", "account", "person", "contact")
        port = _free_port()
        logs = Path(tempfile.mkdtemp(prefix="sync-lag-"))
        result["logs"] = str(logs)
        edits = Edits(running, logs / "lag-edits.log")
        host = _sync(
            running.env,
            "run",
            "--listen",
            str(port),
            "--object",
            "person",
            "--object",
            "contact",
            background=True,
            log=logs / "lag-host.log",
        )
        copy: subprocess.Popen[Any] | None = None
        try:
            time.sleep(5)
            result["timer"], timer_calls = _spent(running, edits, lambda: edits.phase("timer", args.changes))
            timer_burst, timer_burst_calls = _spent(running, edits, lambda: edits.burst("timer-burst", args.burst))
            burst: dict[str, Any] = {"changes": args.burst, "timer": timer_burst}
            copy_started = time.monotonic()
            copy = _sync(
                running.env,
                "full-copy",
                "--object",
                "lead",
                "--path",
                "rest",
                background=True,
                log=logs / "lag-copy.log",
            )
            edits._note("copy started")
            time.sleep(10)  # the copy reaches Marketo's ceiling
            under: dict[str, Any] = {"timer": edits.phase("timer-under-copy", args.changes)}
            _register_webhooks(running, port)
            under["webhook"] = edits.phase("webhook-under-copy", args.changes)
            under["copy_still_running_at_end"] = copy.poll() is None
            result["under_copy"] = under
            copy.wait()
            result["copy_s"] = round(time.monotonic() - copy_started, 1)
            _settled(running)  # the person stream has read past the copy's new persons
            result["webhook"], webhook_calls = _spent(running, edits, lambda: edits.phase("webhook", args.changes))
            result["marketo_calls_per_change"] = {
                "timer": round(timer_calls / args.changes, 2),
                "webhook": round(webhook_calls / args.changes, 2),
            }
            burst["webhook"], webhook_burst_calls = _spent(
                running, edits, lambda: edits.burst("webhook-burst", args.burst)
            )
            burst["marketo_calls_per_change"] = {
                "timer": round(timer_burst_calls / args.burst, 2),
                "webhook": round(webhook_burst_calls / args.burst, 2),
            }
            result["burst"] = burst
        finally:
            if copy is not None and copy.poll() is None:
                _stop(copy)
            _stop(host)
            edits.close()
    result["met"] = _met(result)
    suffix = "" if args.latency == "realistic" else f"_{args.latency}"
    return write_result(result, args.out, f"lag_{args.persons}{suffix}.json")


def _met(result: dict[str, Any]) -> dict[str, bool | None]:
    def p95(path: dict[str, Any]) -> float | None:
        value = path.get("p95_s")
        return float(value) if value is not None and not path.get("not_arrived_in_s") else None

    timer, webhook = p95(result["timer"]), p95(result["webhook"])
    under_timer, under_webhook = p95(result["under_copy"]["timer"]), p95(result["under_copy"]["webhook"])
    calls, burst_calls = result["marketo_calls_per_change"], result["burst"]["marketo_calls_per_change"]
    factor = GOALS["under_copy_factor"]
    return {
        "webhook_p95": webhook is not None and webhook <= GOALS["webhook_p95_s"],
        "timer_p95": timer is not None and timer <= GOALS["timer_p95_s"],
        "timer_under_copy": None if not (timer and under_timer) else under_timer <= factor * max(timer, 1.0),
        "webhook_under_copy": None if not (webhook and under_webhook) else under_webhook <= factor * max(webhook, 1.0),
        "webhook_calls_per_change": calls["webhook"] <= calls["timer"],
        "webhook_calls_per_change_in_a_burst": burst_calls["webhook"] <= burst_calls["timer"],
        "copy_ran_through_the_copy_phases": bool(result["under_copy"]["copy_still_running_at_end"]),
    }
