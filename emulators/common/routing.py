"""One way to declare an endpoint: `@route(path, methods…)` on the service method that serves it.

The decorator only records the route on the function; `url_map` gathers a class's routes (its
own and its bases') into a Werkzeug map whose endpoints are the `Route`s themselves, so the
service can frame a call by its route's options (Marketo's REST frame and body limit, say)
before it reaches the method. Routes live in areas: Dataverse matches `/api/data/v9.2/…`
paths twice, once from the wire and once per part of a `$batch`, against the "api" area.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from werkzeug.routing import BaseConverter, Map, Rule

SERVICE = "service"
_ROUTES = "__emulator_routes__"
F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True, eq=False)  # hashed by identity: Werkzeug keys its rules by endpoint
class Route:
    path: str
    methods: tuple[str, ...]
    area: str = SERVICE
    defaults: Mapping[str, Any] | None = None
    options: Mapping[str, Any] = field(default_factory=dict)
    handler: str = ""  # the method's name, filled in when the map is built

    @property
    def name(self) -> str:
        """What the request counters call it: the method's name without `on_`."""
        return self.handler.removeprefix("on_")


def route(
    path: str, *methods: str, area: str = SERVICE, defaults: Mapping[str, Any] | None = None, **options: Any
) -> Callable[[F], F]:
    """Declare that the decorated method serves `methods` on `path` (stack for several paths)."""
    if not methods:
        raise ValueError(f"route {path!r} names no HTTP method")
    declared = Route(path, tuple(methods), area, defaults, options)

    def mark(function: F) -> F:
        routes: list[Route] = function.__dict__.setdefault(_ROUTES, [])
        routes.insert(0, declared)  # decorators apply bottom-up; keep them in reading order
        return function

    return mark


def routes_of(cls: type, area: str = SERVICE) -> Iterator[Route]:
    seen: set[str] = set()
    for klass in cls.__mro__:
        for name, member in vars(klass).items():
            if name in seen or not callable(member):
                continue
            seen.add(name)  # an override hides its base's routes, as a method would
            for declared in getattr(member, _ROUTES, ()):
                if declared.area == area:
                    yield Route(declared.path, declared.methods, area, declared.defaults, declared.options, name)


def url_map(cls: type, area: str = SERVICE, converters: Mapping[str, type[BaseConverter]] | None = None) -> Map:
    rules = [
        Rule(r.path, endpoint=r, methods=list(r.methods), defaults=dict(r.defaults) if r.defaults else None)
        for r in routes_of(cls, area)
    ]
    return Map(rules, strict_slashes=False, converters=dict(converters) if converters else None)
