"""The demo's last act: changes in seconds. `python -m sync setup-webhooks` registers the
Dataverse webhook, a Marketo trigger campaign calls the Marketo change route, and `python -m sync
run --listen` serves both routes and drains the change queue as the Functions host would. One
edit on each side is timed from the save to the moment the other side shows it, and the run's
own log says which path carried it (a `changes` line is the queue's drain; a timer run prints
one line per object)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import requests

from demo.edits import Editor
from demo.report import marketo_rows
from sync.store.change_queue import ChangeQueue

ROOT = Path(__file__).resolve().parent.parent
WAIT_S = 60.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _until(seen: Any, timeout_s: float = WAIT_S) -> float | None:
    """Seconds until `seen()` is true, or None after `timeout_s`."""
    started = time.monotonic()
    while time.monotonic() - started < timeout_s:
        if seen():
            return time.monotonic() - started
        time.sleep(0.25)
    return None


def _campaign(marketo: dict[str, Any], url: str, secret: str) -> None:
    """What an admin builds in Marketo (docs/setup.md): Data Value Changes → Call Webhook with
    {"personId": {{lead.Id}}} and the X-Sync-Secret header."""
    body = {
        "url": url,
        "template": '{"personId": {{lead.Id}}}',
        "headers": {"X-Sync-Secret": secret},
        "triggers": ["changed"],
    }
    answer = requests.post(f"{marketo['url']}/_emulator/webhooks", json=body, verify=marketo["ca_file"], timeout=10)
    answer.raise_for_status()


def _pending(dataverse: dict[str, Any], marketo: dict[str, Any]) -> int:
    """Webhook calls both emulators still have to make."""
    return sum(
        int(requests.get(f"{info['url']}/_emulator/webhooks", verify=info["ca_file"], timeout=10).json()["pending"])
        for info in (dataverse, marketo)
    )


def show_webhooks(
    env: dict[str, str], editor: Editor, dataverse: dict[str, Any], marketo: dict[str, Any], say: Any, sync: Any
) -> bool:
    port = _free_port()
    route = f"http://127.0.0.1:{port}/api/changes"
    if sync(env, "setup-webhooks", "--url", f"{route}/dataverse").returncode != 0:
        return False
    _campaign(marketo, f"{route}/marketo", env["SYNC_WEBHOOK_SECRET"])
    say(f"\n$ python -m sync run --listen {port}   (in the background: the timers, the change routes, the queue)")
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DATAVERSE_", "MARKETO_", "SYNC_"))}
    (ROOT / ".demo").mkdir(exist_ok=True)
    log = (ROOT / ".demo" / "run-listen.log").open("w+")
    runner = subprocess.Popen(
        [sys.executable, "-m", "sync", "run", "--listen", str(port)],
        cwd=ROOT,
        env={**clean, **env},
        stdout=log,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        if _until(lambda: "change routes at" in Path(log.name).read_text(), 30) is None:
            say("the run did not start its change routes; see .demo/run-listen.log")
            return False
        contact = editor.next_id("contact")
        person = editor.person_id(contact)
        editor.in_dynamics("contact", contact, {"jobtitle": "Head of Webhooks"})
        took = _until(lambda: _title(marketo, person) == "Head of Webhooks")
        say(f"  - a contact's job title saved in Dynamics showed in Marketo after {_seconds(took)}")
        other = editor.next_id("contact")  # one the sync has not just written (taken for its echo)
        editor.in_marketo(other, city="Webhook City")
        took = _until(lambda: _city(editor, other) == "Webhook City")
        say(f"  - the person's city saved in Marketo showed in Dynamics after {_seconds(took)}")
        # the sync's own writes are announced back too: let the run drain those echoes before it stops
        queue = ChangeQueue.open(env["SYNC_STORAGE_CONNECTION"], env.get("SYNC_CHANGE_QUEUE", "sync-changes"))
        _until(lambda: _pending(dataverse, marketo) == 0 and queue.depth() == (0, 0), 30)
    finally:
        runner.send_signal(signal.SIGINT)
        try:
            runner.wait(timeout=60)
        except subprocess.TimeoutExpired:
            runner.kill()
        log.seek(0)
        carried = [line.rstrip() for line in log if line.startswith("changes ")]
        log.close()
    say("  The run's log: " + ("; ".join(carried) if carried else "no change came through the queue"))
    return bool(carried)


def _seconds(took: float | None) -> str:
    return f"{took:.1f} s" if took is not None else f"more than {WAIT_S:.0f} s (not seen)"


def _title(marketo: dict[str, Any], person: int) -> Any:
    """Read through the emulator's control API: polling costs none of the sync's Marketo calls."""
    return next((p.get("title") for p in marketo_rows(marketo, "lead") if p["id"] == person), None)


def _city(editor: Editor, contact: str) -> Any:
    row = editor.dynamics.client.get_json(f"contacts({contact})", params={"$select": "address1_city"})
    return row.get("address1_city")
