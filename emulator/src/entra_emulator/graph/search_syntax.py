"""`$search` on directory objects as Graph documents it ([search-query-parameter]).

`"prop:text"` clauses joined by AND / OR (upper case, AND binding tighter) with
parentheses. displayName and description are tokenized (spaces, lower-to-upper case
changes, letters/digits/symbols; symbol-joined words also as one token) and every token
of the text must start a token of the value, in any order; other properties match when
the whole value starts with the text. Case- and accent-insensitive.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable

from ..directory import fold
from .common import bad_request

TOKENIZED = frozenset({"displayName", "description"})
_CODE = "Request_UnsupportedQuery"
Predicate = Callable[[dict], bool]
_LEXEME = re.compile(r'\s*(?:(\()|(\))|"((?:[^"\\]|\\.)*)"|(AND|OR)(?![^\s()"]))')


def tokens(text: str) -> list[str]:
    """Graph's tokens of TEXT: `HelloWorld 42` -> hello, world, 42; `a.b` -> a, ., b, ab."""
    found: list[str] = []
    for chunk in unicodedata.normalize("NFC", text).split():
        pieces = _pieces(chunk)
        found += pieces
        words = [p for p in pieces if p[0].isalnum()]
        if len(words) > 1 and len(words) < len(pieces):
            found.append("".join(words))  # "helloworld" finds "hello-world"
    return [fold(t) for t in found]


def _pieces(chunk: str) -> list[str]:
    pieces: list[str] = []
    current, kind = "", ""
    for ch in chunk:
        ch_kind = "letter" if ch.isalpha() else "digit" if ch.isdigit() else "symbol"
        split = ch_kind != kind or ch_kind == "symbol"
        # Only a lower-to-upper change splits: "HELLOworld" is one token, "helloWorld" two.
        split = split or (ch.isupper() and current[-1:].islower())
        if current and split:
            pieces.append(current)
            current = ""
        current, kind = current + ch, ch_kind
    if current:
        pieces.append(current)
    return pieces


def clause_matches(entry: dict, prop: str, text: str) -> bool:
    value = str(entry.get(prop) or "")
    if prop not in TOKENIZED:
        return fold(value).startswith(fold(text))
    have = tokens(value)
    return all(any(h.startswith(want) for h in have) for want in tokens(text))


def parse(raw: str, searchable: set[str]) -> Predicate:
    """The $search expression as a predicate on entries; 400 Request_UnsupportedQuery."""
    lexemes = _lex(raw)
    predicate, rest = _or(lexemes, searchable)
    if rest:
        raise _syntax_error(raw)
    return predicate


def _lex(raw: str) -> list[tuple[str, str]]:
    lexemes, at = [], 0
    while raw[at:].strip():
        match = _LEXEME.match(raw, at)
        if not match:
            raise _syntax_error(raw)
        opening, closing, clause, operator = match.groups()
        if opening or closing:
            lexemes.append(("paren", opening or closing))
        elif operator:
            lexemes.append(("op", operator))
        else:
            lexemes.append(("clause", re.sub(r"\\(.)", r"\1", clause)))
        at = match.end()
    return lexemes


def _or(lexemes, searchable) -> tuple[Predicate, list]:
    left, rest = _and(lexemes, searchable)
    while rest[:1] == [("op", "OR")]:
        right, rest = _and(rest[1:], searchable)
        left = _either(left, right)
    return left, rest


def _and(lexemes, searchable) -> tuple[Predicate, list]:
    left, rest = _atom(lexemes, searchable)
    while rest[:1] == [("op", "AND")]:
        right, rest = _atom(rest[1:], searchable)
        left = _both(left, right)
    return left, rest


def _atom(lexemes, searchable) -> tuple[Predicate, list]:
    if not lexemes:
        raise bad_request("Syntax error: the $search expression ends early.", _CODE)
    kind, value = lexemes[0]
    if (kind, value) == ("paren", "("):
        inner, rest = _or(lexemes[1:], searchable)
        if rest[:1] != [("paren", ")")]:
            raise bad_request("Syntax error: a '(' in $search is not closed.", _CODE)
        return inner, rest[1:]
    if kind != "clause":
        raise bad_request(f"Syntax error: unexpected '{value}' in $search.", _CODE)
    prop, colon, text = value.partition(":")
    if not colon or prop not in searchable:
        raise bad_request(f'Invalid $search clause: "{value}"', _CODE)
    return (lambda entry: clause_matches(entry, prop, text)), lexemes[1:]


def _either(left: Predicate, right: Predicate) -> Predicate:
    return lambda entry: left(entry) or right(entry)


def _both(left: Predicate, right: Predicate) -> Predicate:
    return lambda entry: left(entry) and right(entry)


def _syntax_error(raw: str):
    return bad_request(f"Syntax error in $search: {raw}", _CODE)
