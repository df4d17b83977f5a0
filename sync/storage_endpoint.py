"""Where a Table Storage connection points, said without its keys or SAS token (for status,
the checklist and error messages)."""

from __future__ import annotations


def storage_endpoint(connection: str) -> str:
    """The table endpoint of a connection string or URL, without keys or SAS tokens."""
    if connection.startswith(("https://", "http://")):
        return connection.split("?", 1)[0]
    parts = dict(p.split("=", 1) for p in connection.split(";") if "=" in p)
    if parts.get("UseDevelopmentStorage") == "true":
        return "development storage (Azurite, default ports)"
    if "TableEndpoint" in parts:
        return parts["TableEndpoint"]
    scheme = parts.get("DefaultEndpointsProtocol", "https")
    suffix = parts.get("EndpointSuffix", "core.windows.net")
    return f"{scheme}://{parts.get('AccountName', '?')}.table.{suffix}"
