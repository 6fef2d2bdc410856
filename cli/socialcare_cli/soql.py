"""The part of SOQL and SOSL the Salesforce stand-in answers: what the adapter sends, parsed
strictly, so that a literal the adapter failed to escape is a MALFORMED_QUERY here as it
would be in Salesforce.

SOQL: `SELECT f, ... FROM Object [WHERE cond] [ORDER BY f [ASC|DESC]] [LIMIT n]`, where
cond combines `f = v`, `!=`, `<`, `<=`, `>`, `>=`, `f IN (v, ...)` with AND, OR and
parentheses; values are quoted strings (with SOQL's backslash escapes), true, false, null,
numbers and date-times; a field may be one relationship deep (`Parent.ContactId`).
SOSL: `FIND {term} IN ALL|EMAIL|NAME FIELDS RETURNING Object(f, ... [LIMIT n])`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from socialcare.identity.vendor import parse_time

_TOKEN = re.compile(
    r"\s*(?:(?P<str>'(?:[^'\\]|\\.)*')"
    r"|(?P<time>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:?\d\d))"
    r"|(?P<num>-?\d+(?:\.\d+)?)"
    r"|(?P<word>[A-Za-z_][\w.]*)"
    r"|(?P<op><=|>=|!=|=|<|>)"
    r"|(?P<punct>[(),]))"
)
_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", "b": "\b", "f": "\f", '"': '"', "'": "'", "\\": "\\"}


class Malformed(ValueError):
    """Salesforce's MALFORMED_QUERY / MALFORMED_SEARCH."""


def unescape(body: str) -> str:
    out, chars = [], iter(body)
    for char in chars:
        if char == "\\":
            code = next(chars, "")
            if code not in _ESCAPES:
                raise Malformed(f"invalid escape \\{code}")
            char = _ESCAPES[code]
        out.append(char)
    return "".join(out)


def _tokens(text: str) -> list[tuple[str, Any]]:
    found, at = [], 0
    while at < len(text.rstrip()):
        match = _TOKEN.match(text, at)
        if not match or match.end() == at:
            raise Malformed(f"unexpected text at {at}")
        kind = match.lastgroup or ""
        raw = match[kind]
        value: Any = raw
        if kind == "str":
            value = unescape(raw[1:-1])
        elif kind == "time":
            value = parse_time(raw)
        elif kind == "num":
            value = float(raw)
        elif kind == "word" and raw.lower() in ("true", "false", "null"):
            kind, value = "const", {"true": True, "false": False, "null": None}[raw.lower()]
        found.append((kind, value))
        at = match.end()
    return found


@dataclass
class Query:
    fields: list[str]
    sobject: str
    where: Callable[[Callable[[str], Any]], bool] = field(default=lambda get: True)
    order: tuple[str, bool] | None = None  # (field, descending)
    limit: int | None = None


