"""The deployment as code: every Bicep file parses; checkov finds no failed check (a suppression
only with its reason); the app settings in Bicep and in local.settings.sample.json are exactly
what the code and the Functions host read; azd's files point at the template."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any, Final, cast

import pytest
import yaml
from pycep import BicepParser

from sync.settings import setting_names
from tests.cli_support import ROOT

INFRA: Final = ROOT / "infra"
BICEP_FILES: Final = sorted(INFRA.rglob("*.bicep"))
CHECKOV: Final = ROOT / ".venv-checkov" / "bin" / "checkov"
SETTING_NAME: Final = re.compile(r"^[A-Z][A-Za-z0-9]*(_{1,2}[A-Za-z0-9]+)+$")

# Read by the platform, not by our code (each with who reads it).
HOST_SETTINGS: Final = {
    "AzureWebJobsStorage__accountName": "the Functions host and Durable (and sync/settings.py's fallback)",
    "AzureWebJobsStorage__credential": "the Functions host: sign in to storage with the managed identity",
    "AzureWebJobsStorage__clientId": "the Functions host: which (user-assigned) identity",
    "APPLICATIONINSIGHTS_CONNECTION_STRING": "the Functions host and the Python worker's exporter",
    "APPLICATIONINSIGHTS_AUTHENTICATION_STRING": "the host: Entra ID auth to Application Insights (local auth is off)",
    "PYTHON_APPLICATIONINSIGHTS_ENABLE_TELEMETRY": "the Python worker: OpenTelemetry export of logs",
    "AZURE_CLIENT_ID": "azure-identity's DefaultAzureCredential: the user-assigned identity to use",
}
LOCAL_HOST_SETTINGS: Final = {
    "FUNCTIONS_WORKER_RUNTIME": "Core Tools: the language worker (Flex sets it from functionAppConfig)",
    "AzureWebJobsStorage": "the Functions host's storage (Azurite locally)",
    "AzureWebJobsFeatureFlags": "Core Tools: worker indexing of the v2 programming model",
}


def _parse(path: Path) -> dict[str, Any]:
    return cast(dict[str, Any], BicepParser().parse(file_path=path))


@pytest.mark.parametrize("path", BICEP_FILES, ids=[str(p.relative_to(INFRA)) for p in BICEP_FILES])
def test_every_bicep_file_parses(path: Path) -> None:
    assert _parse(path)


def test_checkov_finds_no_failed_check_and_every_suppression_says_why() -> None:
    if not CHECKOV.exists():
        pytest.fail("checkov is not installed: run `make checkov` (make test does)")
    done = subprocess.run(
        [str(CHECKOV), "-d", str(INFRA), "--framework", "bicep", "--skip-download", "-o", "json"],
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    report = json.loads(done.stdout)
    report = report[0] if isinstance(report, list) else report
    results = report["results"]
    failed = [f"{c['check_id']} {c['resource']} ({c['file_path']})" for c in results["failed_checks"]]
    assert not failed
    assert report["summary"]["parsing_errors"] == 0, results["parsing_errors"]
    assert report["summary"]["passed"] > 20
    vague = [
        c["check_id"] for c in results["skipped_checks"] if len(c["check_result"].get("suppress_comment") or "") < 20
    ]
    assert not vague, f"suppressed without a reason: {vague}"


def _setting_keys(node: Any) -> set[str]:
    if isinstance(node, dict):
        found = {k for k in node if SETTING_NAME.match(k)}
        return found.union(*(_setting_keys(v) for v in node.values()))
    if isinstance(node, list):
        return set().union(*(_setting_keys(v) for v in node))
    return set()


def test_the_bicep_app_settings_are_exactly_what_the_code_and_the_host_read() -> None:
    variables = _parse(INFRA / "modules" / "functionapp.bicep")["variables"]
    defined = _setting_keys({name: variables[name] for name in variables})
    read = set(setting_names()) | set(HOST_SETTINGS)
    assert sorted(read - defined) == [], "read by the code but not set in Azure"
    assert sorted(defined - read) == [], "set in Azure but nothing reads it"


def test_the_sample_settings_define_nothing_that_nothing_reads() -> None:
    sample = json.loads((ROOT / "local.settings.sample.json").read_text())["Values"]
    assert sorted(set(sample) - set(setting_names()) - set(LOCAL_HOST_SETTINGS)) == []


def test_the_parameters_file_gives_every_required_parameter_and_no_unknown_one() -> None:
    params = _parse(INFRA / "main.bicep")["parameters"]
    given = json.loads((INFRA / "main.parameters.json").read_text())["parameters"]
    required = {name for name, spec in params.items() if spec.get("default") is None}
    assert required <= set(given) <= set(params)


def test_azd_provisions_the_template_and_deploys_the_app_as_a_function() -> None:
    azure = yaml.safe_load((ROOT / "azure.yaml").read_text())
    assert (azure["infra"]["provider"], azure["infra"]["path"], azure["infra"]["module"]) == ("bicep", "infra", "main")
    (service,) = azure["services"].values()
    assert (service["host"], service["language"], service["project"]) == ("function", "python", ".")


def test_every_query_file_is_used_by_the_workbook_or_an_alert() -> None:
    text = "".join(p.read_text() for p in BICEP_FILES)
    unused = [p.name for p in sorted((INFRA / "monitoring").glob("*.kql")) if f"monitoring/{p.name}" not in text]
    assert not unused
