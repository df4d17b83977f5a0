"""Tokens for the Dataverse org through azure-identity: client secret with DATAVERSE_AUTHORITY,
else the managed identity (DefaultAzureCredential). One credential, rebuilt after a refused token."""

from __future__ import annotations

import threading
from collections.abc import Callable
from urllib.parse import urlsplit

from azure.core.credentials import TokenCredential

from sync.settings import DataverseSettings

KNOWN_AUTHORITIES = frozenset(
    {
        "login.microsoftonline.com",
        "login.microsoftonline.us",
        "login.chinacloudapi.cn",
        "login.partner.microsoftonline.cn",
    }
)


def credential_factory(settings: DataverseSettings) -> Callable[[], TokenCredential]:
    def make() -> TokenCredential:
        verify = {"connection_verify": str(settings.ca_file)} if settings.ca_file else {}
        if settings.client_secret is not None:
            from azure.identity import ClientSecretCredential

            host = urlsplit(settings.authority).hostname or ""
            return ClientSecretCredential(
                str(settings.tenant_id),
                str(settings.client_id),
                settings.client_secret.get_secret_value(),
                authority=settings.authority,
                disable_instance_discovery=host not in KNOWN_AUTHORITIES,
                **verify,
            )
        from azure.identity import DefaultAzureCredential

        return DefaultAzureCredential(managed_identity_client_id=settings.client_id, **verify)

    return make


class DataverseToken:
    def __init__(self, make_credential: Callable[[], TokenCredential], org_url: str) -> None:
        self._make = make_credential
        self._credential = make_credential()
        self._scope = f"{org_url.rstrip('/')}/.default"
        self._lock = threading.Lock()

    def get(self) -> str:
        with self._lock:
            credential = self._credential
        return credential.get_token(self._scope).token

    def refresh(self) -> None:
        """After a 401: a fresh credential, so the next token is newly issued, not cached."""
        with self._lock:
            self._credential = self._make()
