"""The Redactor: applies the rules of ``rules`` to log events, span attributes, URLs and text.

Built once (``Redactor.from_settings``), called per event. Returns copies, never mutates what it
is given, and returns its input itself when nothing in it needed redacting (the common case, kept
cheap: one search over the event's strings decides whether any string needs a closer look). It
never raises: an internal failure redacts the whole value instead of leaking it, and a custom
recogniser that fails is reported once and its value redacted whole.

Imports: the standard library, ``_core.config`` (the settings), ``_core.safety``, ``rules``,
``scan``, ``encoded`` and ``first`` (the first look, which decides the common case).
"""

from __future__ import annotations

import datetime
import decimal
import enum
import hashlib
import hmac
import operator
import re
import urllib.parse
import uuid
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from msatrace._core.redact import rules as r
from msatrace._core.redact.encoded import ESCAPE, with_decoded
from msatrace._core.redact.first import MAX_KNOWN_LEN, SCHEMA_FIELDS, TEMPLATES, FirstLook
from msatrace._core.redact.scan import ALL, Recogniser, Scanner
from msatrace._core.safety import failed

if TYPE_CHECKING:
    from msatrace._core.config.settings import Settings

# Nesting deeper than this is replaced whole. Deeper than a log line can show: orjson writes a
# JSON value whole up to 254 levels, and the renderers cut anything deeper at 50
# (render.MAX_DEPTH), so every level a line shows has been looked at.
MAX_DEPTH = 256
# Items looked at in one value (an event, a span's attributes), shared references counted each
# time: a structure that would take longer is replaced whole, never scanned for seconds.
MAX_NODES = 200_000


class _Walk:
    """One walk through a value: the containers on the current path (cycles) and the items seen."""

    __slots__ = ("nodes", "path")

    def __init__(self) -> None:
        self.path: set[int] = set()
        self.nodes = 0


_PLAIN = (
    float, bool, type(None), datetime.date, datetime.time, datetime.timedelta, uuid.UUID,
    decimal.Decimal, enum.Enum,
)  # fmt: skip


# Attributes holding a URL or a query string (OpenTelemetry semantic conventions, old and new).
_URL_KEYS = frozenset(("url.full", "url.query", "http.url", "http.target", "url.original"))
_MAX_KEYS = 4096  # verdicts cached per key name; past this, computed each time
_ALLOW = "allow"


