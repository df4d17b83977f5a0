"""OData query options as Dataverse applies them: $filter (comparisons, and / or / not,
parentheses, contains / startswith / endswith, null), $select and $orderby.

`$filter` compiles to a predicate over stored rows. String comparisons ignore case, as
Dataverse's SQL collation does."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

Row = dict[str, Any]
Getter = Callable[[Row], Any]
Predicate = Callable[[Row], bool]


class ODataError(ValueError):
    """A query the service refuses: HTTP 400 with this message."""


_TOKEN = re.compile(
    r"""\s*(?:
    (?P<string>'(?:[^']|'')*')
  | (?P<guid>[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})
  | (?P<datetime>\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:\d{2})?)?)
  | (?P<number>-?\d+(?:\.\d+)?)
  | (?P<punct>[(),])
  | (?P<word>[A-Za-z_][A-Za-z0-9_.]*)
    )""",
    re.VERBOSE,
)
_COMPARISONS = {"eq", "ne", "gt", "ge", "lt", "le"}
_FUNCTIONS = {"contains", "startswith", "endswith"}


def parse_datetime(text: str) -> datetime:
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _tokens(text: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    position = 0
    while position < len(text):
        if text[position:].strip() == "":
            break
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            raise ODataError(f"Syntax error at position {position} in '{text}'.")
        kind = match.lastgroup or ""
        out.append((kind, match.group(kind)))
        position = match.end()
    return out


def _normalise(a: Any, b: Any) -> tuple[Any, Any]:
    if isinstance(b, datetime) and isinstance(a, str):
        return parse_datetime(a), b
    if isinstance(a, datetime) and isinstance(b, str):
        return a, parse_datetime(b)
    if isinstance(a, str) and isinstance(b, str):
        return a.casefold(), b.casefold()
    if isinstance(a, bool) or isinstance(b, bool):
        return a, b
    return a, b


def _compare(op: str, a: Any, b: Any) -> bool:
    if a is None or b is None:
        if op == "eq":
            return a is None and b is None
        if op == "ne":
            return not (a is None and b is None)
        return False
    a, b = _normalise(a, b)
    try:
        return bool(
            {
                "eq": lambda: a == b,
                "ne": lambda: a != b,
                "gt": lambda: a > b,
                "ge": lambda: a >= b,
                "lt": lambda: a < b,
                "le": lambda: a <= b,
            }[op]()
        )
    except TypeError:
        raise ODataError(f"Cannot compare {a!r} and {b!r} with '{op}'.") from None


def _either(left: Predicate, right: Predicate) -> Predicate:
    return lambda row: left(row) or right(row)


def _both(left: Predicate, right: Predicate) -> Predicate:
    return lambda row: left(row) and right(row)


class _Parser:
    def __init__(self, text: str, resolve: Callable[[str], Getter]) -> None:
        self.text, self.items, self.at, self.resolve = text, _tokens(text), 0, resolve

    def peek(self) -> tuple[str, str] | None:
        return self.items[self.at] if self.at < len(self.items) else None

    def take(self) -> tuple[str, str]:
        token = self.peek()
        if token is None:
            raise ODataError(f"Syntax error: '{self.text}' ends too early.")
        self.at += 1
        return token

    def expect(self, value: str) -> None:
        _, got = self.take()
        if got != value:
            raise ODataError(f"Syntax error: expected '{value}' but found '{got}' in '{self.text}'.")

    def parse(self) -> Predicate:
        predicate = self.or_expr()
        if self.peek() is not None:
            raise ODataError(f"Syntax error: unexpected '{self.peek()[1]}' in '{self.text}'.")  # type: ignore[index]
        return predicate

    def or_expr(self) -> Predicate:
        left = self.and_expr()
        while self.peek() == ("word", "or"):
            self.take()
            right = self.and_expr()
            left = _either(left, right)
        return left

    def and_expr(self) -> Predicate:
        left = self.not_expr()
        while self.peek() == ("word", "and"):
            self.take()
            right = self.not_expr()
            left = _both(left, right)
        return left

    def not_expr(self) -> Predicate:
        if self.peek() == ("word", "not"):
            self.take()
            inner = self.not_expr()
            return lambda row: not inner(row)
        return self.primary()

    def primary(self) -> Predicate:
        token = self.peek()
        if token == ("punct", "("):
            self.take()
            inner = self.or_expr()
            self.expect(")")
            return inner
        if token is not None and token[0] == "word" and token[1] in _FUNCTIONS:
            return self.function()
        left = self.operand()
        _, op = self.take()
        if op not in _COMPARISONS:
            raise ODataError(f"Syntax error: '{op}' is not a comparison operator (eq, ne, gt, ge, lt, le).")
        right = self.operand()
        return lambda row: _compare(op, left(row), right(row))

    def function(self) -> Predicate:
        _, name = self.take()
        self.expect("(")
        prop = self.operand()
        self.expect(",")
        needle = self.operand()
        self.expect(")")
        test: Callable[[str, str], bool] = {
            "contains": lambda h, n: n in h,
            "startswith": str.startswith,
            "endswith": str.endswith,
        }[name]

        def predicate(row: Row) -> bool:
            haystack, wanted = prop(row), needle(row)
            if not isinstance(haystack, str) or not isinstance(wanted, str):
                return False
            return bool(test(haystack.casefold(), wanted.casefold()))

        return predicate

    def operand(self) -> Getter:
        kind, value = self.take()
        if kind == "string":
            literal: Any = value[1:-1].replace("''", "'")
        elif kind == "guid":
            literal = value.lower()
        elif kind == "datetime":
            literal = parse_datetime(value)
        elif kind == "number":
            literal = float(value) if "." in value else int(value)
        elif kind == "word" and value in ("true", "false"):
            literal = value == "true"
        elif kind == "word" and value == "null":
            literal = None
        elif kind == "word":
            return self.resolve(value)
        else:
            raise ODataError(f"Syntax error: unexpected '{value}' in '{self.text}'.")
        return lambda row: literal


def compile_filter(text: str, resolve: Callable[[str], Getter]) -> Predicate:
    """`resolve(name)` returns a getter for a column or raises ODataError naming it."""
    return _Parser(text, resolve).parse()


def parse_list(text: str | None) -> list[str]:
    return [part.strip() for part in (text or "").split(",") if part.strip()]


def parse_orderby(text: str | None) -> list[tuple[str, bool]]:
    """[(column, descending)]"""
    order = []
    for part in parse_list(text):
        words = part.split()
        if len(words) > 2 or (len(words) == 2 and words[1] not in ("asc", "desc")):
            raise ODataError(f"Syntax error in $orderby: '{part}'.")
        order.append((words[0], len(words) == 2 and words[1] == "desc"))
    return order
