"""Deterministic seed rows with realistic columns, owners and relationships, created over the
last three years and modified at some time since (as a real org's are: what timestamp-cursor
readers and the sync's `modifiedon` fallback meet), all in change-tracking order."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, date, datetime
from typing import Any

from emulators.dataverse import marketing
from emulators.dataverse.models import Organization, iso
from emulators.marketo.seed import CITIES, FIRST, LAST, TITLES

ORDER = ("systemuser", "team", "account", "contact", "lead", "opportunity", "campaign")
HISTORY_S = 3 * 365 * 24 * 3600  # how far back seeded rows were created
CAMPAIGN_THEMES = ("Webinar", "Product Launch", "Trade Show", "Newsletter", "Customer Summit", "Nurture")


def _guid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def seed(org: Organization, counts: dict[str, int], seed_value: int, caller: str) -> dict[str, int]:
    unknown = set(counts) - set(org.tables)
    if unknown:
        raise KeyError(sorted(unknown)[0])
    rng = random.Random(seed_value)
    made: dict[str, int] = {}
    now = org.clock.now()

    def backdate(row: dict[str, Any]) -> None:
        created = now - rng.uniform(0, HISTORY_S)
        modified = created + rng.random() * (now - created)
        row["createdon"] = iso(datetime.fromtimestamp(created, UTC))
        row["modifiedon"] = iso(datetime.fromtimestamp(modified, UTC))

    def pick(table: str) -> tuple[str, str] | None:
        rows = org.table(table).rows
        if not rows:
            return None
        keys = list(rows) if len(rows) < 10_000 else None
        return (table, rng.choice(keys)) if keys else (table, next(iter(rows)))

    def address() -> dict[str, Any]:
        city, state, postal = rng.choice(CITIES)
        return {
            "address1_line1": f"{rng.randint(1, 999)} Main St",
            "address1_city": city,
            "address1_stateorprovince": state,
            "address1_postalcode": postal,
            "address1_country": "United States",
        }

    for table in [t for t in ORDER if t in counts] + [t for t in counts if t not in ORDER]:
        for n in range(counts[table]):
            first, last = rng.choice(FIRST), rng.choice(LAST)
            values: dict[str, Any]
            if table == "systemuser":
                values = {
                    "firstname": first,
                    "lastname": last,
                    "internalemailaddress": f"{first}.{last}.{n}@contoso.com".lower(),
                    "title": rng.choice(TITLES),
                    "isdisabled": False,
                }
            elif table == "team":
                values = {"name": f"{rng.choice(LAST)} team {n}", "teamtype": 0}
            elif table == "account":
                values = {
                    "name": f"{last} {rng.choice(('Labs', 'Systems', 'Inc', 'Group'))} {n}",
                    **address(),
                    "telephone1": f"+1 555 {rng.randint(100, 999)} {rng.randint(1000, 9999)}",
                    "numberofemployees": rng.randint(5, 5000),
                    "industrycode": rng.choice((1, 7, 13, 25, 33, 37)),
                    "revenue": float(rng.randint(1, 900) * 10_000),
                    "ownerid": pick("systemuser"),
                }
            elif table == "contact":
                values = {
                    "firstname": first,
                    "lastname": last,
                    "emailaddress1": f"{first}.{last}.{n}@example.com".lower(),
                    "jobtitle": rng.choice(TITLES),
                    "telephone1": f"+1 555 {rng.randint(100, 999)} {rng.randint(1000, 9999)}",
                    **address(),
                    "donotbulkemail": rng.random() < 0.05,
                    "parentcustomerid": pick("account"),
                    "ownerid": pick("systemuser"),
                }
            elif table == "lead":
                values = {
                    "subject": f"Interest from {first} {last}",
                    "firstname": first,
                    "lastname": last,
                    "emailaddress1": f"{first}.{last}.lead{n}@example.com".lower(),
                    "companyname": f"{last} Co",
                    "jobtitle": rng.choice(TITLES),
                    **address(),
                    "leadsourcecode": rng.choice((1, 2, 3, 4, 8, 10)),
                    "leadqualitycode": rng.choice((1, 2, 3)),
                    "ownerid": pick("systemuser"),
                }
            elif table == "opportunity":
                values = {
                    "name": f"Deal {n}",
                    "estimatedvalue": float(rng.randint(1, 500) * 1000),
                    "closeprobability": rng.randint(5, 95),
                    "customerid": pick("account"),
                    "ownerid": pick("systemuser"),
                }
            elif table == "campaign":
                start = datetime.fromtimestamp(now + rng.uniform(-180, 60) * 86_400, UTC).date()
                values = {
                    "name": f"{rng.choice(('Spring', 'Summer', 'Autumn', 'Winter'))} {rng.choice(CAMPAIGN_THEMES)} {n}",
                    "typecode": rng.choice((1, 2, 3, 4, 5)),
                    "statuscode": rng.choice((0, 1, 2, 3)),
                    "proposedstart": start.isoformat(),
                    "proposedend": date.fromordinal(start.toordinal() + rng.randint(7, 90)).isoformat(),
                    "description": f"Campaign {n}",
                    "ownerid": pick("systemuser"),
                }
                marketing.prepare_create(org, table, values, rng)
            else:
                definition = org.table(table).definition
                values = {definition.primary_name: f"{table} {n}"}
            values = {k: v for k, v in values.items() if v is not None}
            backdate(org.create(table, values, caller, _guid(rng)))
        made[table] = counts[table]
    return made
