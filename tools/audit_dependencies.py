"""`make audit`: the pinned dependencies (requirements.txt and requirements-dev.txt) checked by
pip-audit against PyPI's vulnerability data. Fails on a known vulnerability; when the data cannot
be reached (an offline machine, a registry mirror without PyPI's JSON API) it says so and passes,
so that `make test` still runs offline — a warning, never a silent pass."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REQUIREMENTS = ["requirements.txt", "requirements-dev.txt"]


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "audit.json"
        args = [sys.executable, "-m", "pip_audit", "--no-deps", "--disable-pip", "--progress-spinner", "off"]
        for name in REQUIREMENTS:
            args += ["-r", str(ROOT / name)]
        done = subprocess.run([*args, "-f", "json", "-o", str(report)], capture_output=True, text=True, check=False)
        if not report.exists():
            print(f"audit: pip-audit could not run ({done.stderr.strip().splitlines()[-1:]}); not audited")
            return 0 if _offline(done.stderr) else 1
        dependencies = json.loads(report.read_text())["dependencies"]
    vulnerable = [d for d in dependencies if d.get("vulns")]
    skipped = [d for d in dependencies if d.get("skip_reason")]
    for dep in vulnerable:
        ids = ", ".join(f"{v['id']} (fixed in {', '.join(v.get('fix_versions') or ['-'])})" for v in dep["vulns"])
        print(f"audit: {dep['name']} {dep.get('version', '')}: {ids}")
    if vulnerable:
        print(f"audit: {len(vulnerable)} pinned dependenc(ies) with known vulnerabilities: upgrade them")
        return 1
    audited = len(dependencies) - len(skipped)
    if skipped and not audited:
        print(f"audit: WARNING: the vulnerability data could not be reached; {len(skipped)} dependencies not audited")
    else:
        print(f"audit: {audited} pinned dependencies, no known vulnerabilities ({len(skipped)} not found on PyPI)")
    return 0


def _offline(stderr: str) -> bool:
    return any(word in stderr for word in ("ConnectionError", "NameResolution", "Max retries", "timed out"))


if __name__ == "__main__":
    sys.exit(main())
