"""Secrets never reach a log. Our own messages never carry them, but libraries underneath may:
urllib3 logs every request line at DEBUG, and Marketo's identity call carries the client secret
in its query string (its documented form). Every log record, whichever logger makes it, is
rewritten as it is made when it holds a configured secret or a credential-looking query
parameter — before any handler (the Functions host's, Application Insights', a console) sees it,
whatever level an admin turns logging up to. A record factory rather than a filter, because
filters on a logger do not apply to its children's records.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable
from typing import Any, Final

from sync.settings import Settings

REDACTED: Final = "[REDACTED]"
# Query or form parameters that carry credentials in any of the services we call.
CREDENTIAL_PARAMETER: Final = re.compile(
    r"(?i)\b(client_secret|access_token|refresh_token|password|sig|code_verifier|client_assertion)=([^&\s\"']+)"
)


class SecretRedaction:
    def __init__(self) -> None:
        self.secrets: set[str] = set()
        self._made: Callable[..., logging.LogRecord] | None = None
        self._lock = threading.Lock()

    def redact(self, text: str) -> str:
        text = CREDENTIAL_PARAMETER.sub(lambda m: f"{m.group(1)}={REDACTED}", text)
        for secret in sorted(self.secrets, key=len, reverse=True):
            text = text.replace(secret, REDACTED)
        return text

    def make_record(self, *args: Any, **kwargs: Any) -> logging.LogRecord:
        assert self._made is not None
        record = self._made(*args, **kwargs)
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            return record  # a malformed record: logging reports it; nothing of ours to redact
        cleaned = self.redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        if record.exc_info and record.exc_info[1] is not None:
            formatted = logging.Formatter().formatException(record.exc_info)
            cleaned = self.redact(formatted)
            if cleaned != formatted:
                record.exc_info, record.exc_text = None, cleaned
        return record

    def install(self) -> None:
        with self._lock:
            if self._made is None:
                self._made = logging.getLogRecordFactory()
                logging.setLogRecordFactory(self.make_record)


_redaction = SecretRedaction()


def secret_values(settings: Settings) -> list[str]:
    """Every secret value configured (and the storage key or SAS signature inside the
    connection string)."""
    values = [
        secret.get_secret_value()
        for secret in (
            settings.dataverse.client_secret,
            settings.marketo.client_secret,
            settings.storage.connection,
            settings.sync.webhook_secret,
        )
        if secret is not None
    ]
    for part in settings.storage.connection.get_secret_value().split(";"):
        key, _, value = part.partition("=")
        if key.strip().lower() in ("accountkey", "sharedaccesssignature") and value:
            values.append(value)
    return [v for v in values if len(v) >= 8]


def redact_secrets(settings: Settings) -> SecretRedaction:
    """Add the settings' secrets to what every log record is cleaned of (installs the factory once)."""
    _redaction.secrets.update(secret_values(settings))
    _redaction.install()
    return _redaction
