"""`python -m sync check`: the setup checklist (behaviour §12), like Marketo's "Validate Sync".

Each line is ok, a warning (works, in a lesser way) or a problem (the sync cannot work), with
the fix. Every line runs whatever the others found, so one run lists everything to do.
Nothing here writes records; it may create the person fields the sync owns (as a start would),
and probes write permission with empty inputs, which Marketo refuses before doing anything
(and does not count against the quota).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from azure.core.exceptions import AzureError

from sync.connectors.dataverse.connection import DataverseConnection
from sync.connectors.dataverse.errors import DataverseError
from sync.connectors.dataverse.webhook_registration import WebhookRegistration
from sync.connectors.http.failures import ConnectorError
from sync.connectors.marketo.connection import MarketoConnection
from sync.connectors.marketo.errors import MarketoError
from sync.engine.engagement_plan import EngagementPlan, resolve_engagement, summary
from sync.engine.owned_fields import ensure_owned_fields, id_is_lookup
from sync.engine.response_rules import resolve_response_rules
from sync.engine.runtime import record_usage
from sync.engine.schemas import read_schemas
from sync.engine.shared_limits import join_shared_limits
from sync.mapping.file import MappingError, MappingFile, load_mapping
from sync.mapping.own_objects import OWN_OBJECTS
from sync.mapping.resolve import resolve
from sync.objects import OPTIONAL_TABLES, READ_TABLES, STANDARD_TABLES, STANDARD_TARGETS
from sync.settings import Settings
from sync.store import SyncStore

QUOTA_WARNING: Final = 0.9


class Status(StrEnum):
    OK = "ok"
    WARNING = "warning"
    PROBLEM = "problem"


@dataclass(frozen=True)
class Line:
    status: Status
    subject: str
    detail: str
    fix: str = ""


class Checklist:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.lines: list[Line] = []

    def ok(self, subject: str, detail: str) -> None:
        self.lines.append(Line(Status.OK, subject, detail))

    def warn(self, subject: str, detail: str, fix: str) -> None:
        self.lines.append(Line(Status.WARNING, subject, detail, fix))

    def problem(self, subject: str, detail: str, fix: str) -> None:
        self.lines.append(Line(Status.PROBLEM, subject, detail, fix))

    def attempt(self, subject: str, fix: str, step: Callable[[], None]) -> bool:
        """Run one check; any failure becomes a problem line instead of stopping the list."""
        try:
            step()
        except (ConnectorError, PermissionError, OSError, ValueError) as error:
            self.problem(subject, str(error), fix)
            return False
        return True

    @property
    def passed(self) -> bool:
        return all(line.status is not Status.PROBLEM for line in self.lines)


def _dataverse(check: Checklist, dataverse: DataverseConnection) -> bool:
    def sign_in() -> None:
        user = dataverse.client.get_json("WhoAmI")["UserId"]
        check.ok("Dataverse sign-in", f"{dataverse.client.org_url} as application user {user}")

    return check.attempt(
        "Dataverse sign-in",
        "check DATAVERSE_URL, DATAVERSE_TENANT_ID, DATAVERSE_CLIENT_ID and the secret (or the managed identity), "
        "and that the app is an application user of the org with a security role",
        sign_in,
    )


def _tables(check: Checklist, dataverse: DataverseConnection, tables: list[str]) -> None:
    for name in tables:
        try:
            table = dataverse.metadata.describe(name)
            dataverse.client.get_json(table.entity_set, params={"$select": table.primary_id, "$top": "1"})
        except DataverseError as error:
            if name in OPTIONAL_TABLES and error.status == 404:
                check.warn(
                    f"Dataverse table {name}",
                    f"not in this org (the Dynamics 365 Sales or Marketing solution adds it): {name}s do not sync",
                    "nothing to do unless you expected it: the other objects sync as usual",
                )
                continue
            check.problem(
                f"Dataverse table {name}",
                f"cannot be read ({error.message})",
                f"give the application user's security role organization-level Read on {name}",
            )
            continue
        if table.change_tracking:
            check.ok(f"Dataverse table {name}", "readable; change tracking on")
        else:
            check.warn(
                f"Dataverse table {name}",
                "readable, but change tracking is off: the sync falls back to a modifiedon cursor and finds "
                "deletions only by a periodic reconcile",
                f"turn on Track changes for {name} (Power Apps > Tables > {name} > Properties > Advanced options)",
            )


def _marketo(check: Checklist, marketo: MarketoConnection) -> bool:
    def sign_in() -> None:
        marketo.client.token.get()
        check.ok("Marketo sign-in", f"{marketo.client.base_url} with the LaunchPoint service")

    if not check.attempt(
        "Marketo sign-in",
        "check MARKETO_BASE_URL, MARKETO_CLIENT_ID and MARKETO_CLIENT_SECRET against the LaunchPoint custom service",
        sign_in,
    ):
        return False
    probes: dict[str, Callable[[], None]] = {"persons": marketo.persons.may_write}
    for target in STANDARD_TARGETS:
        api = marketo.lead_database(target)
        probes[api.label] = api.may_write
    for subject, may_write in probes.items():
        try:
            may_write()
            check.ok(f"Marketo write access: {subject}", "allowed")
        except MarketoError as error:
            check.problem(
                f"Marketo write access: {subject}",
                str(error),
                f"give the API user's role Read-Write {subject.title()} (Admin > Users & Roles > Roles)",
            )

    def quota() -> None:
        used, budget = marketo.client.refresh_usage(), marketo.client.limiter.daily_budget
        detail = f"{used:,} calls used today of a budget of {budget:,} (MARKETO_DAILY_CALL_BUDGET)"
        if used >= budget:
            check.problem("Marketo quota", detail, "wait for the reset at midnight US Central, or raise the budget")
        elif used >= QUOTA_WARNING * budget:
            check.warn("Marketo quota", detail, "other integrations use most of the quota; raise it with Adobe")
        else:
            check.ok("Marketo quota", detail)

    check.attempt("Marketo quota", "give the API user's role Read-Only Assets or View Usage", quota)
    return True


def _storage(check: Checklist, settings: Settings) -> SyncStore | None:
    try:
        store = SyncStore.from_settings(settings.storage)
    except (AzureError, ValueError) as error:
        check.problem(
            "Table Storage",
            f"{settings.storage.endpoint}: {type(error).__name__}: {str(error)[:300]}",
            "check SYNC_STORAGE_CONNECTION (or AzureWebJobsStorage) and the identity's Table Data Contributor role",
        )
        return None
    check.ok("Table Storage", f"{settings.storage.endpoint}; the sync's tables exist")
    return store


def _mapping_file(check: Checklist, settings: Settings) -> MappingFile | None:
    try:
        file = load_mapping(settings.sync.mapping_file)
    except MappingError as error:
        for problem in error.problems:
            check.problem(f"Mapping file {error.source}", problem, "correct the file (SYNC_MAPPING_FILE)")
        return None
    check.ok("Mapping file", str(settings.sync.mapping_file) if settings.sync.mapping_file else "none: defaults only")
    return file


def _mapping(check: Checklist, dataverse: DataverseConnection, marketo: MarketoConnection, file: MappingFile) -> None:
    source = str(check.settings.sync.mapping_file or "(defaults)")
    try:
        schemas = read_schemas(dataverse, marketo, file)
        prefix = check.settings.dataverse.publisher_prefix
        plan = resolve_engagement(file.engagement, prefix, schemas, dataverse, marketo, bool(file.campaign_responses))
        mapping = resolve(file, schemas, source, plan.score_rules)
    except MappingError as error:
        for problem in error.problems:
            check.problem("Field mapping", problem, "correct the mapping file (SYNC_MAPPING_FILE)")
        return
    except ConnectorError as error:
        check.problem("Field mapping", f"the schemas could not be read: {error}", "see the lines above")
        return
    fields = sum(len(t.fields) for t in mapping.tables.values()) + sum(len(c.mapping.fields) for c in mapping.custom)
    tables = len(mapping.tables) + len(mapping.custom)
    check.ok("Field mapping", f"{fields} fields over {tables} tables match both schemas")
    try:
        rules = resolve_response_rules(file.campaign_responses, marketo, dataverse, source)
    except MappingError as error:
        for problem in error.problems:
            check.problem("Campaign responses", problem, "correct campaign_responses in the mapping file")
    else:
        if rules:
            linked = "; ".join(f"{r.program} → {r.campaign}" for r in rules.values())
            check.ok("Campaign responses", f"program status changes become campaign responses: {linked}")
    _engagement(check, plan)
    for own in OWN_OBJECTS:
        if getattr(mapping, own.setting):
            check.ok(own.subject, f"{own.carries}: the custom object {getattr(mapping, own.setting)}")
        elif getattr(file, own.setting):
            check.warn(
                own.subject,
                f"Marketo has no custom object {getattr(file, own.setting)}: {own.without}",
                f"create it ({', '.join(own.fields)}; dedupe: {own.dedupe}; see docs/setup.md) "
                f"or set {own.setting}: null",
            )
    owned = ", ".join(mapping.person_fields.model_dump().values())
    try:
        created = ensure_owned_fields(marketo.persons, mapping.person_fields)
    except (PermissionError, ConnectorError) as error:
        check.problem(
            "Person fields the sync owns",
            str(error),
            "give the API user's role Read-Write Schema Custom Field, or create them in Admin > Field Management",
        )
        return
    check.ok(
        "Person fields the sync owns", f"{owned} ({'created now: ' + ', '.join(created) if created else 'present'})"
    )
    field = mapping.person_fields.id
    if (created and field in created) or mapping.id_is_lookup:
        lookup = id_is_lookup(marketo.persons, mapping.person_fields) if created else mapping.id_is_lookup
    else:
        lookup = False
    if lookup:
        check.ok("Lookup by Dynamics id", f"Marketo takes {field} as a lookup field: persons are found again by it")
    else:
        check.warn(
            "Lookup by Dynamics id",
            f"Marketo does not take {field} as a lookup field: a person for a record without an email of its own "
            "is made at most once a call (a lost answer is settled from the activity log), and a store rebuilt "
            "from nothing cannot find such persons again",
            f"ask Adobe support to make {field} searchable, or give the records an email",
        )


def _engagement(check: Checklist, plan: EngagementPlan) -> None:
    """Scores and the timeline: what `setup` made, what is missing and how engagement is read."""
    said = summary(plan)
    scored = sorted({c for columns in said["scores"].values() for c in columns})
    if scored:
        check.ok("Engagement scores", f"{', '.join(scored)} on {', '.join(said['scores'])}, from Marketo (one way)")
    elif plan.types or said["scores"]:
        check.warn("Engagement scores", "no score columns in Dynamics", "run `python -m sync setup`")
    if not plan.types and not plan.unknown_types:
        return
    if plan.unknown_types:
        check.warn(
            "Engagement types",
            f"Marketo has no activity type {', '.join(plan.unknown_types)}",
            "correct engagement.types in the mapping file (Marketo's names: Describe Activity Types)",
        )
    if said["why_not"]:
        check.warn("Engagement timeline", said["why_not"], "run `python -m sync setup`")
    else:
        types = ", ".join(f"{name} ({mode})" for name, mode in said["types"].items())
        check.ok("Engagement timeline", f"{types} onto {plan.names.table}; read on {said['reads']}")


def _webhooks(check: Checklist, dataverse: DataverseConnection, tables: list[str]) -> None:
    subject = "Dataverse webhooks"
    try:
        state = WebhookRegistration(dataverse.client).inspect()
    except ConnectorError as error:
        check.warn(subject, f"the registration could not be read ({error})", "give the app user read on plug-in steps")
        return
    setup = "python -m sync setup-webhooks --url https://<function app>/api/changes/dataverse"
    if state.endpoint_id is None:
        check.warn(
            subject,
            "not registered: Dynamics changes cross with the timers (within a minute or two), not in seconds",
            f"run {setup}",
        )
        return
    if check.settings.sync.dataverse_webhook_key is None:
        check.problem(
            subject,
            f"registered ({state.url}), but SYNC_DATAVERSE_WEBHOOK_KEY is not set: the route refuses every call",
            f"set SYNC_DATAVERSE_WEBHOOK_KEY, then run {setup} again (it registers the key)",
        )
        return
    covered = {table for _, table in state.steps}
    missing = [t for t in tables if t not in covered and t != "teammembership"]
    if missing:
        check.warn(subject, f"no steps for {', '.join(missing)}: their changes wait for the timers", f"run {setup}")
        return
    check.ok(subject, f"{len(state.steps)} steps on {len(covered)} tables post to {state.url}")


def run_check(settings: Settings) -> Checklist:
    check = Checklist(settings)
    store = _storage(check, settings)
    file = _mapping_file(check, settings)
    dataverse = DataverseConnection.from_settings(settings.dataverse)
    marketo = MarketoConnection.from_settings(settings.marketo)
    shares = None
    if store is not None:  # the checklist's calls count with the deployment's; its quota read shows on status
        shares = join_shared_limits(store.marketo_shares, marketo.client.limiter, settings.marketo.shared_limits)
        marketo.client.on_usage = lambda total: record_usage(store, total, settings.marketo.daily_call_budget)
    try:
        dataverse_ok = _dataverse(check, dataverse)
        if dataverse_ok:
            tables = [*STANDARD_TABLES, *(c.table for c in (file.custom_tables if file else []))]
            _tables(check, dataverse, tables)
            _webhooks(check, dataverse, [*READ_TABLES, *(c.table for c in (file.custom_tables if file else []))])
        marketo_ok = _marketo(check, marketo)
        if file is not None and dataverse_ok and marketo_ok:
            _mapping(check, dataverse, marketo, file)
    finally:
        if shares is not None:
            shares.close()
        dataverse.close()
        marketo.close()
    return check
