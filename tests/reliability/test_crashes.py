"""Crash tests: `python -m sync full-copy` and `python -m sync run --once` as subprocesses, killed
with SIGKILL at seeded random points and started again, until each finishes on its own; Marketo
at its default concurrency, the emulators as hostile as the services may be (activities repeated
across pages and without ids, Dataverse deltas holding a row once per change).

1. The contacts' first copy, killed within a page of its checkpoint's moves: every contact has
   exactly one person and one link; the checkpoint, sampled throughout, never went backwards;
   Marketo was written at most one page (ten calls of 300) more per crash than a clean copy.
2. Rounds of work on both sides (creates, edits, deletes and lead qualifications in Dynamics;
   edits and deletions in Marketo: tests/reliability/workload.py), each followed by every
   object's run, killed a third of the time while it starts and otherwise a moment after one of
   its first checkpoint moves — so between a Dynamics write and the person stream's checkpoint
   as anywhere else — until at least SYNC_CRASH_KILLS (40) kills in all. Afterwards nothing is
   lost or duplicated, every field holds what the policy says, and one more cycle writes
   nothing on either side.
The next process takes the dead one's lease at once (see sync/store/holders.py), as a restarted
Functions worker would.
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
from typing import Final

import pytest

from emulators.launch import RunningEmulator
from sync.engine.cursor import ObjectCursor
from sync.objects import Direction, SyncObject
from sync.settings import load_settings
from sync.store import SyncStore
from sync.store.checkpoints import Checkpoint, Phase
from tests.cli_support import cli_environment, run_sync_cli
from tests.emulator_support import control
from tests.reliability.workload import BothSides, Round
from tests.sync_support import sync_env

SEED: Final = int(os.environ.get("SYNC_CRASH_SEED", "20261122"))
CONTACTS: Final = 7500  # three pages of 3,000 (ten concurrent calls of 300)
LEADS: Final = 150
ROUND_SIZE: Final = 60  # changes on both sides between two cycles
PAGE_WRITES: Final = 10  # Marketo calls that push one page (3,000 persons, ten calls)
MIN_KILLS: Final = int(os.environ.get("SYNC_CRASH_KILLS", "40"))  # `make soak` asks for more
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


@dataclass
class StoreWatch:
    """Counts the checkpoint moves of every object, sampled every 20 ms from Azurite: the clock a
    kill is timed by, so that kills land while the work is done, not only while a process starts."""

    store: SyncStore
    moves: int = 0
    _etags: dict[tuple[str, str], str | None] = field(default_factory=dict)

    def sample(self) -> None:
        for checkpoint in self.store.checkpoints.list():
            key = (checkpoint.object.value, checkpoint.direction.value)
            if self._etags.get(key) != checkpoint.etag:
                self._etags[key] = checkpoint.etag
                self.moves += 1


def kill_at_random(
    args: list[str], env: dict[str, str], cwd: Path, watch: StoreWatch, rng: random.Random, kills: int
) -> int:
    """Start the command and SIGKILL it `kills` times: a third of them during start-up, the rest
    a moment after a random one of its first checkpoint moves (a start that finishes first ends
    the round early); then let one finish. Returns the kills made."""
    made = 0
    for _ in range(kills):
        watch.sample()
        process, moves = _start(args, env, cwd), watch.moves
        during_startup = rng.random() < 1 / 3
        wanted, delay = rng.randint(1, 6), rng.uniform(0.0, 0.3) if not during_startup else rng.uniform(0.3, 1.5)
        while process.poll() is None and not during_startup and watch.moves - moves < wanted:
            watch.sample()
            time.sleep(0.02)
        ends = time.monotonic() + delay
        while process.poll() is None and time.monotonic() < ends:
            time.sleep(0.005)
        if process.poll() is not None:
            out, err = process.communicate()
            assert process.returncode == 0, f"{args} failed on its own:\n{out}\n{err}"
            return made
        process.send_signal(signal.SIGKILL)
        process.wait()
        made += 1
    done = run_sync_cli(args, cwd, env)
    assert done.returncode == 0, f"{args} failed after {made} kills:\n{done.stdout}\n{done.stderr}"
    return made


COPY_ARGS: Final = ["full-copy"]
RUN_ARGS: Final = ["run", "--once"]


def _clean_copy_writes(
    start_dataverse: Callable[..., RunningEmulator],
    start_marketo: Callable[..., RunningEmulator],
    storage_connection: str,
    table_prefix: str,
    cwd: Path,
) -> int:
    """Marketo writes of the contacts' full copy run without interruption on the same data."""
    dataverse, marketo = start_dataverse(), start_marketo(time_scale=100)  # its 20-s window is 0.2 s, as ours
    env = sync_env(dataverse, marketo, storage_connection, f"{table_prefix}clean")
    control(dataverse, "POST", "seed", {"counts": {"contact": CONTACTS}, "seed": SEED})
    assert run_sync_cli(["full-copy", "--object", "person"], cwd, env).returncode == 0
    before = _marketo_writes(marketo)
    done = run_sync_cli(["full-copy", "--object", "contact"], cwd, env)
    assert done.returncode == 0, done.stderr
    SyncStore.open(storage_connection, f"{table_prefix}clean").tables.drop_all()
    return _marketo_writes(marketo) - before


