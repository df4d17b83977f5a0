"""The rules of pushing a person: every field known and valid, `id` only to update, dedupe by
the lookup field within a call and against the database, and the four actions
(createOnly, updateOnly, createOrUpdate, createDuplicate)."""

from __future__ import annotations

from typing import Any

from emulators.marketo.envelopes import skipped
from emulators.marketo.models import InvalidValue, PersonDatabase, coerce

API_SOURCE = "Web service API"


def push_person(
    persons: PersonDatabase,
    raw: Any,
    action: str,
    lookup: str,
    seen: set[Any],
    epoch: float,
    warnings: list[str] | None = None,
) -> dict[str, Any]:
    """One record of a push (REST or a bulk import row): its result as Marketo reports it.
    `seen` holds the lookup values already in this call: a repeat is skipped (1036).
    `warnings` is given for a bulk import's row, which follows Marketo's list import rules: a
    malformed email is kept as given and warned of ("Invalid email address", as Adobe's bulk
    import docs show it), a row without a lookup value fails (an import has no key to create
    by), and a lookup value several persons share updates the most recently updated of them
    (Marketo's list import; REST refuses it, 1007)."""
    if not isinstance(raw, dict):
        return skipped("1003", "Invalid record")
    values: dict[str, Any] = {}
    for name, value in raw.items():
        fdef = persons.fields.get(name)
        if fdef is None:
            return skipped("1006", name)
        if name == "id":
            if action != "updateOnly":
                return skipped("1003", "Field 'id' may only be given with action updateOnly")
            continue
        if fdef.read_only:
            continue
        try:
            values[name] = coerce(fdef, value)
        except InvalidValue as exc:
            if warnings is None or fdef.data_type != "email":
                return skipped("1003", str(exc))
            warnings.append("Invalid email address")
            values[name] = str(value)
    if action == "createDuplicate":
        return {"id": persons.create(values, epoch, API_SOURCE), "status": "created"}
    key = raw.get(lookup)
    if warnings is not None and not str(key or "").strip():
        return skipped("1003", f"Value for lookup field '{lookup}' not found")
    if key in (None, ""):
        if action == "updateOnly":
            return skipped("1003", f"Value for lookup field '{lookup}' not specified")
        return {"id": persons.create(values, epoch, API_SOURCE), "status": "created"}
    dedupe = str(key).lower()
    if dedupe in seen:
        return skipped("1036")
    seen.add(dedupe)
    matches = persons.lookup(lookup, key)
    if len(matches) > 1 and warnings is not None:
        matches = [max(matches, key=lambda i: (persons.leads[i]["updatedAt"], i))]
    if len(matches) > 1:
        return skipped("1007")
    if action == "createOnly" and matches:
        return skipped("1005", "Lead")
    if action == "updateOnly" and not matches:
        return skipped("1004", "Lead")
    if matches:
        persons.update(matches[0], values, epoch, API_SOURCE)
        return {"id": matches[0], "status": "updated"}
    return {"id": persons.create(values, epoch, API_SOURCE), "status": "created"}
