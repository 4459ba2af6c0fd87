"""The first look at a log event: whether it holds nothing the rules would change.

Most lines hold no personal data; the :class:`~msatrace._core.redact.engine.Redactor` asks
:class:`FirstLook` first and walks the event field by field only when it says no. The look is
one quick scan (``Scanner.clean``) over the event's strings joined, minus those remembered clean
(a line's message, route, method, user agent: the same few strings on line after line), after a
plan per key tuple has set aside the schema fields and found no sensitive key. The access line
has its own look (:meth:`FirstLook.access_line`), from the fields ``logs.access`` knows.

Imports: the standard library and ``scan``.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Mapping
from typing import Any

from msatrace._core.redact.scan import Scanner

_IPV4 = re.compile(r"(?:\d{1,3}\.){3}\d{1,3}")
_DIGIT = frozenset("0123456789")
# Log-event fields msatrace itself fills (the line's schema): never redacted.
SCHEMA_FIELDS = frozenset(
    ("timestamp", "level", "logger", "service", "environment", "version", "trace_id", "span_id",
     "request_id", "parent_span_id")
)  # fmt: skip
# The fields msatrace's access line adds after the bound fields (``logs.access``).
ACCESS_FIELDS = (
    "event", "method", "route", "path", "status", "duration_ms", "client_address", "user_agent"
)  # fmt: skip
# A line's message, an access line's route, method and user agent are the same few strings on
# line after line. Those found clean are remembered (a verdict on the string alone: any field
# holding one is clean), up to this many of at most 300 characters, so that a line looks only at
# its other strings. Clean means the first look passed them, or the per-field path left them as they
# were: a browser's user agent (version numbers, "KHTML") never passes the first look.
TEMPLATES = frozenset(("event", "route", "user_agent", "method"))
_MAX_KNOWN = 4096
MAX_KNOWN_LEN = 300
# The first look's plan per key tuple (an event's keys in order: a call site's events share
# them), so that a line does not look up each of its keys again; past this, plans are computed
# each time.
_MAX_PLANS = 1024
_Plan = bool | tuple[Callable[[Mapping[str, Any]], tuple[Any, ...]], tuple[int, ...]]


def _single(key: Any) -> Callable[[Mapping[str, Any]], tuple[Any, ...]]:
    return lambda event: (event[key],)


Verdict = Callable[[Any], tuple[str | None, bool]]


class FirstLook:
    """The fast paths of one redactor: what it remembers clean, and its plans.

    Args:
        verdict: the redactor's verdict on a key, ``(kind or "allow" or None, hint)``.
        verdicts: the redactor's cache of those verdicts (read directly on the access line).
        scan: the redactor's scanner.
        ip: the redactor's ``ip`` option (``off``: an IPv4 address alone is kept).
    """

    def __init__(
        self,
        verdict: Verdict,
        verdicts: dict[str, tuple[str | None, bool]],
        scan: Scanner,
        ip: str,
    ) -> None:
        self._verdict = verdict
        self._verdicts = verdicts
        self._scan = scan
        self._ip = ip
        self.known: set[str] = set()
        self._addresses: set[str] = set()
        self._plans: dict[tuple[Any, ...], _Plan] = {}
        # The access line's own keys: its fast path assumes no key rule names them.
        self._access_keys_plain = not scan.everything and all(
            verdict(key) == (None, False) for key in ACCESS_FIELDS
        )

    def access_line(
        self,
        bound: Mapping[str, Any],
        message: str,
        method: str,
        route: str | None,
        path: str,
        status: int | None,
        client_address: str | None,
        user_agent: str | None,
    ) -> bool:
        """Whether an access line built from these holds nothing ``Redactor.event`` would change.

        The line's other fields are msatrace's own (its schema fields, the duration): only the
        bound fields (the application's), these strings and the status (an integer written as
        digits when it has 13 or more) are looked at. Its method, route and user agent must be
        remembered clean (the first line with them goes through ``Redactor.event``, which remembers
        them), and its message too when it names a route (without one it holds the path, and is
        looked at); the path is looked at unless it is the route; the client's address is kept
        when it is an IPv4 address (unless addresses are redacted). False (never raises) sends
        the line through ``Redactor.event``.
        """
        if not self._access_keys_plain:
            return False
        try:
            known = self.known
            if (
                method not in known
                or (route is not None and route not in known)
                or (user_agent is not None and user_agent not in known)
                or (
                    status is not None
                    and not (status.__class__ is int and -(10**12) < status < 10**12)
                )
            ):
                return False
            strings = []
            if message not in known:
                if route is not None:
                    return False  # a new route and status: event() remembers the message
                strings.append(message)  # it holds the path: looked at, never remembered
            if path != route:
                strings.append(path)
            if client_address is not None and client_address not in self._addresses:
                if (
                    self._ip == "off"
                    and client_address[:1] in _DIGIT
                    and _IPV4.fullmatch(client_address)
                ):
                    if len(self._addresses) < _MAX_KNOWN:
                        self._addresses.add(client_address)
                else:
                    strings.append(client_address)
            if bound and not SCHEMA_FIELDS.issuperset(bound):
                verdicts = self._verdicts
                for key, value in bound.items():
                    if key in SCHEMA_FIELDS:
                        continue
                    if (verdicts.get(key) or self._verdict(key)) != (None, False):
                        return False
                    t = value.__class__
                    if t is str:
                        if value not in known:
                            strings.append(value)
                    elif t is int:
                        if not -(10**12) < value < 10**12:
                            return False
                    elif t is not float and t is not bool and value is not None:
                        return False
            if not strings:
                return True
            return self._scan.clean(strings[0] if len(strings) == 1 else "\n".join(strings))
        except Exception:  # an odd bound field: the per-field path deals with it
            return False

    def event(self, event: Mapping[str, Any]) -> bool:
        """True when no key is sensitive and no value can hold a match: the fast path."""
        keys = tuple(event)
        plan = self._plans.get(keys)
        if plan is None:
            plan = self._plan(keys)
        if plan is False:
            return False
        if plan is True:
            return True
        get, templates = plan
        values = get(event)
        known, strings = self.known, []
        for value in values:
            t = value.__class__
            if t is str:
                if value not in known:
                    if self._ip == "off" and value[:1] in _DIGIT and _IPV4.fullmatch(value):
                        continue  # an address and nothing else (the access line's client): kept
                    strings.append(value)
            elif t is int:
                if not -(10**12) < value < 10**12:
                    return False
            elif t is not float and t is not bool and value is not None:
                return False
        if strings and not self._scan.clean("\n".join(strings)):
            return False
        if strings and templates and len(known) < _MAX_KNOWN:
            for i in templates:
                value = values[i]
                if value.__class__ is str and len(value) <= MAX_KNOWN_LEN:
                    known.add(value)
        return True

    def _plan(self, keys: tuple[Any, ...]) -> _Plan:
        """What the first look does with an event of these keys, in this order: ``False`` when a
        key is sensitive (or hints at a registration number), ``True`` when only schema fields
        are there, else the getter of the other fields' values and the positions among them of
        the fields whose clean strings are remembered."""
        names = [key for key in keys if key not in SCHEMA_FIELDS]
        plan: _Plan
        if any(self._verdict(key) != (None, False) for key in names):
            plan = False
        elif not names:
            plan = True
        else:
            get = operator.itemgetter(*names) if len(names) > 1 else _single(names[0])
            plan = (get, tuple(i for i, key in enumerate(names) if key in TEMPLATES))
        if len(self._plans) < _MAX_PLANS:
            self._plans[keys] = plan
        return plan

    def remember_kept(self, key: str, value: str) -> None:
        """``value`` came out of the per-field path unchanged under a key that hints at nothing:
        the text rules keep it wherever it stands, so the first look may skip it next time."""
        known = self.known
        if len(known) < _MAX_KNOWN and self._verdict(key) == (None, False):
            known.add(value)
