"""`python -m sync setup`: engagement's columns, activity table and key in Dynamics (engagement_setup.py)."""

from __future__ import annotations

import sys

from sync.connectors.dataverse.connection import DataverseConnection
from sync.connectors.dataverse.errors import DataverseError
from sync.engine.engagement_setup import EngagementSetup, SetupFailed
from sync.mapping.file import load_mapping
from sync.settings import Settings


def setup_command(settings: Settings) -> int:
    entry = load_mapping(settings.sync.mapping_file).engagement
    dataverse = DataverseConnection.from_settings(settings.dataverse)
    setup = EngagementSetup(dataverse, settings.dataverse.publisher_prefix, settings.dataverse.solution)
    try:
        report = setup.run(entry)
    except (SetupFailed, DataverseError) as error:
        for line in setup.report.lines():
            print(line)
        print(f"setup stopped: {error}", file=sys.stderr)
        return 1
    finally:
        dataverse.close()
    for line in report.lines():
        print(line)
    print("engagement is set up: scores and the Marketo activity timeline are written from the next runs")
    return 0
