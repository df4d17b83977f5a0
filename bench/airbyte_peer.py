"""Airbyte's `airbyte-source-microsoft-dataverse`, run unchanged but for what pointing it at a
local emulator takes: its token URL, hard-coded to login.microsoftonline.com, is the emulator's
token endpoint, and its sessions trust the emulator's CA (the CDK sends prepared requests, so
REQUESTS_CA_BUNDLE alone does not reach them).
Run with the peers' virtualenv's Python (it pins airbyte-cdk 0.80) as
`python bench/airbyte_peer.py TOKEN_URL read --config C --catalog K`."""

from __future__ import annotations

import os
import sys
from typing import Any

import requests
import source_microsoft_dataverse.dataverse as dataverse  # type: ignore[import-not-found]
import source_microsoft_dataverse.source as source  # type: ignore[import-not-found]
from source_microsoft_dataverse.run import run  # type: ignore[import-not-found]

TOKEN_URL = sys.argv.pop(1)
_original = dataverse.get_auth


def _get_auth(config: Any) -> Any:
    auth = _original(config)
    auth._token_refresh_endpoint = TOKEN_URL
    return auth


_session_init = requests.Session.__init__


def _trusting_session(self: requests.Session) -> None:
    _session_init(self)
    self.verify = os.environ["REQUESTS_CA_BUNDLE"]


dataverse.get_auth = source.get_auth = _get_auth
requests.Session.__init__ = _trusting_session  # type: ignore[method-assign]
run()
