"""Index the Functions app the way the Python worker does: import, find the one register, list."""

from __future__ import annotations

import importlib
import sys
from types import ModuleType

import azure.functions as func

from sync.functions import runtime


def import_function_app() -> ModuleType:
    """A fresh import, as a worker start would do: settings are read again from the environment."""
    runtime.reset()
    sys.modules.pop("function_app", None)
    return importlib.import_module("function_app")


def index_functions(module: ModuleType) -> dict[str, func.Function]:
    registers = [v for v in vars(module).values() if isinstance(v, func.FunctionRegister)]
    if len(registers) != 1:
        raise AssertionError(f"the worker needs exactly one FunctionRegister, found {len(registers)}")
    functions = registers[0].get_functions()  # raises on duplicate names, like the worker
    return {str(fn.get_function_name()): fn for fn in functions}
