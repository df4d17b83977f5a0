"""Deterministic seed data: realistic persons, companies, opportunities, sales persons and programs."""

from __future__ import annotations

import random
from typing import TYPE_CHECKING, Any

from emulators.marketo.engagement import seed_history
from emulators.marketo.programs import seed_programs

if TYPE_CHECKING:
    from emulators.marketo.core import MarketoCore

FIRST = (
    "Ada",
    "Grace",
    "Alan",
    "Katherine",
    "Linus",
    "Margaret",
    "Edsger",
    "Barbara",
    "Dennis",
    "Frances",
    "Ken",
    "Radia",
    "Tim",
    "Hedy",
    "John",
    "Mary",
    "Niklaus",
    "Shafi",
    "Whitfield",
    "Sophie",
)
LAST = (
    "Lovelace",
    "Hopper",
    "Turing",
    "Johnson",
    "Torvalds",
    "Hamilton",
    "Dijkstra",
    "Liskov",
    "Ritchie",
    "Allen",
    "Thompson",
    "Perlman",
    "Berners-Lee",
    "Lamarr",
    "McCarthy",
    "Keller",
    "Wirth",
    "Goldwasser",
)
CITIES = (
    ("Seattle", "WA", "98101"),
    ("Austin", "TX", "73301"),
    ("Boston", "MA", "02108"),
    ("Chicago", "IL", "60601"),
    ("Denver", "CO", "80202"),
    ("Atlanta", "GA", "30301"),
)
TITLES = ("CTO", "VP Marketing", "Engineer", "Director of Sales", "Analyst", "Product Manager")
INDUSTRIES = ("Software", "Manufacturing", "Retail", "Healthcare", "Finance", "Education")


def _person(rng: random.Random, n: int) -> dict[str, Any]:
    first, last = rng.choice(FIRST), rng.choice(LAST)
    city, state, postal = rng.choice(CITIES)
    return {
        "email": f"{first}.{last}.{n}@example.com".lower(),
        "firstName": first,
        "lastName": last,
        "title": rng.choice(TITLES),
        "phone": f"+1 555 {rng.randint(100, 999)} {rng.randint(1000, 9999)}",
        "company": f"{rng.choice(LAST)} {rng.choice(('Labs', 'Systems', 'Inc', 'Group'))}",
        "city": city,
        "state": state,
        "postalCode": postal,
        "country": "United States",
        "unsubscribed": rng.random() < 0.05,
    }


def seed(service: MarketoCore, counts: dict[str, int], seed_value: int) -> dict[str, int]:
    rng = random.Random(seed_value)
    known = {"lead", "company", "opportunity", "salesperson", "program", "engagement"}
    unknown = set(counts) - known
    if unknown:
        raise KeyError(sorted(unknown)[0])
    epoch = service.clock.now()
    for n in range(counts.get("lead", 0)):
        service.persons.create(_person(rng, service.persons.next_id + n), epoch, "Web service API")
    companies = service.standard_objects["companies"]
    for n in range(counts.get("company", 0)):
        city, state, postal = rng.choice(CITIES)
        companies.create(
            {
                "externalCompanyId": f"seed-company-{seed_value}-{n}",
                "company": f"{rng.choice(LAST)} {rng.choice(('Labs', 'Systems'))}",
                "billingCity": city,
                "billingState": state,
                "billingPostalCode": postal,
                "industry": rng.choice(INDUSTRIES),
                "numberOfEmployees": rng.randint(5, 5000),
            },
            epoch,
        )
    opportunities = service.standard_objects["opportunities"]
    for n in range(counts.get("opportunity", 0)):
        opportunities.create(
            {
                "externalOpportunityId": f"seed-opportunity-{seed_value}-{n}",
                "name": f"Deal {n}",
                "amount": float(rng.randint(1, 500) * 1000),
            },
            epoch,
        )
    salespersons = service.standard_objects["salespersons"]
    for n in range(counts.get("salesperson", 0)):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        salespersons.create(
            {
                "externalSalesPersonId": f"seed-user-{seed_value}-{n}",
                "email": f"{first}.{last}.{n}@sales.example.com".lower(),
                "firstName": first,
                "lastName": last,
            },
            epoch,
        )
    seed_programs(service.programs, counts.get("program", 0), rng, epoch)
    seed_history(service.persons, counts.get("engagement", 0), rng, epoch)  # the last 30 days' engagement
    return {name: counts.get(name, 0) for name in known if counts.get(name)}
