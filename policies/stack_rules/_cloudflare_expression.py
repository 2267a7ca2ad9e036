"""Does a Cloudflare rules expression apply to every response of a hostname, to some, or to none?

Only host tests can be decided from the configuration: `true`, `false`, `http.host eq "x"`,
`http.host == "x"`, `http.host ne "x"`, `http.host in {"a" "b"}`, combined with and/or/xor/not
and parentheses. Any other test (a path, `starts_with(...)`, a header) may hold for some responses
of the host and not for others, so it is SOME. Three-valued (Kleene) logic combines the answers;
an expression that cannot be parsed is SOME as a whole. A wildcard record (`*.x.org`) serves every
host under it, so for it a test of one host name is SOME at most (or NONE for a name outside it).

Written by hand because no Python library parses Cloudflare's wirefilter language.
"""

from __future__ import annotations

import re
from enum import Enum


class Applies(Enum):
    ALL = "every response"
    SOME = "some responses"
    NONE = "no response"

    def __and__(self, other: "Applies") -> "Applies":
        if Applies.NONE in (self, other):
            return Applies.NONE
        return Applies.ALL if self is other is Applies.ALL else Applies.SOME

    def __or__(self, other: "Applies") -> "Applies":
        if Applies.ALL in (self, other):
            return Applies.ALL
        return Applies.NONE if self is other is Applies.NONE else Applies.SOME

    def __invert__(self) -> "Applies":
        return {Applies.ALL: Applies.NONE, Applies.NONE: Applies.ALL}.get(self, Applies.SOME)

    def __xor__(self, other: "Applies") -> "Applies":
        if Applies.SOME in (self, other):
            return Applies.SOME
        return Applies.ALL if self is not other else Applies.NONE


_TOKEN = re.compile(
    r"""\s*(?:
        (?P<string>"(?:[^"\\]|\\.)*")
      | (?P<raw>r(?P<hashes>\#*)"(?:.|\n)*?"(?P=hashes))
      | (?P<punct>==|!=|&&|\|\||\^\^|>=|<=|[(){}\[\],!<>~])
      | (?P<word>[A-Za-z0-9_.:/*-]+)
    )""",
    re.VERBOSE,
)
_OR, _XOR, _AND, _NOT = ("or", "||"), ("xor", "^^"), ("and", "&&"), ("not", "!")
_LOGICAL = set(_OR + _XOR + _AND)
_EQUAL, _NOT_EQUAL = ("eq", "=="), ("ne", "!=")
_KEYWORDS = _LOGICAL | {"not", "true", "false", "in", "eq", "ne"}  # case-insensitive in Cloudflare's language


class _Unparsable(Exception):
    pass


# Escapes of a quoted string: \" and \\, a byte in hex (\x2e) or in three octal digits (\056).
_ESCAPE = re.compile(r'\\(?:(["\\])|x([0-9A-Fa-f]{2})|([0-7]{3})|(.?))', re.DOTALL)


def _unescape(body: str) -> str:
    r"""A quoted string's bytes as Cloudflare reads them, as text: "www\x2ex.org" is www.x.org, so a
    rule that writes a host so still names it. Raises _Unparsable on an escape Cloudflare refuses."""
    data = bytearray()
    position = 0
    for match in _ESCAPE.finditer(body):
        data += body[position : match.start()].encode("utf-8", "surrogatepass")
        quoted, hexadecimal, octal, other = match.groups()
        if other is not None:
            raise _Unparsable(match.group(0))
        data += quoted.encode() if quoted else bytes([int(hexadecimal or octal, 16 if hexadecimal else 8) & 0xFF])
        position = match.end()
    data += body[position:].encode("utf-8", "surrogatepass")
    return data.decode("utf-8", "replace")  # bytes that are no UTF-8 name no host


def _tokens(expression: str) -> list[tuple[str, str]]:
    """(kind, text) pairs; strings are unquoted. Raises _Unparsable on anything unexpected."""
    tokens: list[tuple[str, str]] = []
    pos = 0
    text = expression.strip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if not match or match.end() == pos:
            raise _Unparsable(text[pos:])
        pos = match.end()
        if match.group("string") is not None:
            tokens.append(("string", _unescape(match.group("string")[1:-1])))
        elif match.group("raw") is not None:
            raw = match.group("raw")
            hashes = len(match.group("hashes"))
            tokens.append(("string", raw[2 + hashes : len(raw) - 1 - hashes]))
        elif match.group("punct") is not None:
            tokens.append(("punct", match.group("punct")))
        else:
            word = match.group("word")
            tokens.append(("word", word.lower() if word.lower() in _KEYWORDS else word))
    return tokens