@pytest.mark.timeout(600)  # forty-odd processes started and killed: about four minutes on two busy cores
def test_killed_copies_and_runs_both_ways_lose_and_duplicate_nothing(
    start_dataverse: Callable[..., RunningEmulator],
    start_marketo: Callable[..., RunningEmulator],
    storage_connection: str,
    table_prefix: str,
    store: SyncStore,
    tmp_path: Path,
) -> None:
    clean_writes = _clean_copy_writes(start_dataverse, start_marketo, storage_connection, table_prefix, tmp_path)
    dataverse, marketo = start_dataverse(), start_marketo(time_scale=100)  # its 20-s window is 0.2 s, as ours
    env = sync_env(dataverse, marketo, storage_connection, table_prefix)  # Marketo's concurrency at its default
    control(marketo, "POST", "activity-commits", {"repeat_share": 0.2, "ids": "absent", "seed": SEED})
    control(dataverse, "POST", "change-tracking", {"repeats": True})  # as hostile as the services may be
    rng = random.Random(SEED)
    watch = CheckpointWatch(store)
    control(dataverse, "POST", "seed", {"counts": {"contact": CONTACTS}, "seed": SEED})
    assert run_sync_cli(["full-copy", "--object", "person"], tmp_path, env).returncode == 0

    with watch.watching():  # the first copy of the contacts, killed within a page of its checkpoint's moves
        before = _marketo_writes(marketo)
        copy_kills, _ = run_with_kills(["full-copy", "--object", "contact"], env, tmp_path, watch, rng)
        copy_writes = _marketo_writes(marketo) - before
    assert _assert_each_contact_once(dataverse, marketo, store) == CONTACTS
    _assert_never_backwards(watch.seen)
    assert copy_writes - clean_writes <= copy_kills * PAGE_WRITES, (copy_writes, clean_writes, copy_kills)

    world = BothSides(load_settings(env), dataverse, marketo, rng)
    try:
        for _ in range(LEADS):
            world.create("lead")
        kills, stores = copy_kills, StoreWatch(store)
        assert run_sync_cli(COPY_ARGS, tmp_path, env).returncode == 0  # every other object's first copy
        rounds: list[tuple[Round, int]] = []
        while kills < MIN_KILLS:  # work on both sides, then every object's run, killed at random, again and again
            done = world.work(ROUND_SIZE)
            made = kill_at_random(RUN_ARGS, env, tmp_path, stores, rng, rng.randint(4, 8))
            kills += made
            world.settle()
            rounds.append((done, made))
        assert run_sync_cli(RUN_ARGS, tmp_path, env).returncode == 0  # the echoes of the last writes, read back
        checked = world.check()
        quiet = (_marketo_writes(marketo), control(dataverse, "GET", "stats")["writes"])
        assert run_sync_cli(RUN_ARGS, tmp_path, env).returncode == 0
        assert (_marketo_writes(marketo), control(dataverse, "GET", "stats")["writes"]) == quiet, "a quiet cycle wrote"
    finally:
        world.close()
    print(
        f"crash test (seed {SEED}): copy {copy_kills} kills, {copy_writes - clean_writes} extra writes; "
        f"{len(rounds)} rounds both ways, {kills - copy_kills} kills; checked {checked}"
    )
    assert kills >= MIN_KILLS
