"""Marketo programs through the Asset API (../shared/reference/marketo-more.md §b): a program by
name or id, every program's name (for "did you mean"), and a channel's progression statuses —
what the campaign-response rules are checked against at start. Nothing found is a success with a
warning and no result, which reads here as none."""

from __future__ import annotations

from typing import Any, Final

from sync.connectors.marketo.client import MarketoClient

ASSET: Final = "/rest/asset/v1"
PAGE: Final = 200  # maxReturn's most


class ProgramApi:
    def __init__(self, client: MarketoClient) -> None:
        self.client = client

    def by_name(self, name: str) -> dict[str, Any] | None:
        found = self.client.call("GET", f"{ASSET}/program/byName.json", params={"name": name}).result
        return found[0] if found else None

    def by_id(self, program_id: int) -> dict[str, Any] | None:
        found = self.client.call("GET", f"{ASSET}/program/{program_id}.json").result
        return found[0] if found else None

    def names(self) -> list[str]:
        names: list[str] = []
        offset = 0
        while True:
            params = {"maxReturn": PAGE, "offset": offset}
            page = self.client.call("GET", f"{ASSET}/programs.json", params=params).result
            names += [str(p["name"]) for p in page]
            if len(page) < PAGE:
                return names
            offset += PAGE

    def statuses(self, channel: str) -> list[str]:
        """The channel's progression statuses, in step order ("Not in Program" first)."""
        found = self.client.call("GET", f"{ASSET}/channel/byName.json", params={"name": channel}).result
        steps = found[0].get("progressionStatuses", []) if found else []
        return [str(s["name"]) for s in sorted(steps, key=lambda s: int(s.get("step", 0)))]
