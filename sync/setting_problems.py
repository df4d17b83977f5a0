"""How a configuration that cannot work is told: every problem at once, each naming the setting,
what is wrong with it and what the setting is for (the field's description), and where settings
are set. Pydantic's error types map to the admin's words as data."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from pydantic.fields import FieldInfo


class SettingsError(Exception):
    """Raised at start when the configuration cannot work; the message lists every problem."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        plural = "problem" if len(problems) == 1 else "problems"
        super().__init__(
            f"The sync cannot start: {len(problems)} configuration {plural}.\n{lines}\n"
            'Set these as app settings of the Function app (Azure) or under "Values" in '
            "local.settings.json (local runs); local.settings.sample.json lists every setting."
        )


# Pydantic error types → what to tell an admin (policy as data).
_PROBLEM_BY_ERROR_TYPE: Final[dict[str, str]] = {
    "missing": "is missing",
    "int_parsing": "is not a whole number",
    "float_parsing": "is not a number",
    "greater_than": "must be greater than {gt}",
    "less_than": "must be less than {lt:g}",
    "less_than_equal": "must be at most {le}",
}


def describe(error: Any, fields: Mapping[str, FieldInfo]) -> str:
    """One pydantic error as the admin reads it: the setting, what is wrong, what the setting is for."""
    names = [str(part) for part in error["loc"]]
    name = next((n for n in reversed(names) if n in fields or n == "schedules"), "settings")
    message = str(error["msg"]).removeprefix("Value error, ")
    if name == "schedules":
        return message
    template = _PROBLEM_BY_ERROR_TYPE.get(error["type"])
    problem = template.format(**(error.get("ctx") or {})) if template else message
    if name == "SYNC_STORAGE_CONNECTION" and error["type"] == "missing":
        problem += " (and so is AzureWebJobsStorage)"
    field = fields.get(name)
    hint = f" {field.description}" if field is not None and field.description else ""
    return f"{name}: {problem}.{hint}"
