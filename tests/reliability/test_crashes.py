"""Crash tests: `python -m sync full-copy` and `python -m sync run --once` as subprocesses, killed
with SIGKILL at seeded random points and started again, until each finishes on its own.

Afterwards every Dynamics contact has exactly one Marketo person (by its Dynamics id) and one
link; the checkpoint, sampled throughout, never went backwards; and Marketo was written at most
one page more per crash than a clean run writes (pages are 300 persons here, one Marketo call
each): the page being written, as the page journal keeps what the page before it must store.
A kill lands while the process signs in, reads a page, pushes it, stores its links or moves the
checkpoint: anywhere, since the moment is random. The next process takes the dead one's lease
at once (see sync/store/leases.py), as a restarted Functions worker would.
"""

from __future__ import annotations

import itertools
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from emulators.launch import RunningEmulator
from sync.engine.cursor import ObjectCursor
from sync.objects import Direction, SyncObject
from sync.store import SyncStore
from sync.store.checkpoints import Checkpoint, Phase
from tests.cli_support import cli_environment, run_sync_cli
from tests.emulator_support import control
from tests.sync_support import sync_env

SEED: Final = int(os.environ.get("SYNC_CRASH_SEED", "20261122"))
CONTACTS: Final = 4500  # fifteen pages of 300
MORE_CONTACTS: Final = 3000  # ten more for each incremental phase
PAGE_WRITES: Final = 1  # Marketo calls that push one page (300 persons, one call)
MIN_KILLS: Final = 20
CONTACT: Final = SyncObject.CONTACT
D2M: Final = Direction.DYNAMICS_TO_MARKETO


def _position(checkpoint: Checkpoint) -> tuple[int, int, int]:
    """Where a checkpoint stands, ordered: phase, rows read by the full copy, delta-link version
    (Dataverse's delta tokens are "<version>!<time>"; a next link mid-read keeps the last)."""
    stream = ObjectCursor.parse(checkpoint.cursor).stream("contact")
    version = 0
    if stream.link and "$deltatoken=" in stream.link:
        version = int(stream.link.split("$deltatoken=", 1)[1].split("%21", 1)[0].split("!", 1)[0])
    return (int(checkpoint.phase is Phase.INCREMENTAL), stream.read, version)


