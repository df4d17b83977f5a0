"""Engagement in Marketo's activity log: emails delivered, opened, clicked and unsubscribed, forms
filled, web pages visited, interesting moments, and score changes — what a person's activity log
mostly holds (sends and opens outnumber data value changes many times over).

Sources (../shared/reference/marketo-more.md §c, §d; AdobeDocs marketo-developer):
- Type ids 1, 2, 7, 9, 10, 11 and 104 as activities.md and the blog's polling sample use them;
  Interesting Moment is 46 (the blog's code; its prose says 41 — types are read by name anyway).
- Change Score: bulk-activity-extract.md lists it with the lead field id as its primary attribute
  value, as Change Data Value has; `leadScore` is a Score field ("an integer field which can be
  manipulated with the Change Score flow step", field-types.md). A score change records Change
  Score (22), not Change Data Value.
- Priority, Relative Score and Urgency are "Sales Insight … System managed"
  (list-of-standard-fields.md), as are the `msiLastInterestingMoment*` fields (MSI docs): read-only
  through the API. How Marketo logs their changes is not documented; here Sales Insight's updates
  record Change Data Value (source "Sales Insight") — unconfirmed, said in docs/emulators.md.
Attribute names follow Marketo's Describe Activity Types for these types where known.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from emulators.marketo.models import PersonDatabase

VISIT_WEBPAGE: Final = 1
FILL_OUT_FORM: Final = 2
EMAIL_DELIVERED: Final = 7
UNSUBSCRIBE_EMAIL: Final = 9
OPEN_EMAIL: Final = 10
CLICK_EMAIL: Final = 11
CHANGE_SCORE: Final = 22
INTERESTING_MOMENT: Final = 46


def _type(type_id: int, name: str, description: str, primary: str, *attributes: str) -> dict[str, Any]:
    return {
        "id": type_id,
        "name": name,
        "description": description,
        "primaryAttribute": {"name": primary, "dataType": "integer" if primary.endswith("ID") else "string"},
        "attributes": [{"name": a, "dataType": "string"} for a in attributes],
    }


ENGAGEMENT_TYPES: Final[tuple[dict[str, Any], ...]] = (
    _type(
        VISIT_WEBPAGE,
        "Visit Webpage",
        "User visits a web page",
        "Webpage ID",
        "Webpage URL",
        "Query Parameters",
        "Client IP Address",
        "Referrer URL",
        "User Agent",
    ),
    _type(
        FILL_OUT_FORM,
        "Fill Out Form",
        "User fills out and submits form on web page",
        "Webform ID",
        "Client IP Address",
        "Form Fields",
        "Query Parameters",
        "Referrer URL",
        "User Agent",
        "Webpage ID",
    ),
    _type(
        EMAIL_DELIVERED, "Email Delivered", "Email is delivered to a person", "Mailing ID", "Campaign Run ID", "Step ID"
    ),
    _type(UNSUBSCRIBE_EMAIL, "Unsubscribe Email", "Person unsubscribes from emails", "Mailing ID", "Client IP Address"),
    _type(OPEN_EMAIL, "Open Email", "User opens Marketo Email", "Mailing ID", "Device", "Platform", "User Agent"),
    _type(CLICK_EMAIL, "Click Email", "User clicks on a link in a Marketo Email", "Mailing ID", "Link", "Device"),
    _type(
        CHANGE_SCORE,
        "Change Score",
        "Change a person's score",
        "Attribute Name",
        "Change Value",
        "New Value",
        "Old Value",
        "Reason",
        "Source",
    ),
    _type(
        INTERESTING_MOMENT,
        "Interesting Moment",
        "Interesting moment recorded for a person",
        "Type",
        "Description",
        "Source",
        "Date",
    ),
)
TYPE_BY_NAME: Final = {t["name"]: t["id"] for t in ENGAGEMENT_TYPES}
# Sales Insight's fields: read-only through the API, written here by the control API only
SALES_INSIGHT_FIELDS: Final = (
    "priority",
    "relativeScore",
    "urgency",
    "msiLastInterestingMomentType",
    "msiLastInterestingMomentDesc",
    "msiLastInterestingMomentSource",
    "msiLastInterestingMomentDate",
)
SCORE_FIELDS: Final = ("leadScore",)

# A month of a marketing database's engagement, by type: shares of all engagement activities.
MIX: Final = (
    (EMAIL_DELIVERED, 0.40),
    (OPEN_EMAIL, 0.25),
    (VISIT_WEBPAGE, 0.20),
    (CLICK_EMAIL, 0.07),
    (FILL_OUT_FORM, 0.04),
    (INTERESTING_MOMENT, 0.035),
    (UNSUBSCRIBE_EMAIL, 0.005),
)
EMAILS: Final = ("Newsletter - January", "Webinar invitation", "Product update", "Pricing follow-up")
PAGES: Final = ("/pricing", "/product/tour", "/blog/sync-at-scale", "/customers")
FORMS: Final = ("Request a demo", "Webinar registration", "Contact sales")


def details(type_id: int, rng: random.Random) -> tuple[str, int, list[dict[str, Any]]]:
    """A realistic primary attribute (value, id) and attributes for one activity of a type."""
    if type_id in (EMAIL_DELIVERED, OPEN_EMAIL, CLICK_EMAIL, UNSUBSCRIBE_EMAIL):
        n = rng.randrange(len(EMAILS))
        extra = (
            [{"name": "Link", "value": f"https://www.example.com{rng.choice(PAGES)}"}] if type_id == CLICK_EMAIL else []
        )
        return EMAILS[n], 1000 + n, extra
    if type_id == VISIT_WEBPAGE:
        n = rng.randrange(len(PAGES))
        return f"www.example.com{PAGES[n]}", 2000 + n, [{"name": "Webpage URL", "value": PAGES[n]}]
    if type_id == FILL_OUT_FORM:
        n = rng.randrange(len(FORMS))
        return FORMS[n], 3000 + n, [{"name": "Webpage ID", "value": 2000}]
    moment = rng.choice(("Web", "Email", "Milestone"))
    return (
        moment,
        0,
        [{"name": "Description", "value": f"{moment}: visited the pricing page"}, {"name": "Source", "value": "Web"}],
    )


def record(
    persons: PersonDatabase,
    lead_id: int,
    type_id: int,
    epoch: float,
    primary: str,
    primary_id: int | None,
    attributes: list[dict[str, Any]],
) -> None:
    """One engagement activity now; an interesting moment updates Sales Insight's last-moment fields."""
    persons.activities.append(lead_id, type_id, epoch, attributes=attributes, primary=primary, primary_id=primary_id)
    if type_id == INTERESTING_MOMENT:
        described = {a["name"]: a["value"] for a in attributes}
        stamp = datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        persons.update(
            lead_id,
            {
                "msiLastInterestingMomentType": primary,
                "msiLastInterestingMomentDesc": described.get("Description"),
                "msiLastInterestingMomentSource": described.get("Source"),
                "msiLastInterestingMomentDate": stamp,
            },
            epoch,
            "Sales Insight",
        )


