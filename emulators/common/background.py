"""One worker thread running jobs in order, for what a service does after answering: Dataverse's
asynchronous service delivering webhooks, a Marketo trigger campaign calling one. Started at the
first job; `pending` and `idle` let tests and the demo wait for the jobs queued so far.

A job's `delay_s` counts from when it was put, not from when the job before it ended: it is how
long the service takes to pick a job up (the latency profile's figure), not a rate. Fifty records
changed at once are announced about one delay later, together, as the real services do with
their pools of workers; not one delay after another (which would make a burst trickle in over
minutes)."""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from typing import Generic, TypeVar

Job = TypeVar("Job")


class BackgroundJobs(Generic[Job]):
    def __init__(self, name: str, run: Callable[[Job], None]) -> None:
        self._name, self._run_one = name, run
        self._jobs: queue.Queue[tuple[float, Job] | None] = queue.Queue()
        self._worker: threading.Thread | None = None

    def put(self, job: Job, delay_s: float = 0.0) -> None:
        """Run `job` once the jobs before it ran and `delay_s` has passed since now."""
        if self._worker is None or not self._worker.is_alive():
            self._worker = threading.Thread(target=self._run, name=self._name, daemon=True)
            self._worker.start()
        self._jobs.put((time.monotonic() + delay_s, job))

    def stop(self) -> None:
        if self._worker is not None and self._worker.is_alive():
            self._jobs.put(None)

    def _run(self) -> None:
        while True:
            item = self._jobs.get()
            if item is None:
                return
            due, job = item
            try:
                time.sleep(max(0.0, due - time.monotonic()))
                self._run_one(job)
            finally:
                self._jobs.task_done()

    @property
    def pending(self) -> int:
        return int(self._jobs.unfinished_tasks)

    def idle(self, timeout_s: float = 30.0) -> bool:
        """Whether every job queued so far was run within `timeout_s`."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self._jobs.unfinished_tasks == 0:
                return True
            time.sleep(0.02)
        return False