@dataclass
class CheckpointWatch:
    """Samples the contact checkpoint every 20 ms from the test's side of Azurite."""

    store: SyncStore
    seen: list[tuple[int, int, int]] = field(default_factory=list)
    moves: int = 0
    _etag: str | None = None
    _stop: threading.Event = field(default_factory=threading.Event)

    def sample(self) -> None:
        current = self.store.checkpoints.get(CONTACT, D2M)
        if current is None or current.etag == self._etag:
            return
        self._etag = current.etag
        self.moves += 1
        position = _position(current)
        if not self.seen or position != self.seen[-1]:
            self.seen.append(position)

    def run(self) -> None:
        while not self._stop.wait(0.02):
            self.sample()

    @contextmanager
    def watching(self) -> Iterator[CheckpointWatch]:
        thread = threading.Thread(target=self.run, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self._stop.set()
            thread.join()
            self.sample()


def _start(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "sync", *args],
        cwd=cwd,
        env=cli_environment(env),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def run_with_kills(
    args: list[str], env: dict[str, str], cwd: Path, watch: CheckpointWatch, rng: random.Random
) -> tuple[int, str]:
    """Start the command again and again, SIGKILLing each at a random moment — during start-up
    (a third of the time) or within about one page after the checkpoint's next move — until one
    finishes on its own. Returns (kills, the finishing run's stdout)."""
    kills = 0
    for _ in range(60):
        process = _start(args, env, cwd)
        moves = watch.moves
        started = time.monotonic()
        during_startup = rng.random() < 1 / 3
        delay = rng.uniform(0.2, 2.5) if during_startup else rng.uniform(0.0, 0.4)
        while process.poll() is None and not during_startup and watch.moves == moves:
            if time.monotonic() - started > 60:
                break
            time.sleep(0.01)
        anchor = time.monotonic()
        while process.poll() is None and time.monotonic() - anchor < delay:
            time.sleep(0.005)
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
            process.wait()
            kills += 1
            continue
        out, err = process.communicate()
        assert process.returncode == 0, f"{args} failed on its own:\n{out}\n{err}"
        return kills, out
    raise AssertionError(f"{args} never finished in 60 starts")


def _marketo_writes(marketo: RunningEmulator) -> int:
    return int(control(marketo, "GET", "stats").get("writes", 0))


def _assert_each_contact_once(dataverse: RunningEmulator, marketo: RunningEmulator, store: SyncStore) -> int:
    contacts = {r["contactid"].lower() for r in control(dataverse, "GET", "data/contact")["rows"]}
    persons = Counter(
        p["dynamicsId"] for p in control(marketo, "GET", "data/lead")["rows"] if p.get("dynamicsId") is not None
    )
    duplicated = {k: n for k, n in persons.items() if n > 1}
    assert not duplicated, f"persons written twice: {list(duplicated.items())[:5]}"
    assert set(persons) == contacts, f"missing {len(contacts - set(persons))}, extra {len(set(persons) - contacts)}"
    links = Counter(link.dynamics.id.lower() for link in store.links.iter_table("contact") if not link.deleted)
    assert set(links) == contacts and max(links.values()) == 1
    return len(contacts)


def _assert_never_backwards(seen: list[tuple[int, int, int]]) -> None:
    for before, after in itertools.pairwise(seen):
        assert after >= before, f"the checkpoint went back from {before} to {after} (in {seen})"


@dataclass(frozen=True)
class Workload:
    """One command run to completion on fresh data: the full copy, or an incremental run after
    `seed` added contacts."""

    args: tuple[str, ...]
    contacts: int
    seed: int


COPY: Final = Workload(("full-copy", "--object", "contact"), CONTACTS, SEED)
RUNS: Final = [Workload(("run", "--once", "--object", "contact"), MORE_CONTACTS, SEED + n) for n in (1, 2, 3)]


def _clean_writes(
    start_dataverse: Callable[..., RunningEmulator],
    start_marketo: Callable[..., RunningEmulator],
    storage_connection: str,
    table_prefix: str,
    cwd: Path,
) -> list[int]:
    """Marketo writes of each phase run without interruption on the same data."""
    dataverse, marketo = start_dataverse(), start_marketo(time_scale=100)  # its 20-s window is 0.2 s, as ours
    env = _env(dataverse, marketo, storage_connection, f"{table_prefix}clean")
    writes: list[int] = []
    for phase in [COPY, *RUNS]:
        control(dataverse, "POST", "seed", {"counts": {"contact": phase.contacts}, "seed": phase.seed})
        before = _marketo_writes(marketo)
        done = run_sync_cli(list(phase.args), cwd, env)
        assert done.returncode == 0, done.stderr
        writes.append(_marketo_writes(marketo) - before)
    SyncStore.open(storage_connection, f"{table_prefix}clean").tables.drop_all()
    return writes


def _env(dataverse: RunningEmulator, marketo: RunningEmulator, storage: str, prefix: str) -> dict[str, str]:
    return sync_env(dataverse, marketo, storage, prefix, MARKETO_MAX_CONCURRENCY="1")  # pages of 300: one call


def test_killed_full_copies_and_incremental_runs_lose_and_duplicate_nothing(
    start_dataverse: Callable[..., RunningEmulator],
    start_marketo: Callable[..., RunningEmulator],
    storage_connection: str,
    table_prefix: str,
    store: SyncStore,
    tmp_path: Path,
) -> None:
    clean = _clean_writes(start_dataverse, start_marketo, storage_connection, table_prefix, tmp_path)
    dataverse, marketo = start_dataverse(), start_marketo(time_scale=100)  # its 20-s window is 0.2 s, as ours
    env = _env(dataverse, marketo, storage_connection, table_prefix)
    rng = random.Random(SEED)
    watch = CheckpointWatch(store)
    done: list[dict[str, Any]] = []  # per phase: kills, writes, clean writes
    expected = 0

    with watch.watching():
        for work, clean_writes in zip([COPY, *RUNS], clean, strict=True):
            control(dataverse, "POST", "seed", {"counts": {"contact": work.contacts}, "seed": work.seed})
            expected += work.contacts
            before = _marketo_writes(marketo)
            kills, _ = run_with_kills(list(work.args), env, tmp_path, watch, rng)
            done.append(
                {
                    "command": work.args[0],
                    "kills": kills,
                    "writes": _marketo_writes(marketo) - before,
                    "clean_writes": clean_writes,
                }
            )
            assert _assert_each_contact_once(dataverse, marketo, store) == expected
            if sum(d["kills"] for d in done) >= MIN_KILLS and len(done) >= 2:
                break

    print(f"crash test (seed {SEED}): {done}")
    assert sum(d["kills"] for d in done) >= MIN_KILLS, done
    _assert_never_backwards(watch.seen)
    assert watch.seen[-1][0] == 1 and watch.seen[-1][2] > 0, "the object ended incremental, on a delta link"
    for step in done:  # a crash repeats at most the page being written
        assert step["writes"] - step["clean_writes"] <= step["kills"] * PAGE_WRITES, done
