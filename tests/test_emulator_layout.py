"""The emulators are split by role, as moto splits a service: the rules and state (backend) need
no web framework and are testable without HTTP; every endpoint is declared one way, a route
decorator on the method that serves it; no module outgrows a reader, no import goes in a circle."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import pytest

from emulators.common.control import CONTROL
from emulators.common.routing import routes_of
from emulators.dataverse.core import API_AREA
from emulators.dataverse.routes import DataverseService
from emulators.marketo.routes import MarketoService

ROOT = Path(__file__).resolve().parent.parent / "emulators"
BACKEND = (
    "common.clock",
    "common.faults",
    "common.stats",
    "marketo.bulk",
    "marketo.bulk_files",
    "marketo.catalogue",
    "marketo.envelopes",
    "marketo.limits",
    "marketo.models",
    "marketo.push",
    "marketo.seed",
    "dataverse.catalogue",
    "dataverse.csdl",
    "dataverse.custom_tables",
    "dataverse.identity",
    "dataverse.metadata_properties",
    "dataverse.models",
    "dataverse.odata",
    "dataverse.seed",
)
WEB_FRAMEWORKS = ("werkzeug", "flask", "starlette", "fastapi", "requests")


def _modules() -> dict[str, Path]:
    return {
        ".".join(path.relative_to(ROOT).with_suffix("").parts): path
        for path in ROOT.rglob("*.py")
        if path.name != "__init__.py"
    }


def _imports(path: Path) -> set[str]:
    """What a module imports when it loads (imports under `if TYPE_CHECKING:` are left out)."""
    tree = ast.parse(path.read_text())
    found: set[str] = set()
    skipped = {
        id(n)
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
        for n in ast.walk(node)
    }
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    return {
        name: {i.removeprefix("emulators.") for i in _imports(path) if i.removeprefix("emulators.") in modules}
        for name, path in modules.items()
    }


def test_no_emulator_module_is_over_400_lines() -> None:
    long = {name: n for name, path in _modules().items() if (n := len(path.read_text().splitlines())) > 400}
    assert long == {}


def test_no_import_goes_in_a_circle() -> None:
    graph = _graph()
    state: dict[str, int] = {}
    cycles: list[list[str]] = []

    def visit(name: str, trail: list[str]) -> None:
        state[name] = 1
        for nxt in sorted(graph[name]):
            if state.get(nxt) == 1:
                cycles.append([*trail[trail.index(nxt) :], nxt] if nxt in trail else [name, nxt])
            elif nxt not in state:
                visit(nxt, [*trail, nxt])
        state[name] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    assert cycles == []


@pytest.mark.parametrize("module", BACKEND)
def test_the_backend_loads_no_web_framework_directly_or_through_another_module(module: str) -> None:
    graph, modules = _graph(), _modules()
    closure, todo = set(), [module]
    while todo:
        name = todo.pop()
        if name not in closure:
            closure.add(name)
            todo.extend(graph[name])
    loaded = {i.split(".")[0] for name in closure for i in _imports(modules[name])}
    assert loaded.isdisjoint(WEB_FRAMEWORKS), sorted(closure)


@pytest.mark.parametrize("service", [MarketoService, DataverseService])
def test_every_endpoint_is_a_method_declared_with_a_route_and_no_two_routes_clash(service: type) -> None:
    areas = ("service", CONTROL, API_AREA)
    routes = [r for area in areas for r in routes_of(service, area)]
    declared = {r.handler for r in routes}
    handlers = {name for name, _ in inspect.getmembers(service, inspect.isfunction) if name.startswith("on_")}
    assert handlers <= declared, f"on_ methods without a route: {sorted(handlers - declared)}"
    keys = [(r.area, r.path, m) for r in routes for m in r.methods]
    assert len(keys) == len(set(keys))
    assert len(routes) >= 20


def test_no_endpoint_wraps_a_closure_in_its_frame_by_hand() -> None:
    """The frame (Marketo's REST limits and envelope, Dataverse's token and protection) comes from
    the route declaration: the one place calling it is the service's `frame`."""
    calls = [
        f"{path.name}:{node.lineno}"
        for path in _modules().values()
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Call) and ast.unparse(node.func) in ("self._rest", "self.on_api")
    ]
    assert len(calls) == 1 and calls[0].startswith("core.py"), calls
