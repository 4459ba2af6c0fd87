"""The look at one string: which rules it needs, then where each rule matches.

``Scanner.look`` is the cheap first look (the string's bytes mapped to character classes, then a
few substring tests, no regular expression); ``Scanner.find`` runs the rules the look asked for and
returns the spans to replace, ``(start, end, kind)``, with kind ``None`` for a span kept as it is
(an earlier marker, a card-shaped run failing its checks).

Imports: the standard library, ``_core.safety``, ``rules`` and ``encoded``.
"""

from __future__ import annotations

import datetime
import re
import urllib.parse
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from msatrace._core.redact import rules as r
from msatrace._core.redact.encoded import REVEALING
from msatrace._core.safety import warn_once

Span = tuple[int, int] | tuple[int, int, str]
Recogniser = Callable[[str], Iterable[Span]]
Found = list[tuple[int, int, str | None]]

MIN_LEN = 6  # the shortest default match (a@b.co)
_AT, _DIGITS, _ASSIGN, _SHAPES, _IP, _IBAN = 1, 2, 4, 8, 16, 32
ALL = 63


def _classes() -> bytes:
    """A table for ``bytes.translate``: digits and separators to 0, letters to A or a."""
    table = bytearray(b"." * 256)
    for c in b"0123456789":
        table[c] = ord("0")
    for c in b"ABCDEFGHIJKLMNOPQRSTUVWXYZ":
        table[c] = ord("A")
    for c in b"abcdefghijklmnopqrstuvwxyz_\"'":
        table[c] = ord("a")
    for c in b" -.()":
        table[c] = ord("0")
    for c in b"@=:+[":
        table[c] = c
    return bytes(table)


# The first look at a string is a few substring tests on its bytes mapped by this table (C
# loops, no regular expression): each rule runs only when the characters it needs are there.
_CLASSES = _classes()
# For :meth:`Scanner.clean`: the same classes, and every character that makes the look test
# more (an assignment's ``=`` or ``:``, ``@``, ``+``, ``[``, ``%``, a tab) mapped to ``!``.
_QUICK = bytes(
    ord("!") if c in b"@=:+[%\t" else b for c, b in zip(range(256), _CLASSES, strict=True)
)


def _overlapping(rx: re.Pattern[str], s: str, pos: int, end: int) -> Iterator[re.Match[str]]:
    """Every match, also those starting inside an earlier one: a match a check rejects, or one
    inside a longer run, must not hide the real one that starts a few characters later."""
    while (m := rx.search(s, pos, end)) is not None:
        yield m
        pos = m.start() + 1


# The characters an e-mail's local part is made of, and those its match may not follow: the
# match starts where the run of these before the ``@`` starts.
_LOCAL_RUN = re.compile(r"[\w.%+\-]{0,65}")


def _emails(s: str, add: Callable[[Any], None]) -> None:
    """``rules.EMAIL.finditer(s)``, tried only where an ``@`` is: at the start of the run of
    local-part characters before it (the rule's lookbehind allows no other start)."""
    pos, at = 0, s.find("@")
    while at >= 0:
        local = _LOCAL_RUN.match(s[max(pos, at - 66) : at][::-1])  # backwards from the @
        m = r.EMAIL.match(s, at - (local.end() if local else 0))
        if m is not None and m.start() >= pos:
            add((m.start(), m.end(), "email"))
            pos = m.end()
        at = s.find("@", max(pos, at + 1))


def _card_ends(raw: str) -> Iterator[int]:
    """Where a card in the card-shaped ``raw`` may end: at its end, then at each blank from the
    last (computed only if the longer ones fail)."""
    yield len(raw)
    end = raw.rfind(" ")
    while end > 0:
        yield end
        end = raw.rfind(" ", 0, end)


def _credential_words(s: str) -> bool:
    """Whether ``s`` holds a word the case-insensitive rules start with: ``Bearer`` or ``Basic``
    followed by a blank or a tab (``rules.AUTH_SCHEME``), or in text of 40 characters or more
    ``aws`` or ``secret`` (``rules.AWS_SECRET``), in any case."""
    low = s.lower()
    if ("bearer" in low or "basic" in low) and (" " in s or "\t" in s):
        return True
    return len(s) >= 40 and ("aws" in low or "secret" in low)