_START, _END = operator.itemgetter(0), operator.itemgetter(1)


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
        max_depth: int = MAX_DEPTH,
    ) -> None:
        self.enabled = enabled
        self._suffixes = dict(r.KEY_SUFFIXES)
        extra = {r.normalise_key(k) for k in keys} - {""}
        self._suffixes.update(dict.fromkeys(extra, "secret"))
        self._longest = max(map(len, self._suffixes))
        self._allow = frozenset(r.normalise_key(k) for k in allow_keys)
        self._secret = hash_secret
        self._hash_values = hash_values and hash_secret is not None
        self._last4 = keep_last4
        self._ip = ip
        self._max_depth = max_depth
        # No option changes a marker: each is [REDACTED:<kind>] (see _marker).
        self._plain_markers = not (self._hash_values or keep_last4 or ip == "hash")
        self._verdicts: dict[str, tuple[str | None, bool]] = {}
        self._scan = Scanner(
            self._suffixes, self._longest, self._allow, dict(patterns or {}), recognisers, ip
        )
        self._first = FirstLook(self._verdict, self._verdicts, self._scan, ip)
        # True when an event holds nothing the rules would change (the fast path).
        self._clean: Callable[[Mapping[str, Any]], bool] = self._first.event
        self.access_line_clean = self._first.access_line

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
            if not self._scan.everything and self._clean(event):
                return event
            return self._fields(event)
        except Exception as exc:
            failed("redact.event", exc)
            return {k: (v if k in SCHEMA_FIELDS else "[REDACTED:error]") for k, v in event.items()}

    def attributes(self, attributes: Mapping[str, Any]) -> Mapping[str, Any]:
        """Span (or any) attributes redacted; the mapping itself when nothing changed."""
        if not self.enabled:
            return attributes
        try:
            out, walk = None, _Walk()
            for key, value in attributes.items():
                if key in _URL_KEYS and type(value) is str:
                    new: Any = self._url(value, key == "url.query")
                else:
                    new = self._field(key, value, 1, walk)
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
            return self._value(value, 0, False, _Walk())
        except Exception as exc:
            failed("redact.value", exc)
            return "[REDACTED:error]"

    # --- walking ---

    def _fields(self, event: dict[str, Any]) -> dict[str, Any]:
        """The event with each field redacted (the slow path, when ``_clean`` says no)."""
        out, walk = None, _Walk()
        for key, value in event.items():
            if key in SCHEMA_FIELDS:
                continue
            try:
                new = self._field(key, value, 1, walk)
            except Exception as exc:  # this field only (an odd object): the others go on
                failed("redact.field", exc)
                new = "[REDACTED:error]"
            if new is not value:
                if out is None:
                    out = dict(event)
                out[key] = new
            elif key in TEMPLATES and type(value) is str and len(value) <= MAX_KNOWN_LEN:
                self._first.remember_kept(key, value)
        return event if out is None else out

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

    def _field(self, key: Any, value: Any, depth: int, walk: _Walk) -> Any:
        kind, hint = self._verdicts.get(key) or self._verdict(key)
        if kind is None:
            return self._value(value, depth, hint, walk)
        if kind == _ALLOW or value is None or value == "" or type(value) is bool:
            return value
        if type(value) is str and value[:10] == "[REDACTED:" and r.MARKER.fullmatch(value):
            return value
        plain = value if type(value) in (str, int, float) else None
        return self._marker(kind, None if plain is None else str(plain))

    def _value(self, value: Any, depth: int, hint: bool, walk: _Walk) -> Any:
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
        if isinstance(value, (Mapping, list, tuple, set, frozenset)):
            if id(value) in walk.path:
                return value  # a cycle: the renderers write it as a placeholder
            walk.nodes += len(value)
            if walk.nodes > MAX_NODES:
                return "[REDACTED:too_large]"
            walk.path.add(id(value))
            try:
                return self._container(value, t, depth, hint, walk)
            finally:
                walk.path.discard(id(value))
        if isinstance(value, str):
            return self._text(str.__str__(value), hint)
        if isinstance(value, (bytes, bytearray)):
            s = bytes(value).decode("utf-8", "replace")
            new = self._text(s, hint)
            return value if new is s else new
        # Anything else is written as its repr() by the renderers: look at that. One that cannot
        # be represented is left as it is: the renderers cannot write it either (a placeholder).
        try:
            s = repr(value)
        except Exception:
            return value
        new = self._text(s, hint)
        return value if new is s else new

    def _container(self, value: Any, t: type, depth: int, hint: bool, walk: _Walk) -> Any:
        if isinstance(value, Mapping):
            out = None
            for k, v in value.items():
                new = self._field(k, v, depth + 1, walk)
                if new is not v:
                    if out is None:
                        out = dict(value)
                    out[k] = new
            return value if out is None else out
        items = [self._value(v, depth + 1, hint, walk) for v in value]
        if all(a is b for a, b in zip(items, value, strict=False)):
            return value
        if t in (list, tuple, set, frozenset):
            return t(items)
        return items

    def _url(self, url: str, query: bool) -> str:
        scan = self._query if query else lambda u: self._text(u, False)
        # A query string carries its values percent-encoded (an e-mail's @ as %40): when the
        # decoded form holds more than the URL as written, it is written decoded and redacted.
        redacted = scan(url)
        decoded = urllib.parse.unquote_plus(url) if "%" in url or "+" in url else url
        if decoded != url:
            redacted_decoded = scan(decoded)
            if urllib.parse.unquote_plus(redacted) != redacted_decoded:
                return redacted_decoded
        return redacted

    def _query(self, query: str) -> str:
        new = self._text("?" + query, False, query=True)
        return query if new[1:] == query else new[1:]

    # --- text ---

    def _text(self, s: str, hint: bool, query: bool = False) -> str:
        found = [(a, b, kind, s[a:b]) for a, b, kind in self._spans(s, hint, query)]
        escaped = "%" in s and ESCAPE.search(s) is not None
        if escaped or ("+" in s and "=" in s):
            found = with_decoded(s, found, lambda t: self._spans(t, hint, query), escaped)
        return self._replace(s, found) if found else s

    def _spans(self, s: str, hint: bool, query: bool) -> list[tuple[int, int, str]]:
        """Where ``s`` is to be replaced, in order, without overlaps."""
        need = ALL if self._scan.everything else self._scan.look(s)
        if not need:
            return []
        spans = self._scan.find(s, hint, query, need)
        if len(spans) < 2:
            # one span or none: the list itself, unless its one span is kept as it is
            keep = not spans or spans[0][2] is not None
            return spans if keep else []  # type: ignore[return-value]  # no kind is None in it
        # A kept span (an earlier marker, a card-shaped run or IBAN failing its checks) hides the
        # matches lying wholly inside it (a phone number inside a digit run); of the rest, the
        # earliest wins, then the longest.
        kept = [(a, b) for a, b, kind in spans if kind is None]
        found = (
            [
                (a, b, kind)
                for a, b, kind in spans
                if kind is not None and not any(k0 <= a and b <= k1 for k0, k1 in kept)
            ]
            if kept
            else spans
        )
        found.sort(key=_END, reverse=True)  # then by start: the earliest, then the longest
        found.sort(key=_START)
        out, pos = [], 0
        for a, b, kind in found:
            if a >= pos:
                out.append((a, b, kind))
                pos = b
        return out  # type: ignore[return-value]  # no kept span: no kind is None

    def _replace(self, s: str, spans: list[tuple[int, int, str, str]]) -> str:
        """``s`` with each ``(start, end, kind, value)`` replaced by its marker."""
        out, pos = [], 0
        for start, end, kind, value in spans:
            out.append(s[pos:start])
            out.append(self._marker(kind, value))
            pos = end
        out.append(s[pos:])
        return "".join(out)

    def _marker(self, kind: str, value: str | None) -> str:
        if self._plain_markers:
            return f"[REDACTED:{kind}]"
        if kind == "card" and self._last4 and value is not None:
            digits = [c for c in value if c.isdigit()]
            if len(digits) >= 13:
                return f"[REDACTED:card:last4={''.join(digits[-4:])}]"
        hashed = self._hash_values or (kind == "ip" and self._ip == "hash")
        if hashed and self._secret is not None and value is not None:
            digest = hmac.new(self._secret, value.encode("utf-8", "replace"), hashlib.sha256)
            return f"[REDACTED:{kind}:{digest.hexdigest()[:12]}]"
        return f"[REDACTED:{kind}]"
