"""The person stream's next activity pages, read while the one before is applied.

Marketo scans 300 activities of every type per call (Adobe KB ka-29362), so while a copy fills
the log with its new persons (~500 a second) the stream must read a page every 0.6 s just to
keep up, and each call waits ~0.3 s for Marketo. A stream that reads a page, applies it, then
reads the next never caught up: every merge a marketer's edit needs (a person read, a Dynamics
write: a second or more) stopped the reading too, and the edits behind a copy's first minute
arrived 70–90 s late (bench lag, session 13). So one thread reads on, up to `AHEAD_PAGES`
pages ahead, while the run applies them in order: the checkpoint still moves a page at a time,
only after that page is applied, so a failure re-reads at most the pages read ahead (calls, no
records: each page's changes are applied once, from the checkpoint's page on).
"""

from __future__ import annotations

import contextvars
import queue
import threading
from collections.abc import Callable
from typing import Final

from sync.connectors.marketo.activities import ActivityPage

AHEAD_PAGES: Final = 10  # ~3 s of reading at Marketo's ~0.3 s a page: longer than most merges take


class ReadAhead:
    """Pages from `token` on, in order; a read's failure is raised by `next` in its place."""

    def __init__(self, read: Callable[[str], ActivityPage], token: str, depth: int = AHEAD_PAGES) -> None:
        self._pages: queue.Queue[ActivityPage | Exception] = queue.Queue(depth)
        self._stop = threading.Event()
        context = contextvars.copy_context()  # the run's deadline and Marketo lane go with the reads
        self._thread = threading.Thread(
            target=context.run, args=(self._read_on, read, token), name="read-ahead", daemon=True
        )
        self._thread.start()

    def _read_on(self, read: Callable[[str], ActivityPage], token: str) -> None:
        while not self._stop.is_set():
            try:
                page = read(token)
            except Exception as error:  # the applier raises it, in order
                self._put(error)
                return
            if not self._put(page) or not page.more:
                return
            token = page.next_token

    def _put(self, item: ActivityPage | Exception) -> bool:
        while not self._stop.is_set():
            try:
                self._pages.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def next(self) -> ActivityPage:
        """The next page in order (waits for its read); the read's error if it failed."""
        while True:
            try:
                item = self._pages.get(timeout=0.1)
            except queue.Empty:
                if not self._thread.is_alive() and self._pages.empty():
                    raise RuntimeError("no page left to read ahead: the last one said there were no more") from None
                continue
            if isinstance(item, Exception):
                raise item
            return item

    def close(self) -> None:
        """Stop reading; waits for a read under way (bounded by the run's deadline)."""
        self._stop.set()
        self._thread.join()
