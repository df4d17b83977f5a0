"""Owners of leases and Marketo call shares are "<host>:<pid>[:...]" so that a process can tell
whether a holder on its own host is dead: its process is gone (killed, out of memory, a worker
the Functions host restarted). Such a holder is not waited for. Anything else — another host,
a pid that exists (perhaps reused by an unrelated process), a name that does not parse — may be
alive and is waited for until its expiry: the check errs towards waiting, never towards two
holders at once.
"""

from __future__ import annotations

import os
import socket


def process_owner() -> str:
    """This process's owner name."""
    return f"{socket.gethostname()}:{os.getpid()}"


def holder_gone(owner: str) -> bool:
    """True only when `owner` ran on this host and its process no longer exists."""
    host, _, rest = owner.partition(":")
    pid_text = rest.partition(":")[0]
    if host != socket.gethostname() or not pid_text.isdigit():
        return False
    try:
        os.kill(int(pid_text), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False  # alive, someone else's
    return False
