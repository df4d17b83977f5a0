"""`make demo` runs `python -m demo`: it must keep working, and say only what happened."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_the_demo_copies_carries_both_sides_edits_settles_and_writes_the_status_page() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "demo"], cwd=ROOT, capture_output=True, text=True, timeout=300, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "All checks passed." in out
    preview = out.split("What a first copy would do (nothing was written):")[1].split("$ python -m sync full-copy")[0]
    (contact,) = [line.split() for line in preview.splitlines() if line.strip().startswith("contact ")]
    assert contact[1:5] == ["1,500", "0", "1,499", "1"]  # read, filtered, create, link: the form-filler
    shown = re.search(r"The preview page \(what GET /api/sync/preview\?format=html serves\) is at (\S+)", out)
    assert shown is not None and 'id="preview-contact"' in Path(shown.group(1)).read_text()
    assert "contact          full copy done: 1500 read, 1500 written, 0 unchanged, 0 failed" in out
    assert "1500/1500" in result.stderr  # the progress bars: done / total
    assert "Marketo now: 3,000 persons (1 for" in out and "the form-filler, linked), 1,500 companies" in out
    report = out.split("Before → after")[1]
    assert "Marketo  title: 'VP Marketing' → 'Chief Demo Officer'" in report or "→ 'Chief Demo Officer'" in report
    assert "Dynamics contact.address1_city:" in report and "→ 'Lisbon'" in report
    assert "Marketo  title: 'VP (typed in Marketo)' → 'VP (typed in Dynamics)'" in report  # Dynamics wins contacts
    assert "→ 'Marketo Corp (typed in Marketo)'\n" in report  # Marketo wins leads
    assert "Marketo  dynamicsIsDeleted: 'False' → 'True'" in report
    assert "Marketo  dynamicsEntityType: '(no person)' → 'contact'" in report
    assert "→ '(no company)'" in report
    assert "Persons in Marketo: 3,000 → 3,000 (none duplicated" in out
    settled = re.search(r"Cycle (\d) wrote nothing: both sides agree.", out)
    assert settled is not None and int(settled.group(1)) <= 3
    assert "Marketo API calls today:" in out and "not read yet" not in out
    assert "Dynamics: the list 'Mkto-contacts-Spring Webinar' (attached to the campaign) holds " in out
    response = r"Dynamics: campaign response '[^']+: Attended' on 'Spring Webinar', response code Interested"
    assert re.search(response, out)
    crossed = re.findall(r"showed in (Marketo|Dynamics) after (\d+\.\d) s", out)
    assert [side for side, _ in crossed] == ["Marketo", "Dynamics"]  # one change each way, by webhook
    assert "The run's log: changes " in out and "; 1 written;" in out  # the queue's drain carried them
    assert "Webhooks today, dataverse: " in out and "Change queue sync-changes: 0 waiting, 0 poison" in out
    assert "created 24: lead.mkto_leadscore" in out and "alternate key index: Active" in out  # `setup`
    assert re.search(r"Dynamics: .+'s Marketo Lead Score is 25\.", out)
    assert "on the contact's timeline, 'Opened email: Newsletter - December' (Open Email" in out
    assert "on the contact's timeline, 'Filled out form: Request a demo' (Fill Out Form" in out
    page = re.search(r"The status page \(what GET /api/sync/dashboard serves\) is at (\S+)", out)
    assert page is not None and "<title>Dynamics ↔ Marketo sync — status</title>" in Path(page.group(1)).read_text()
    assert "retried" not in result.stderr  # nothing throttled or failed on the way