class _Parser:
    """Recursive descent in Cloudflare's precedence: not, then and, then xor, then or."""

    def __init__(self, tokens: list[tuple[str, str]], host: str):
        self.tokens = tokens
        self.pos = 0
        self.host = host

    def peek(self) -> str | None:
        """The next operator, keyword or field; None for a string literal or at the end."""
        if self.pos >= len(self.tokens) or self.tokens[self.pos][0] == "string":
            return None
        return self.tokens[self.pos][1]

    def take(self) -> tuple[str, str]:
        if self.pos >= len(self.tokens):
            raise _Unparsable("unexpected end")
        token = self.tokens[self.pos]
        self.pos += 1
        return token

    def parse(self) -> Applies:
        result = self.disjunction()
        if self.pos != len(self.tokens):
            raise _Unparsable(self.peek() or "")
        return result

    def disjunction(self) -> Applies:
        result = self.exclusive()
        while self.peek() in _OR:
            self.take()
            result = result | self.exclusive()
        return result

    def exclusive(self) -> Applies:
        result = self.conjunction()
        while self.peek() in _XOR:
            self.take()
            result = result ^ self.conjunction()
        return result

    def conjunction(self) -> Applies:
        result = self.negation()
        while self.peek() in _AND:
            self.take()
            result = result & self.negation()
        return result

    def negation(self) -> Applies:
        if self.peek() in _NOT:
            self.take()
            return ~self.negation()
        return self.primary()

    def primary(self) -> Applies:
        if self.peek() == "(":
            self.take()
            result = self.disjunction()
            if self.take()[1] != ")":
                raise _Unparsable("missing )")
            return result
        if self.peek() == "true":
            self.take()
            return Applies.ALL
        if self.peek() == "false":
            self.take()
            return Applies.NONE
        return self.comparison(self.test_tokens())

    def test_tokens(self) -> list[tuple[str, str]]:
        """One field test: tokens up to the next logical operator or unmatched ')' (brackets balanced)."""
        start, depth = self.pos, 0
        while self.pos < len(self.tokens):
            kind, text = self.tokens[self.pos]
            if depth == 0 and kind != "string" and (text in _LOGICAL or text == ")"):
                break
            if kind == "punct" and text in "([{":
                depth += 1
            elif kind == "punct" and text in ")]}":
                depth -= 1
            self.pos += 1
        if self.pos == start or depth != 0:
            raise _Unparsable("empty or unbalanced test")
        return self.tokens[start : self.pos]

    def comparison(self, test: list[tuple[str, str]]) -> Applies:
        if test[0] != ("word", "http.host") or len(test) < 3:
            return Applies.SOME  # tests another field: may hold for some responses of the host only
        operator = test[1][1]
        if len(test) == 3 and test[2][0] == "string" and operator in _EQUAL + _NOT_EQUAL:
            equal = self.host_is(test[2][1])
            return equal if operator in _EQUAL else ~equal
        if operator == "in" and test[2] == ("punct", "{") and test[-1] == ("punct", "}"):
            members = [t for t in test[3:-1] if t != ("punct", ",")]
            if members and all(kind == "string" for kind, _ in members):
                found = Applies.NONE
                for _, text in members:
                    found = found | self.host_is(text)
                return found
        return Applies.SOME  # wildcard, matches, contains, lists ($...): cannot be decided here

    def host_is(self, name: str) -> Applies:
        """`http.host eq name` on the responses of the hostname.

        A wildcard hostname (`*.x.org`) stands for every host under it, so one name is at most
        some of its responses; the pattern itself as a name is one more such host, never all.
        """
        if not self.host.startswith("*."):
            return Applies.ALL if name == self.host else Applies.NONE
        suffix = self.host[1:]  # ".x.org": a wildcard serves names at any depth below it
        under = name.lower().endswith(suffix) and len(name) > len(suffix)
        return Applies.SOME if under else Applies.NONE


def applies_to(expression: object, host: str) -> Applies:
    """Whether `expression` selects every response of `host`, some of them, or none. A wildcard
    `host` (`*.x.org`) means every response of every host under it."""
    if not isinstance(expression, str) or "${" in expression:
        return Applies.SOME  # missing or a Terraform expression: unknown until apply
    try:
        return _Parser(_tokens(expression), host).parse()
    except (_Unparsable, RecursionError):  # nested deeper than the parser's recursion allows: undecided
        return Applies.SOME
