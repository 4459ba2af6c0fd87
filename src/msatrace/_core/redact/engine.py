"""The Redactor: applies the rules of ``rules`` to log events, span attributes, URLs and text.

Built once (``Redactor.from_settings``), called per event. Returns copies, never mutates what it
is given, and returns its input itself when nothing in it needed redacting (the common case, kept
cheap: one search over the event's strings decides whether any string needs a closer look). It
never raises: an internal failure redacts the whole value instead of leaking it, and a custom
recogniser that fails is reported once and its value redacted whole.

Imports: the standard library, ``_core.config`` (the settings), ``_core.safety`` and ``rules``.
"""

from __future__ import annotations

import datetime
import decimal
import enum
import hashlib
import hmac
import re
import urllib.parse
import uuid
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from msatrace._core.redact import rules as r
from msatrace._core.safety import failed, warn_once

if TYPE_CHECKING:
    from msatrace._core.config.settings import Settings

Span = tuple[int, int] | tuple[int, int, str]
Recogniser = Callable[[str], Iterable[Span]]

# Log-event fields msatrace itself fills (the line's schema): never redacted.
SCHEMA_FIELDS = frozenset(
    ("timestamp", "level", "logger", "service", "environment", "version", "trace_id", "span_id",
     "request_id", "parent_span_id")
)  # fmt: skip
_PLAIN = (float, bool, type(None), datetime.date, datetime.time, datetime.timedelta, uuid.UUID)
_PLAIN += (decimal.Decimal, enum.Enum)


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
# Attributes holding a URL or a query string (OpenTelemetry semantic conventions, old and new).
_URL_KEYS = frozenset(("url.full", "url.query", "http.url", "http.target", "url.original"))
_MAX_KEYS = 4096  # verdicts cached per key name; past this, computed each time
_ALLOW = "allow"
_MIN_LEN = 6  # the shortest default match (a@b.co)
_AT, _DIGITS, _ASSIGN, _SHAPES, _IP, _IBAN = 1, 2, 4, 8, 16, 32
_ALL = 63