def generate(persons: PersonDatabase, count: int, span_s: float, now: float, rng: random.Random) -> int:
    """`count` activities of the mix over the persons there are, dated evenly over the last
    `span_s` seconds: a stretch of a busy day, logged as it happened."""
    lead_ids = sorted(persons.leads)
    if not lead_ids or count <= 0:
        return 0
    types, weights = zip(*MIX, strict=True)
    for n, type_id in enumerate(rng.choices(types, weights, k=count)):
        primary, primary_id, attributes = details(type_id, rng)
        epoch = now - span_s + span_s * (n + 1) / count
        persons.activities.append(
            rng.choice(lead_ids), type_id, epoch, attributes=attributes, primary=primary, primary_id=primary_id or None
        )
    return count


def seed_history(persons: PersonDatabase, count: int, rng: random.Random, now: float, days: int = 30) -> None:
    """`count` engagement activities over the last `days` days, spread over the persons there are."""
    lead_ids = sorted(persons.leads)
    if not lead_ids or count <= 0:
        return
    types, weights = zip(*MIX, strict=True)
    history = []
    for type_id in rng.choices(types, weights, k=count):
        primary, primary_id, attributes = details(type_id, rng)
        epoch = now - rng.random() * days * 86_400
        history.append((rng.choice(lead_ids), type_id, epoch, primary, primary_id or None, attributes))
    persons.activities.backdate(
        [
            {"lead_id": lead, "type_id": t, "epoch": e, "primary": p, "primary_id": pid, "attributes": a}
            for lead, t, e, p, pid, a in history
        ]
    )
