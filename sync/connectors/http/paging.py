"""One paging loop for every reader of both services.

Each API says where the next page starts in its own way; a *paginator* reads that off one
response (dlt's idea, without the request building), and `follow` does the loop:
- Dataverse: `@odata.nextLink` until a page has none (change tracking then gives the
  `@odata.deltaLink` to store for next time);
- Marketo queries: `nextPageToken` while one comes back;
- Marketo activities: `nextPageToken` while `moreResult` is true. An activities call scans the
  next 300 activities of every type, so a page may be empty and still have more after it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any, Protocol, TypeVar

B = TypeVar("B")
B_contra = TypeVar("B_contra", contravariant=True)


class Paginator(Protocol[B_contra]):
    def __call__(self, page: B_contra, /) -> str | None:
        """The cursor of the page after `page`, or None when `page` is the last."""


class PagingStalled(RuntimeError):
    """The service gave the same cursor twice: following it would loop forever."""


def follow(fetch: Callable[[str | None], B], next_cursor: Paginator[B], cursor: str | None = None) -> Iterator[B]:
    """Fetch the page at `cursor` (None: the first), then each following one, lazily."""
    while True:
        page = fetch(cursor)
        yield page
        following = next_cursor(page)
        if following is None:
            return
        if following == cursor:
            raise PagingStalled(f"the service returned the cursor it was given ({following[:80]}...)")
        cursor = following


def odata_next_link(body: Mapping[str, Any]) -> str | None:
    link = body.get("@odata.nextLink")
    return str(link) if link else None


class _Envelope(Protocol):
    @property
    def next_page_token(self) -> str | None: ...

    @property
    def more_result(self) -> bool: ...


E = TypeVar("E", bound=_Envelope)


def marketo_next_page_token(envelope: E) -> str | None:
    return envelope.next_page_token or None


def marketo_more_result(envelope: E) -> str | None:
    return envelope.next_page_token if envelope.more_result and envelope.next_page_token else None