class _Parser:
    def __init__(self, text: str) -> None:
        self.items = _tokens(text)
        self.at = 0

    def peek(self, word: str | None = None) -> bool:
        if self.at >= len(self.items):
            return False
        kind, value = self.items[self.at]
        return word is None or (kind in ("word", "punct", "op") and str(value).upper() == word)

    def take(self, kind: str | None = None) -> Any:
        if self.at >= len(self.items):
            raise Malformed("unexpected end of query")
        got_kind, value = self.items[self.at]
        if kind and got_kind != kind:
            raise Malformed(f"expected {kind}, found {got_kind}")
        self.at += 1
        return value

    def expect(self, word: str) -> None:
        if not self.peek(word):
            raise Malformed(f"expected {word}")
        self.at += 1

    def query(self) -> Query:
        self.expect("SELECT")
        fields = [self.take("word")]
        while self.peek(","):
            self.at += 1
            fields.append(self.take("word"))
        self.expect("FROM")
        query = Query(fields, self.take("word"))
        if self.peek("WHERE"):
            self.at += 1
            query.where = self.disjunction()
        if self.peek("ORDER"):
            self.at += 1
            self.expect("BY")
            name, descending = self.take("word"), False
            if self.peek("DESC") or self.peek("ASC"):
                descending = str(self.take()).upper() == "DESC"
            query.order = (name, descending)
        if self.peek("LIMIT"):
            self.at += 1
            query.limit = int(self.take("num"))
        if self.at != len(self.items):
            raise Malformed("unexpected text after the query")
        return query

    def disjunction(self) -> Callable[[Callable[[str], Any]], bool]:
        parts = [self.conjunction()]
        while self.peek("OR"):
            self.at += 1
            parts.append(self.conjunction())
        return lambda get: any(p(get) for p in parts)

    def conjunction(self) -> Callable[[Callable[[str], Any]], bool]:
        parts = [self.condition()]
        while self.peek("AND"):
            self.at += 1
            parts.append(self.condition())
        return lambda get: all(p(get) for p in parts)

    def value(self) -> Any:
        kind, value = self.items[self.at] if self.at < len(self.items) else ("", None)
        if kind not in ("str", "time", "num", "const"):
            raise Malformed("expected a value")
        self.at += 1
        return value

    def condition(self) -> Callable[[Callable[[str], Any]], bool]:
        if self.peek("("):
            self.at += 1
            inner = self.disjunction()
            self.expect(")")
            return inner
        name = self.take("word")
        if self.peek("IN"):
            self.at += 1
            self.expect("(")
            values = [self.value()]
            while self.peek(","):
                self.at += 1
                values.append(self.value())
            self.expect(")")
            return lambda get: any(compare(get(name), "=", v) for v in values)
        op = self.take("op")
        wanted = self.value()
        return lambda get: compare(get(name), op, wanted)


def compare(have: Any, op: str, wanted: Any) -> bool:
    """As Salesforce compares: text without case, times as instants, null only by =/!=."""
    if have is None or wanted is None:
        return (have is wanted) == (op == "=") if op in ("=", "!=") else False
    left: Any
    right: Any
    if isinstance(wanted, bool) or isinstance(have, bool):
        left, right = bool(have), bool(wanted)
    elif isinstance(wanted, float):
        left, right = float(have), wanted
    elif isinstance(wanted, datetime):
        left, right = parse_time(have), wanted
    else:
        left, right = str(have).lower(), wanted.lower()
    return {
        "=": left == right,
        "!=": left != right,
        "<": left < right,
        "<=": left <= right,
        ">": left > right,
        ">=": left >= right,
    }[op]


def parse_soql(text: str) -> Query:
    return _Parser(text).query()


_SOSL = re.compile(
    r"FIND\s*\{(?P<term>(?:[^{}\\]|\\.)*)\}\s*IN\s+(?P<scope>ALL|EMAIL|NAME)\s+FIELDS\s+"
    r"RETURNING\s+(?P<sobject>\w+)\s*\((?P<fields>[\w\s,.]+?)(?:\s+LIMIT\s+(?P<limit>\d+))?\)\s*",
    re.IGNORECASE,
)
_RESERVED = "?&|!{}[]()^~*:\"'+-"


@dataclass
class Search:
    words: list[str]
    scope: str
    sobject: str
    fields: list[str]
    limit: int | None


def parse_sosl(text: str) -> Search:
    """A FIND whose term is plain words (an escaped reserved character is plain text)."""
    match = _SOSL.fullmatch(text)
    if not match:
        raise Malformed("not a FIND ... IN ... FIELDS RETURNING Object(...) search")
    term, plain = match["term"], []
    chars = iter(term)
    for char in chars:
        if char == "\\":
            char = next(chars, "")
            if char not in _RESERVED + "\\":
                raise Malformed(f"invalid escape \\{char}")
        elif char in _RESERVED:
            raise Malformed(f"reserved character {char!r} not escaped")
        plain.append(char)
    words = [w for w in re.split(r"\W+", "".join(plain).lower()) if w]
    if not words:
        raise Malformed("search term too short")
    fields = [f.strip() for f in match["fields"].split(",") if f.strip()]
    limit = int(match["limit"]) if match["limit"] else None
    return Search(words, match["scope"].upper(), match["sobject"], fields, limit)
