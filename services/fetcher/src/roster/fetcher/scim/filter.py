"""The RFC 7644 §3.4.2.2 filter grammar, parsed and evaluated on stored JSON resources.

Hand-written (not scim2-models) to accept what Entra sends beyond the grammar (`externalId eq
jyoung` unquoted, `emails[type eq "work"].value eq "…"`) on plain dicts. `not` > `and` > `or`;
names and operators case-insensitive; strings per `caseExact`. Any parse failure is a 400
`invalidFilter`, never another exception. Pure: no I/O.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from roster.fetcher.scim.errors import ScimError, invalid_filter
from roster.fetcher.scim.schemas import Attr, AttrPath, Json, ResourceKind, resolve

COMPARE = {"eq", "ne", "co", "sw", "ew", "gt", "lt", "ge", "le"}
MAX_FILTER = 4096
MAX_DEPTH = 50
_TOKEN = re.compile(
    r"""\s*(?:
        (?P<lp>\() | (?P<rp>\)) | (?P<lb>\[) | (?P<rb>\]) |
        (?P<str>"(?:[^"\\]|\\.)*") |
        (?P<word>[^\s()\[\]"]+)
    )""",
    re.VERBOSE,
)


@dataclass(frozen=True)
class Token:
    kind: str
    text: str


@dataclass(frozen=True)
class Compare:
    path: AttrPath
    op: str
    value: Any


@dataclass(frozen=True)
class Present:
    path: AttrPath


@dataclass(frozen=True)
class And:
    left: Filter
    right: Filter


@dataclass(frozen=True)
class Or:
    left: Filter
    right: Filter


@dataclass(frozen=True)
class Not:
    inner: Filter


@dataclass(frozen=True)
class ValuePath:
    """`attr[inner]`, optionally followed by `.sub op value` / `.sub pr` (Entra's form)."""

    path: AttrPath
    inner: Filter
    sub: Attr | None = None
    op: str | None = None
    value: Any = None


Filter = Compare | Present | And | Or | Not | ValuePath


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    pos = 0
    text = text.rstrip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            raise invalid_filter(
                f"unexpected character at position {pos}: {text[pos : pos + 10]!r}"
            )
        kind = m.lastgroup or ""
        tokens.append(Token(kind, m.group(kind)))
        pos = m.end()
    return tokens


def parse(kind: ResourceKind, text: str) -> Filter:
    if not isinstance(text, str) or not text.strip():
        raise invalid_filter("the filter is empty")
    if len(text) > MAX_FILTER:
        raise invalid_filter(f"the filter is longer than {MAX_FILTER} characters")
    parser = _Parser(kind, tokenize(text))
    try:
        result = parser.expression(0)
    except RecursionError:
        raise invalid_filter("the filter nests too deeply") from None
    if parser.pos != len(parser.tokens):
        raise invalid_filter(f"unexpected {parser.tokens[parser.pos].text!r} in the filter")
    return result


class _Parser:
    def __init__(self, kind: ResourceKind, tokens: list[Token]) -> None:
        self.kind = kind
        self.tokens = tokens
        self.pos = 0

    def peek(self) -> Token | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self, what: str) -> Token:
        tok = self.peek()
        if tok is None:
            raise invalid_filter(f"the filter ends where {what} was expected")
        self.pos += 1
        return tok

    def keyword(self, *words: str) -> str | None:
        tok = self.peek()
        if tok is not None and tok.kind == "word" and tok.text.lower() in words:
            self.pos += 1
            return tok.text.lower()
        return None

    def expression(self, depth: int) -> Filter:
        if depth > MAX_DEPTH:
            raise invalid_filter("the filter nests too deeply")
        left = self.conjunction(depth)
        while self.keyword("or"):
            left = Or(left, self.conjunction(depth))
        return left

    def conjunction(self, depth: int) -> Filter:
        left = self.unary(depth)
        while self.keyword("and"):
            left = And(left, self.unary(depth))
        return left

    def unary(self, depth: int) -> Filter:
        tok = self.peek()
        if tok is not None and tok.kind == "word" and tok.text.lower() == "not":
            nxt = self.tokens[self.pos + 1] if self.pos + 1 < len(self.tokens) else None
            if nxt is not None and nxt.kind == "lp":
                self.pos += 1
                return Not(self.group(depth))
        if tok is not None and tok.kind == "lp":
            return self.group(depth)
        return self.attribute_expression(depth)

    def group(self, depth: int) -> Filter:
        self.take("'('")
        inner = self.expression(depth + 1)
        if self.take("')'").kind != "rp":
            raise invalid_filter("a '(' is not closed")
        return inner

    def attribute_expression(self, depth: int) -> Filter:
        tok = self.take("an attribute")
        if tok.kind != "word":
            raise invalid_filter(f"expected an attribute, found {tok.text!r}")
        nxt = self.peek()
        if nxt is not None and nxt.kind == "lb":
            return self.value_path(tok.text, depth)
        path = resolve(self.kind, tok.text)
        op = self.operator()
        if op == "pr":
            return Present(path)
        return Compare(path, op, self.comp_value())

    def value_path(self, name: str, depth: int) -> Filter:
        path = resolve(self.kind, name)
        if path.sub_name is not None:
            raise invalid_filter(f"a value filter needs a multi-valued attribute, not {name!r}")
        self.take("'['")
        subs = path.attr.sub if path.attr is not None else ()
        inner = _Parser(ResourceKind(self.kind.name, "", self.kind.schema, subs), self.tokens)
        inner.pos = self.pos
        expr = inner.expression(depth + 1)
        self.pos = inner.pos
        if self.take("']'").kind != "rb":
            raise invalid_filter("a '[' is not closed")
        nxt = self.peek()
        if nxt is not None and nxt.kind == "word" and nxt.text.startswith("."):
            self.pos += 1
            sub_name = nxt.text[1:]
            sub = path.attr.child(sub_name) if path.attr is not None else None
            if not sub_name or "." in sub_name:
                raise invalid_filter(f"invalid sub-attribute {nxt.text!r}")
            op = self.operator()
            value = None if op == "pr" else self.comp_value()
            return ValuePath(path, expr, sub or Attr(sub_name), op, value)
        return ValuePath(path, expr)

    def operator(self) -> str:
        tok = self.take("an operator")
        op = tok.text.lower()
        if tok.kind != "word" or (op not in COMPARE and op != "pr"):
            raise invalid_filter(f"unknown operator {tok.text!r}")
        return op

    def comp_value(self) -> Any:
        tok = self.take("a value")
        if tok.kind == "str":
            try:
                value = json.loads(tok.text)
                value.encode()  # a lone surrogate can match nothing stored
            except (ValueError, UnicodeEncodeError):
                raise invalid_filter(f"invalid string {tok.text!r}") from None
            return value
        if tok.kind != "word":
            raise invalid_filter(f"expected a value, found {tok.text!r}")
        low = tok.text.lower()
        if low in ("true", "false"):
            return low == "true"
        if low == "null":
            return None
        if re.fullmatch(r"-?\d+(\.\d+)?([eE][-+]?\d+)?", tok.text):
            return json.loads(tok.text)
        if low in ("and", "or", "not", "pr", *COMPARE):
            raise invalid_filter(f"expected a value, found {tok.text!r}")
        return tok.text  # Entra's documented unquoted form: externalId eq jyoung


# -- evaluation -----------------------------------------------------------------------


def matches(flt: Filter, resource: Json) -> bool:
    if isinstance(flt, And):
        return matches(flt.left, resource) and matches(flt.right, resource)
    if isinstance(flt, Or):
        return matches(flt.left, resource) or matches(flt.right, resource)
    if isinstance(flt, Not):
        return not matches(flt.inner, resource)
    if isinstance(flt, Present):
        return any(_present(v) for v in _values(flt.path, resource))
    if isinstance(flt, Compare):
        attr = flt.path.sub or flt.path.attr
        if attr is not None and attr.type == "complex" and flt.path.sub_name is None:
            attr = attr.child("value") or attr  # a complex attribute compares its "value"
        if flt.value is None:
            has = any(_present(v) for v in _values(flt.path, resource))
            if flt.op == "eq":
                return not has
            if flt.op == "ne":
                return has
            raise invalid_filter(f"'{flt.op}' cannot compare with null")
        return any(_compare(attr, v, flt.op, flt.value) for v in _values(flt.path, resource))
    # ValuePath
    items = _raw(flt.path, resource)
    elements = items if isinstance(items, list) else ([items] if isinstance(items, dict) else [])
    for element in elements:
        if not isinstance(element, dict) or not matches(flt.inner, element):
            continue
        if flt.sub is None:
            return True
        value = _lookup(element, flt.sub.name)
        if flt.op == "pr" and _present(value):
            return True
        if flt.op not in (None, "pr"):
            if flt.value is None:
                if (flt.op == "eq") != _present(value):
                    return True
            elif _compare(flt.sub, value, flt.op, flt.value):
                return True
    return False


def _lookup(obj: Json, name: str) -> Any:
    if name in obj:
        return obj[name]
    low = name.lower()
    for key, value in obj.items():
        if key.lower() == low:
            return value
    return None


def _raw(path: AttrPath, resource: Json) -> Any:
    if path.attr is None:
        return None
    host = resource if path.urn is None else resource.get(path.urn)
    if not isinstance(host, dict):
        return None
    return _lookup(host, path.attr.name)


def _values(path: AttrPath, resource: Json) -> list[Any]:
    value = _raw(path, resource)
    if value is None:
        return []
    items = value if isinstance(value, list) else [value]
    name = path.sub.name if path.sub is not None else path.sub_name
    if path.attr is not None and path.attr.type == "complex" and name is None:
        name = "value"  # comparing a complex attribute compares its "value"
    if name is None:
        return items
    return [_lookup(i, name) for i in items if isinstance(i, dict)]


def _present(value: Any) -> bool:
    return value is not None and value != "" and value != [] and value != {}


def _compare(attr: Attr | None, have: Any, op: str, want: Any) -> bool:
    if have is None or attr is None:
        return op == "ne"
    if isinstance(want, bool) or attr.type == "boolean":
        if op not in ("eq", "ne"):
            raise invalid_filter(f"'{op}' is not defined for booleans")
        try:
            same = _as_bool(have) == _as_bool(want)
        except ValueError:
            return op == "ne"
        return same == (op == "eq")
    if isinstance(want, int | float) and not isinstance(have, str):
        if isinstance(have, bool) or not isinstance(have, int | float):
            return op == "ne"
        return _ordered(have, want, op)
    if attr.type == "complex":
        raise invalid_filter(f"'{attr.name}' is complex: compare one of its sub-attributes")
    text = str(have)
    wanted = want if isinstance(want, str) else json.dumps(want)
    if not attr.case_exact:
        text, wanted = text.casefold(), wanted.casefold()
    return _strings(text, wanted, op)


def _strings(left: str, right: str, op: str) -> bool:
    if op == "co":
        return right in left
    if op == "sw":
        return left.startswith(right)
    if op == "ew":
        return left.endswith(right)
    return _ordered(left, right, op)


def _ordered(left: Any, right: Any, op: str) -> bool:
    if op == "eq":
        return bool(left == right)
    if op == "ne":
        return bool(left != right)
    if op == "gt":
        return bool(left > right)
    if op == "ge":
        return bool(left >= right)
    if op == "lt":
        return bool(left < right)
    if op == "le":
        return bool(left <= right)
    if op in ("co", "sw", "ew"):
        raise invalid_filter(f"'{op}' is defined for strings only")
    raise invalid_filter(f"unknown operator {op!r}")


def _as_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise ValueError(value)


def equality_lookup(flt: Filter, attr_name: str) -> str | None:
    """The value when the filter is exactly `<attr_name> eq "<string>"` (an index lookup)."""
    if (
        isinstance(flt, Compare)
        and flt.op == "eq"
        and flt.path.urn is None
        and flt.path.attr is not None
        and flt.path.attr.name == attr_name
        and flt.path.sub is None
        and flt.path.sub_name is None
        and isinstance(flt.value, str)
    ):
        return flt.value
    return None


__all__ = ["Filter", "ScimError", "equality_lookup", "matches", "parse"]