def _folded(text: str) -> bytes:
    """``rules.normalise_key(text)`` as UTF-8 (in C for ASCII text)."""
    if text.isascii():
        return text.encode("ascii").lower().translate(None, b"-_. ")
    return r.normalise_key(text).encode("utf-8", "surrogatepass")


class Scanner:
    """Finds the spans of one string that the rules (and the user's rules) match."""

    def __init__(
        self,
        suffixes: dict[str, str],
        longest: int,
        allow: frozenset[str],
        patterns: Mapping[str, re.Pattern[str]],
        recognisers: Iterable[Recogniser],
        ip: str,
    ) -> None:
        self._suffixes = suffixes
        self._longest = longest
        self._allow = allow
        self._patterns = dict(patterns)
        self._recognisers = tuple(recognisers)
        self._ip = ip
        self._reported: set[int] = set()
        # The last three bytes (UTF-8) of every name a key rule matches, normalised, and the
        # shorter names whole (a user's key): a sensitive name, normalised, ends with one.
        names = {
            n.encode("utf-8", "surrogatepass") for n in (*suffixes, *r.KEY_EXACT, *r.QUERY_EXTRA)
        }
        self._endings = frozenset(n[-3:] for n in names)
        self._short = tuple(n for n in names if len(n) < 3)
        # Custom rules may match anything: then every string gets the full look.
        self.everything = bool(self._patterns or self._recognisers)

    def clean(self, s: str) -> bool:
        """Whether ``s`` cannot hold any match of the default rules: ``not look(s, True)``, with
        fewer tests for the common text that holds none of ``@=:+[%`` or a tab (a path, a
        message), and never a different answer but where the rules cannot match either."""
        if len(s) < MIN_LEN:
            return True
        if self._ip != "off":
            return not self.look(s, True)
        c = s.encode("utf-8", "surrogatepass").translate(_QUICK).decode("latin-1")
        if "!" in c:
            return not self.look(s, True)
        return not (
            "00000000" in c  # a digit run (look's _DIGITS)
            or "AAAA" in c  # four capitals (look's _SHAPES, as below)
            or "eyJ" in s
            or ((" " in s or len(s) >= 40) and _credential_words(s))  # a tab is a "!" above
        )

    def look(self, s: str, first: bool = False, decoded: bool = False) -> int:
        """Which rules ``s`` needs (bit flags); 0 when it cannot hold any default match.

        With ``first``, stops at the first rule needed (the event's fast path only asks whether),
        and also looks at the text percent-decoded (``decoded``: this is that look).
        """
        if len(s) < MIN_LEN:
            return 0
        # As text: a substring test on str costs a fraction of one on bytes.
        c = s.encode("utf-8", "surrogatepass").translate(_CLASSES).decode("latin-1")
        need = 0
        # Single characters first, before the longer substrings that need them.
        if "00000000" in c or ("+" in c and "+0" in c):
            need |= _DIGITS
            if first:
                return need
            if "AA00" in c:
                need |= _IBAN
        if "@" in c:
            need |= _AT
        # ``name=value``, ``name: value`` or ``"name" : value`` (a route template's ``<int:id>``
        # has that shape too); a blank before the colon is tested on the text, since a blank
        # maps to the class of digits and ``12 :`` would be as common as ``12:30``.
        assignment = "=" in c or (":" in c and ("a:" in c or "A:" in c or " :" in s or "\t:" in s))
        if assignment and not first:
            need |= _ASSIGN
        if need and first:
            return need
        if (
            "AAAA" in c  # also "-----BEGIN", "BEARER", "BASIC": four capitals in a row
            or ("[" in c and "[REDACTED:" in s)
            or "eyJ" in s
            or ((" " in s or "\t" in s or len(s) >= 40) and _credential_words(s))
        ):
            need |= _SHAPES
        if self._ip != "off" and ("0" in c or ":" in c):
            need |= _IP
        if first and not need and assignment and self._sensitive_assignment(s):
            # The first look only asks whether anything would change: an assignment whose name
            # is not sensitive changes nothing, so it is no reason to look closer.
            need |= _ASSIGN
        if first and not need and not decoded:
            # Percent-encoded text (and a form query's ``+`` blanks) is also redacted as decoded
            # (engine ``_text``): the first look must see what decoding reveals, with a ``+`` as
            # written as itself and as a blank (a form-encoded space).
            escaped = "%" in s and REVEALING.search(s) is not None
            if escaped or ("+" in s and "=" in s):
                plain = urllib.parse.unquote(s, errors="replace") if escaped else ""
                if "+" in s:
                    plain += "\n" + urllib.parse.unquote_plus(s, errors="replace")
                return self.look(plain, True, True)
        return need

    def _sensitive_assignment(self, s: str) -> bool:
        """Whether ``s`` holds an assignment :meth:`find` would redact (outside a query string).

        First a cheap test at each ``=`` and ``:``: a sensitive name stands right before it
        (after a quote and blanks) and, normalised, ends with a sensitive name of the rules;
        only if one does (or the text has many of them), the assignments as :meth:`find` reads
        them.
        """
        for sep in "=:":
            i, seen = s.find(sep), 0
            while i >= 0:
                window = s[max(0, i - 200) : i]
                head = window.rstrip("\"' \t")[-64:]  # a name has at most 64 characters
                seen += 1
                if seen > 8 or (len(head) < 64 and i > 200) or self._ends_in_name(head):
                    found: Found = []
                    self._assignments(s, False, found.append)
                    return bool(found)
                i = s.find(sep, i + 1)
        return False

    def _ends_in_name(self, head: str) -> bool:
        tail = _folded(head)
        return tail[-3:] in self._endings or tail.endswith(self._short)

    def find(self, s: str, hint: bool, query: bool, need: int) -> Found:
        found: Found = []
        add = found.append
        if need & _ASSIGN:
            self._assignments(s, query, add)
        if need & _DIGITS:
            self._numbers(s, hint, need & _IBAN, add)
        if need & _IP:
            for rx in (r.IPV4, r.IPV6):
                for m in rx.finditer(s):
                    if r.ip_address(m.group()):
                        add((m.start(), m.end(), "ip"))
        if need & _AT:
            if "://" in s:
                for m in r.URL_CREDENTIALS.finditer(s):
                    add((m.start(1), m.end(1), "url_credentials"))
            _emails(s, add)
        if need & _SHAPES:
            self._shapes(s, add)
        for kind, rx in self._patterns.items():
            for m in rx.finditer(s):
                if m.end() > m.start():
                    add((m.start(), m.end(), kind))
        for fn in self._recognisers:
            if not self._recognise(fn, s, add):
                return [(0, len(s), "recogniser_failed")]
        return found

    def _shapes(self, s: str, add: Callable[[Any], None]) -> None:
        if "[REDACTED:" in s:
            for m in r.MARKER.finditer(s):
                add((m.start(), m.end(), None))
        if "-----BEGIN" in s:
            for m in r.PEM.finditer(s):
                add((m.start(), m.end(), "private_key"))
        if "eyJ" in s:
            for m in r.JWT.finditer(s):
                add((m.start(), m.end(), "jwt"))
        for m in r.AUTH_SCHEME.finditer(s):
            token = m.group(2)
            if m.group(1).lower() == "bearer":
                if r.bearer_token(token):
                    add((m.start(2), m.end(2), "bearer"))
            elif r.basic_credentials(token):
                add((m.start(2), m.end(2), "basic_auth"))
        for m in r.AWS_KEY_ID.finditer(s):
            add((m.start(), m.end(), "aws_access_key"))
        if len(s) >= 40:
            for m in r.AWS_SECRET.finditer(s):
                if r.aws_secret(m.group(1)):
                    add((m.start(1), m.end(1), "aws_secret_key"))

    def _assignments(self, s: str, query: bool, add: Callable[[Any], None]) -> None:
        pos, search = 0, r.ASSIGNMENT.search
        while (m := search(s, pos)) is not None:
            # a name that is not sensitive: its "value" may be the next assignment (a: b=c)
            pos = m.end(2)
            name = r.normalise_key(m.group(2))
            if name in self._allow:
                continue
            kind = r.key_kind(name, self._suffixes, r.KEY_EXACT, self._longest)
            if kind is None and (m.group(1) or query):
                kind = r.QUERY_EXTRA.get(name)
            if kind is None:
                continue
            pos = m.end()
            g = 3 if m.group(3) is not None else 4 if m.group(4) is not None else 5
            value = m.group(g)
            if value.lower() in ("null", "none", "true", "false", "undefined"):
                continue
            end = m.end(g)
            if g == 5 and kind in ("auth", "cookie") and "=" not in s[m.end(2) : m.start(g)]:
                # a header line (name: value): the value runs to the end of the line
                nl = s.find("\n", end)
                end = len(s) if nl < 0 else nl
            add((m.start(g), end, kind))

    def _numbers(self, s: str, hint: bool, iban: int, add: Callable[[Any], None]) -> None:
        # Every numeric rule matches inside a run of digits and separators: find the runs once,
        # then run each rule only over its run (plus two characters its lookahead reads).
        for a, e in r.numeric_runs(s):
            n = r.digit_count(s[a:e])
            if n >= 8:
                self._run(s, a, e, n, hint, add)
        pos = 0
        while iban and (m := r.IBAN.search(s, pos)) is not None:
            # the country's length decides where the IBAN ends, whatever follows it
            head = r.iban_prefix(m.group(1))
            if head is None:
                pos = m.start() + 1
                continue
            pos = m.start() + len(head)
            add((m.start(), pos, "iban" if r.iban(head) else None))

    def _run(self, s: str, a: int, e: int, n: int, hint: bool, add: Callable[[Any], None]) -> None:
        """The numeric rules over the run ``s[a:e]`` of ``n`` digits (their lookahead reads two
        characters past it); only the rules whose digit counts ``n`` allows, and none after a
        span covering the whole run (every later match would lie inside it, and lose to it)."""
        b = min(len(s), e + 2)
        # A card-shaped run failing its checks, or an IBAN failing mod-97, is kept whole (kind
        # None): no shorter rule (a phone) may match a piece of it, so the outcome never depends
        # on what was redacted next to it, and redacting twice changes nothing.
        pos = a
        while n >= 13 and (m := r.CARD.search(s, pos, b)) is not None:
            raw, start = m.group(), m.start()
            # In a run of digit groups a card may end at any group and start at any group.
            for end in _card_ends(raw):
                if r.card_number(raw[:end]):
                    add((start, start + end, "card"))
                    if start == a and start + end == e:
                        return
                    break
            else:
                if r.card_shaped(raw):
                    add((start, m.end(), None))
                    if start == a and m.end() == e:
                        return
            pos = start + raw.index(" ") + 1 if " " in raw else m.end()
        today = None
        for m in _overlapping(r.RRN, s, a, b) if n >= 13 else ():
            # 13 digits without the dash are also barcodes and timestamps: a context word (or
            # the field's name) must say it is a registration number.
            context = hint or r.RRN_CONTEXT.search(s, max(0, m.start() - 40), m.start())
            if not m.group(2) and not context:
                continue
            today = today or datetime.date.today()
            if r.rrn(m.group(1), m.group(3), today) is not False:
                add((m.start(), m.end(), "rrn"))
                if m.start() == a and m.end() == e:
                    return
        for m in _overlapping(r.PHONE_KR, s, a, b) if n >= 9 else ():
            if r.phone_digits(m.group(), 9, 13):
                add((m.start(), m.end(), "phone"))
                if m.start() == a and m.end() == e:
                    return
        if s[a] == "+":
            for m in _overlapping(r.PHONE_INTL, s, a, b):
                if r.phone_digits(m.group(), 8, 15):
                    add((m.start(), m.end(), "phone"))
        if n < 9:
            return
        for m in _overlapping(r.PHONE_NANP, s, a, b):
            add((m.start(), m.end(), "phone"))
        for m in _overlapping(r.PHONE_NATIONAL, s, a, b):
            if r.phone_digits(m.group(), 9, 12):
                add((m.start(), m.end(), "phone"))

    def _recognise(self, fn: Recogniser, s: str, add: Callable[[Any], None]) -> bool:
        try:
            for span in fn(s):
                start, end = int(span[0]), int(span[1])
                kind = str(span[2]) if len(span) > 2 else "custom"
                if not (0 <= start < end <= len(s)) or not re.fullmatch(r"[a-z0-9_]{1,32}", kind):
                    raise ValueError(f"span {span!r} is not (start, end[, kind]) within the text")
                add((start, end, kind))
        except Exception as exc:
            if id(fn) not in self._reported:
                self._reported.add(id(fn))
                name = getattr(fn, "__qualname__", repr(fn))
                warn_once(
                    f"redact.recogniser.{name}",
                    "msatrace: redaction recogniser %s failed; its values are redacted whole",
                    name,
                    exc=exc,
                )
            return False
        return True
