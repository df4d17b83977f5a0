"""Dataverse record ids are GUIDs: telling one from a name or a code (a campaign's `CMP-…`, a user's
name) before it goes into a URL."""

from __future__ import annotations

import uuid


def is_guid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True