class Redactor:
    """Replaces personal data and secrets with ``[REDACTED:<kind>]``.

    Args:
        enabled: off: every method returns its input unchanged.
        keys: more sensitive key names (separator- and case-insensitive).
        allow_keys: key names whose values are never redacted, by key or by value.
        patterns: more value rules, ``kind -> regular expression`` (compiled).
        recognisers: callables ``text -> iterable of (start, end)`` or ``(start, end, kind)``.
        hash_secret: with it, every replacement carries a keyed hash of the value
            (``[REDACTED:email:1f0c...]``): the same value gives the same hash, for correlation.
        hash_values: hash every kind (needs ``hash_secret``); else only IP addresses, if asked.
        keep_last4: cards keep their last four digits (``[REDACTED:card:last4=1111]``).
        ip: ``off`` (IP addresses are kept), ``redact`` or ``hash``.
        max_depth: nesting below this is replaced whole.
    """

    def __init__(
        self,
        *,
        enabled: bool = True,
        keys: Iterable[str] = (),
        allow_keys: Iterable[str] = (),
        patterns: Mapping[str, re.Pattern[str]] | None = None,
        recognisers: Iterable[Recogniser] = (),
        hash_secret: bytes | None = None,
        hash_values: bool = False,
        keep_last4: bool = False,
        ip: str = "off",
        max_depth: int = 16,
    ) -> None:
        self.enabled = enabled
        self._suffixes = dict(r.KEY_SUFFIXES)
        extra = {r.normalise_key(k) for k in keys} - {""}
        self._suffixes.update(dict.fromkeys(extra, "secret"))
        self._longest = max(map(len, self._suffixes))
        self._allow = frozenset(r.normalise_key(k) for k in allow_keys)
        self._patterns = dict(patterns or {})
        self._recognisers = tuple(recognisers)
        self._secret = hash_secret
        self._hash_values = hash_values and hash_secret is not None
        self._last4 = keep_last4
        self._ip = ip
        self._max_depth = max_depth
        self._verdicts: dict[str, tuple[str | None, bool]] = {}
        self._reported: set[int] = set()
        # Custom rules may match anything: then every string gets the full look.
        self._everything = bool(self._patterns or self._recognisers)

    @classmethod
    def from_settings(cls, settings: Settings) -> Redactor:
        """The redactor ``init()`` settings ask for (``redact*`` options)."""
        secret = settings.redact_hash_secret
        return cls(
            enabled=settings.redact,
            keys=settings.redact_keys,
            allow_keys=settings.redact_allow_keys,
            patterns=settings.redact_patterns,
            recognisers=settings.redact_recognisers,
            hash_secret=secret.encode("utf-8") if secret else None,
            hash_values=settings.redact_hash,
            keep_last4=settings.redact_keep_last4,
            ip=settings.redact_ip,
        )

    # --- public entry points: never raise ---

    def event(self, event: dict[str, Any]) -> dict[str, Any]:
        """A log event dict with its fields redacted; schema fields (trace_id, ...) untouched."""
        if not self.enabled:
            return event
        try:
            if not self._everything and self._clean(event):
                return event
            out = None
            for key, value in event.items():
                if key in SCHEMA_FIELDS:
                    continue
                new = self._field(key, value, 1)
                if new is not value:
                    if out is None:
                        out = dict(event)
                    out[key] = new
            return event if out is None else out
        except Exception as exc:
            failed("redact.event", exc)
            return {k: (v if k in SCHEMA_FIELDS else "[REDACTED:error]") for k, v in event.items()}

    def attributes(self, attributes: Mapping[str, Any]) -> Mapping[str, Any]:
        """Span (or any) attributes redacted; the mapping itself when nothing changed."""
        if not self.enabled:
            return attributes
        try:
            out = None
            for key, value in attributes.items():
                if key in _URL_KEYS and type(value) is str:
                    new: Any = self._url(value, key == "url.query")
                else:
                    new = self._field(key, value, 1)
                if new is not value:
                    if out is None:
                        out = dict(attributes)
                    out[key] = new
            return attributes if out is None else out
        except Exception as exc:
            failed("redact.attributes", exc)
            return dict.fromkeys(attributes, "[REDACTED:error]")

    def text(self, text: str) -> str:
        """Free text (a message, an exception's message or stack) redacted."""
        if not self.enabled:
            return text
        try:
            return self._text(str.__str__(text), False)
        except Exception as exc:
            failed("redact.text", exc)
            return "[REDACTED:error]"

    def url(self, url: str) -> str:
        """A URL or query string: credentials, sensitive parameters and values redacted."""
        if not self.enabled:
            return url
        try:
            return self._url(str.__str__(url), "?" not in url and "://" not in url)
        except Exception as exc:
            failed("redact.url", exc)
            return "[REDACTED:error]"

    def value(self, value: Any) -> Any:
        """Any value (nested containers included) redacted by value rules."""
        if not self.enabled:
            return value
        try:
            return self._value(value, 0, False)
        except Exception as exc:
            failed("redact.value", exc)
            return "[REDACTED:error]"

    # --- walking ---

    def _clean(self, event: Mapping[str, Any]) -> bool:
        """True when no key is sensitive and no value can hold a match: the fast path."""
        verdicts, strings = self._verdicts, []
        for key, value in event.items():
            if key in SCHEMA_FIELDS:
                continue
            v = verdicts.get(key)
            if v is None:
                v = self._verdict(key)
            if v[0] is not None or v[1]:
                return False
            t = type(value)
            if t is str:
                strings.append(value)
            elif t is int:
                if not -(10**12) < value < 10**12:
                    return False
            elif t is not float and t is not bool and value is not None:
                return False
        return not self._look("\n".join(strings), True)

    def _verdict(self, key: Any) -> tuple[str | None, bool]:
        """(kind or _ALLOW or None, whether the key hints at a registration number)."""
        if type(key) is not str:
            key = str(key)
        v = self._verdicts.get(key)
        if v is None:
            n = r.normalise_key(key)
            if n in self._allow:
                v = (_ALLOW, False)
            else:
                v = (r.key_kind(n, self._suffixes, r.KEY_EXACT, self._longest), False)
                if v[0] is None and r.RRN_CONTEXT.search(key):
                    v = (None, True)
            if len(self._verdicts) < _MAX_KEYS:
                self._verdicts[key] = v
        return v

    def _field(self, key: Any, value: Any, depth: int) -> Any:
        kind, hint = self._verdict(key)
        if kind is None:
            return self._value(value, depth, hint)
        if kind == _ALLOW or value is None or value == "" or type(value) is bool:
            return value
        if type(value) is str and r.MARKER.fullmatch(value):
            return value
        plain = value if type(value) in (str, int, float) else None
        return self._marker(kind, None if plain is None else str(plain))

    def _value(self, value: Any, depth: int, hint: bool) -> Any:
        t = type(value)
        if t is str:
            return self._text(value, hint)
        if t is int:
            if -(10**12) < value < 10**12:
                return value
            s = str(value)
            new = self._text(s, hint)
            return value if new is s else new
        if isinstance(value, _PLAIN):
            return value
        if depth >= self._max_depth:
            return "[REDACTED:depth]"
        if isinstance(value, Mapping):
            out = None
            for k, v in value.items():
                new = self._field(k, v, depth + 1)
                if new is not v:
                    if out is None:
                        out = dict(value)
                    out[k] = new
            return value if out is None else out
        if isinstance(value, (list, tuple, set, frozenset)):
            items = [self._value(v, depth + 1, hint) for v in value]
            if all(a is b for a, b in zip(items, value)):
                return value
            if t in (list, tuple, set, frozenset):
                return t(items)
            return items
        if isinstance(value, str):
            return self._text(str.__str__(value), hint)
        if isinstance(value, (bytes, bytearray)):
            s = bytes(value).decode("utf-8", "replace")
            new = self._text(s, hint)
            return value if new is s else new
        # Anything else is written as its str() by the renderers: look at that.
        try:
            s = str(value)
        except Exception:
            return "[REDACTED:unprintable]"  # the user's __str__ failed: nothing safe to show
        new = self._text(s, hint)
        return value if new is s else new

    def _url(self, url: str, query: bool) -> str:
        new = self._query(url) if query else self._text(url, False)
        if "%" in new or "+" in new:
            # A query string carries its values percent-encoded (an e-mail's @ as %40): look at
            # the decoded form too, and write that, redacted, when it held something.
            decoded = urllib.parse.unquote_plus(new)
            if decoded != new:
                redacted = self._query(decoded) if query else self._text(decoded, False)
                if redacted is not decoded:
                    return redacted
        return new

    def _query(self, query: str) -> str:
        new = self._text("?" + query, False, query=True)
        return query if new[1:] == query else new[1:]

    # --- text ---

    def _look(self, s: str, first: bool = False) -> int:
        """Which rules ``s`` needs (bit flags); 0 when it cannot hold any default match.

        With ``first``, stops at the first rule needed (the event's fast path only asks whether).
        """
        if len(s) < _MIN_LEN:
            return 0
        c = s.encode("utf-8", "surrogatepass").translate(_CLASSES)
        need = 0
        if b"00000000" in c or b"+0" in c:
            need |= _DIGITS
            if first:
                return need
            if b"AA00" in c:
                need |= _IBAN
        if b"@" in c:
            need |= _AT
        if b"=" in c or b"a:" in c or b"A:" in c:
            need |= _ASSIGN
        if need and first:
            return need
        if (
            b"AAAA" in c
            or "eyJ" in s
            or "[REDACTED:" in s
            or "-----BEGIN" in s
            or "earer" in s
            or "asic" in s
            or "EARER" in s
            or "ASIC" in s
            or (len(s) >= 40 and ("ws" in s or "WS" in s or "ecret" in s or "ECRET" in s))
        ):
            need |= _SHAPES
        if self._ip != "off" and (b"0" in c or b":" in c):
            need |= _IP
        return need

    def _text(self, s: str, hint: bool, query: bool = False) -> str:
        need = _ALL if self._everything else self._look(s)
        if not need:
            return s
        spans = self._find(s, hint, query, need)
        if not spans:
            return s
        # earliest first, then the longest; at a tie a rule's match wins over a kept run
        spans.sort(key=lambda x: (x[0], x[0] - x[1], x[2] is None))
        out, pos = [], 0
        for start, end, kind in spans:
            if start < pos:
                continue
            out.append(s[pos:start])
            out.append(s[start:end] if kind is None else self._marker(kind, s[start:end]))
            pos = end
        out.append(s[pos:])
        return "".join(out)

    def _marker(self, kind: str, value: str | None) -> str:
        if kind == "card" and self._last4 and value is not None:
            digits = [c for c in value if c.isdigit()]
            if len(digits) >= 13:
                return f"[REDACTED:card:last4={''.join(digits[-4:])}]"
        if self._secret is not None and value is not None:
            if self._hash_values or (kind == "ip" and self._ip == "hash"):
                digest = hmac.new(self._secret, value.encode("utf-8", "replace"), hashlib.sha256)
                return f"[REDACTED:{kind}:{digest.hexdigest()[:12]}]"
        return f"[REDACTED:{kind}]"

    def _find(
        self, s: str, hint: bool, query: bool, need: int
    ) -> list[tuple[int, int, str | None]]:
        found: list[tuple[int, int, str | None]] = []
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
            for m in r.URL_CREDENTIALS.finditer(s):
                add((m.start(1), m.end(1), "url_credentials"))
            for m in r.EMAIL.finditer(s):
                add((m.start(), m.end(), "email"))
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
            if g == 5 and kind in ("auth", "cookie") and not m.group(1):
                # a header line: the value runs to the end of the line
                nl = s.find("\n", end)
                end = len(s) if nl < 0 else nl
            add((m.start(g), end, kind))

    def _numbers(self, s: str, hint: bool, iban: int, add: Callable[[Any], None]) -> None:
        # A card-shaped run failing its checks, or an IBAN failing mod-97, is kept whole (kind
        # None): no shorter rule (a phone) may match a piece of it, so the outcome never depends
        # on what was redacted next to it, and redacting twice changes nothing.
        for m in r.CARD.finditer(s):
            if r.card_number(m.group()):
                add((m.start(), m.end(), "card"))
            elif r.card_shaped(m.group()):
                add((m.start(), m.end(), None))
        today = None
        for m in r.RRN.finditer(s):
            if not m.group(2):
                # 13 digits without the dash are also barcodes and timestamps: a context word
                # (or the field's name) must say it is a registration number.
                if not (hint or r.RRN_CONTEXT.search(s, max(0, m.start() - 40), m.start())):
                    continue
            today = today or datetime.date.today()
            if r.rrn(m.group(1), m.group(3), today) is not False:
                add((m.start(), m.end(), "rrn"))
        for m in r.PHONE_KR.finditer(s):
            if r.phone_digits(m.group(), 9, 13):
                add((m.start(), m.end(), "phone"))
        if "+" in s:
            for m in r.PHONE_INTL.finditer(s):
                if r.phone_digits(m.group(), 8, 15):
                    add((m.start(), m.end(), "phone"))
        for m in r.PHONE_NANP.finditer(s):
            add((m.start(), m.end(), "phone"))
        for m in r.PHONE_NATIONAL.finditer(s) if "0" in s else ():
            if r.phone_digits(m.group(), 9, 12):
                add((m.start(), m.end(), "phone"))
        for m in r.IBAN.finditer(s) if iban else ():
            if r.iban(m.group(1)):
                add((m.start(), m.end(), "iban"))
            elif r.iban_shaped(m.group(1)):
                add((m.start(), m.end(), None))

    def _recognise(self, fn: Recogniser, s: str, add: Callable[[Any], None]) -> bool:
        try:
            for span in fn(s):
                start, end = int(span[0]), int(span[1])
                kind = str(span[2]) if len(span) > 2 else "custom"  # type: ignore[misc]  # 3-tuple
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
