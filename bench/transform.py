"""`python -m bench transform --records N`: the pure part of the sync, per core — for each
Dynamics contact row, its Marketo values (the default mapping's transforms), their fingerprint,
and the three-way merge of both sides against the last synced values (a third of the records
changed in Dynamics, a third in Marketo, a third both). One thread; CPU time, not wall time."""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from bench.results_file import write_result
from emulators.app_settings import app_settings
from emulators.launch import start_in_process
from sync.connectors.dataverse.connection import DataverseConnection
from sync.connectors.marketo.connection import MarketoConnection
from sync.engine.fingerprint import fingerprint
from sync.engine.person_merge import rules_of
from sync.engine.schemas import read_schemas
from sync.engine.three_way import three_way_merge
from sync.mapping.file import load_mapping
from sync.mapping.records import marketo_values
from sync.mapping.resolve import TableMapping, resolve
from sync.settings import DataverseSettings, MarketoSettings, load_section

SAMPLE = 2_000  # distinct seeded rows, cycled through


def _contacts(sample: int) -> tuple[TableMapping, list[dict[str, Any]]]:
    """The resolved default mapping of contacts and seeded rows as the Web API returns them."""
    dataverse = start_in_process("dataverse", https=True, seed_count=0)
    marketo = start_in_process("marketo", https=True)
    try:
        dataverse.service.seed_collections({"account": 50, "contact": sample}, 11)
        env = app_settings(dataverse.info, marketo.info, storage="UseDevelopmentStorage=true")
        dynamics = DataverseConnection.from_settings(load_section(DataverseSettings, env))
        persons = MarketoConnection.from_settings(load_section(MarketoSettings, env))
        file = load_mapping(None)
        mapping = resolve(file, read_schemas(dynamics, persons, file)).table("contact")
        columns = ",".join(dict.fromkeys(f.property_name for f in mapping.fields))
        rows: list[dict[str, Any]] = []
        prefer = ['odata.include-annotations="*"', "odata.maxpagesize=5000"]
        for page in dynamics.client.read_pages("contacts", params={"$select": columns}, prefer=prefer):
            rows.extend(page["value"])
        dynamics.close()
        persons.close()
        return mapping, rows
    finally:
        dataverse.stop()
        marketo.stop()


def run(records: int) -> dict[str, Any]:
    mapping, rows = _contacts(SAMPLE)
    rules = rules_of(mapping)
    first = marketo_values(rows[0], mapping, every_field=True).values
    text_fields = [r.name for r in rules if isinstance(first.get(r.name), str)]
    started = time.process_time()
    conflicts = 0
    for n in range(records):
        row = rows[n % len(rows)]
        dynamics = marketo_values(row, mapping, every_field=True).values
        base = dict(dynamics)
        marketo = dict(dynamics)
        field = text_fields[n % len(text_fields)]
        if n % 3 != 1:
            dynamics = {**dynamics, field: f"{dynamics.get(field)} (Dynamics {n})"}
        if n % 3 != 0:
            marketo[field] = f"{marketo.get(field)} (Marketo {n})"
        fingerprint(dynamics)
        merged = three_way_merge(base, dynamics, marketo, rules)
        conflicts += len(merged.conflicts)
    cpu_s = time.process_time() - started
    return {
        "job": "transform",
        "records": records,
        "fields_per_record": len(rules),
        "cpu_s": round(cpu_s, 3),
        "records_per_s_per_core": round(records / cpu_s),
        "conflicts": conflicts,
    }


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench transform", description=__doc__)
    parser.add_argument("--records", type=int, default=200_000)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    report = run(args.records)
    return write_result(report, args.out, "transform.json")
