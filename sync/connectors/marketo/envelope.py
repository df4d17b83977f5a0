"""Marketo's response envelope and per-record outcomes as typed values; nothing is dropped."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from sync.connectors.http.failures import FailureKind
from sync.connectors.marketo.policy import Refusal, record_reason


class Issue(BaseModel):
    """An error, a warning or a record-level reason: `code` is a string on the wire (sometimes not)."""

    model_config = ConfigDict(frozen=True)

    code: str
    message: str = ""

    @field_validator("code", mode="before")
    @classmethod
    def _code_as_text(cls, value: Any) -> str:
        return str(value)


class Envelope(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True, frozen=True)

    request_id: str | None = Field(None, alias="requestId")
    success: bool
    result: list[dict[str, Any]] = Field(default_factory=list)
    errors: list[Issue] = Field(default_factory=list)
    warnings: list[Any] = Field(default_factory=list)
    next_page_token: str | None = Field(None, alias="nextPageToken")
    more_result: bool = Field(False, alias="moreResult")

    def record_results(self) -> list[RecordResult]:
        """Per-record outcomes of a write, in input order."""
        return [RecordResult.model_validate(r) for r in self.result]


class RecordResult(BaseModel):
    """One input record's outcome, in input order: created / updated / deleted / skipped + reasons."""

    model_config = ConfigDict(extra="allow", frozen=True)

    status: str
    id: int | None = None
    marketoGUID: str | None = None  # noqa: N815 - Marketo's field name
    seq: int | None = None
    reasons: list[Issue] = Field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.status != "skipped"

    @property
    def reason(self) -> Issue | None:
        return self.reasons[0] if self.reasons else None

    @property
    def refusal(self) -> Refusal | None:
        """Why Marketo skipped the record, by name; None when it did not."""
        return None if self.ok else record_reason(self.reason.code if self.reason else None)[0]

    @property
    def kind(self) -> FailureKind | None:
        """What kind of failure the skip is; None when the record went through."""
        return None if self.ok else record_reason(self.reason.code if self.reason else None)[1]
