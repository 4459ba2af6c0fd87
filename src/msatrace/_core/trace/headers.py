"""Pure parsers and formatters for trace headers: traceparent, tracestate, X-Trace-ID, X-Request-ID.

No OpenTelemetry, no I/O: every parser takes a string and returns a normalised value or ``None``
(rejected). Nothing here raises on any input; the hypothesis suite checks that. ``with_missing``
is the one rule for adding ours to a response's headers, in either protocol's form (with
``exposing`` for ``Access-Control-Expose-Headers``).

Imports: the standard library only.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import AnyStr, Generic, NamedTuple

# W3C Trace Context Level 1, section 3.2.2: lowercase hex only.
_TRACEPARENT_00 = re.compile(r"00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})")
_TRACEPARENT_ANY = re.compile(r"([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})")
# W3C Trace Context, current text (https://www.w3.org/TR/trace-context-2/#key; it dropped the
# older tenant@system split that OpenTelemetry's TraceState still enforces):
# key = (lcalpha / DIGIT) 0*255(keychar); keychar = lcalpha / DIGIT / "_" / "-" / "*" / "/" / "@".
_TS_KEY = re.compile(r"[a-z0-9][a-z0-9_\-*/@]{0,255}")
# .../trace-context-2/#value: value = 0*255(chr) nblk-chr; chr = %x20 / nblk-chr;
# nblk-chr = %x21-2B / %x2D-3C / %x3E-7E.
_TS_VALUE = re.compile(r"[\x20-\x2b\x2d-\x3c\x3e-\x7e]{0,255}[\x21-\x2b\x2d-\x3c\x3e-\x7e]")
TRACESTATE_MAX_MEMBERS = 32  # .../#list: list = list-member 0*31(OWS "," OWS list-member)
_HEX32 = re.compile(r"[0-9a-fA-F]{32}")
_UUID = re.compile(
    r"([0-9a-fA-F]{8})-([0-9a-fA-F]{4})-([0-9a-fA-F]{4})-([0-9a-fA-F]{4})-([0-9a-fA-F]{12})"
)
_REQUEST_ID = re.compile(r"[A-Za-z0-9._:\-]{1,128}")
_OWS = " \t"  # RFC 9110 optional whitespace around a field value
ZERO_TRACE_ID = "0" * 32


class TraceParent(NamedTuple):
    """A valid ``traceparent``: IDs as integers, as OpenTelemetry's SpanContext wants them."""

    trace_id: int
    span_id: int
    flags: int


def parse_traceparent(value: str | None) -> TraceParent | None:
    """Parse a ``traceparent`` value by the W3C rules; ``None`` when it is invalid.

    Version ``00`` must be exactly 55 characters. A higher version (not ``ff``) is parsed by the
    forward-compatibility rule (section 4.3): the first 55 characters in the version-00 layout,
    followed by nothing or by ``-`` and more fields. All-zero trace-id or parent-id is invalid.
    """
    if not value:
        return None
    value = value.strip(_OWS)
    if len(value) == 55:
        m = _TRACEPARENT_00.fullmatch(value)
        if m is not None:
            trace_id, span_id, flags = m.groups()
        else:
            m = _TRACEPARENT_ANY.fullmatch(value)
            if m is None or m.group(1) in ("00", "ff"):
                return None
            _, trace_id, span_id, flags = m.groups()
    elif len(value) > 55 and value[55] == "-":
        m = _TRACEPARENT_ANY.fullmatch(value, 0, 55)
        if m is None or m.group(1) in ("00", "ff"):
            return None
        _, trace_id, span_id, flags = m.groups()
    else:
        return None
    tid, sid = int(trace_id, 16), int(span_id, 16)
    if tid == 0 or sid == 0:
        return None
    return TraceParent(tid, sid, int(flags, 16))


def format_traceparent(trace_id: int, span_id: int, flags: int) -> str:
    """Format a version-00 ``traceparent``."""
    return f"00-{trace_id:032x}-{span_id:016x}-{flags & 0xFF:02x}"


def parse_tracestate(value: str | None) -> list[tuple[str, str]] | None:
    """Parse ``tracestate`` into ordered (key, value) pairs; ``None`` when it is invalid.

    By the current W3C grammar (Trace Context Level 2, ``#list``): list members separated by
    ``,`` with optional spaces or tabs around them; an empty member is allowed and skipped. A
    member that breaks the key or value grammar, or more than 32 members, makes the whole header
    invalid. A duplicated key keeps its first member and the later ones are discarded (a vendor
    may discard them), rather than losing every vendor's entry.
    """
    if value is None:
        return None
    members: list[tuple[str, str]] = []
    seen: set[str] = set()
    for raw in value.split(","):
        member = raw.strip(_OWS)
        if not member:
            continue
        key, sep, val = member.partition("=")
        if not sep or not _TS_KEY.fullmatch(key) or not _TS_VALUE.fullmatch(val):
            return None
        if key in seen:
            continue
        seen.add(key)
        members.append((key, val))
    if len(members) > TRACESTATE_MAX_MEMBERS:
        return None
    return members


def valid_tracestate_member(key: object, value: object) -> bool:
    """Whether ``key`` and ``value`` make one ``tracestate`` list member (W3C grammar above)."""
    return (
        isinstance(key, str)
        and isinstance(value, str)
        and _TS_KEY.fullmatch(key) is not None
        and _TS_VALUE.fullmatch(value) is not None
    )


def format_tracestate(members: list[tuple[str, str]]) -> str:
    """Format (key, value) pairs as a ``tracestate`` value."""
    return ",".join(f"{k}={v}" for k, v in members)


def parse_trace_id(value: str | None) -> str | None:
    """Normalise an ``X-Trace-ID`` value to 32 lowercase hex digits; ``None`` when invalid.

    Accepts 32 hex digits in either case or a UUID in its textual form (``str(uuid.uuid4())``).
    All-zero is invalid.
    """
    if not value:
        return None
    value = value.strip(_OWS)
    if len(value) == 32 and _HEX32.fullmatch(value):
        normal = value.lower()
    elif len(value) == 36 and (m := _UUID.fullmatch(value)) is not None:
        normal = "".join(m.groups()).lower()
    else:
        return None
    return None if normal == ZERO_TRACE_ID else normal


def parse_request_id(value: str | None) -> str | None:
    """Keep an ``X-Request-ID`` of 1-128 characters of ``[A-Za-z0-9._:-]``; ``None`` otherwise."""
    if not value:
        return None
    value = value.strip(_OWS)
    return value if _REQUEST_ID.fullmatch(value) else None


_getrandbits = random.getrandbits


def new_request_id() -> str:
    """A fresh request ID: 32 lowercase hex digits.

    Request IDs must be unique, not secret: the ``random`` module (reseeded in each child after
    ``fork``, as CPython does) is enough, and costs half of ``os.urandom`` (no system call).
    """
    # to_bytes().hex(): the same 32 digits as "%032x", through less (and less cold) code than
    # str formatting, which in a real request costs more than it does in a loop.
    return _getrandbits(128).to_bytes(16, "big").hex()


def split_host(value: str) -> tuple[str | None, str]:
    """A ``Host`` header as (address, port text); ``[IPv6]:port`` unbracketed; ``""`` if no port."""
    if value.startswith("["):
        address, _, rest = value[1:].partition("]")
        port = rest[1:]
    else:
        address, _, port = value.partition(":")
    return address or None, port


def parse_port(text: str) -> int | None:
    """A TCP port of 1-5 ASCII digits up to 65535; ``None`` for anything else."""
    if not (text.isascii() and text.isdigit() and len(text) <= 5):
        return None
    number = int(text)
    return number if number <= 65535 else None


@dataclass(frozen=True)
class Expose(Generic[AnyStr]):
    """``Access-Control-Expose-Headers`` in one protocol's form (str or bytes)."""

    key: AnyStr  # the header's name in lowercase
    name: AnyStr  # the header's name as written when msatrace adds it
    names: tuple[AnyStr, ...]  # the header names it must list
    separator: AnyStr  # ", "


def with_missing(
    headers: Iterable[tuple[AnyStr, AnyStr]],
    trace: tuple[AnyStr, AnyStr, AnyStr],
    request_id: tuple[AnyStr, AnyStr, AnyStr],
    expose: Expose[AnyStr] | None = None,
) -> list[tuple[AnyStr, AnyStr]]:
    """Response ``headers`` as a new list, plus the trace and request-ID headers, each given as
    ``(lowercase name, name, value)``, whose name (any case) is not among them: a header the
    application set wins. Names and values as the caller's protocol has them (str or bytes).

    With ``expose``, ``Access-Control-Expose-Headers`` lists its names too (see ``exposing``).
    """
    out = list(headers)
    want_trace = want_rid = True
    for name, _ in out:
        lname = name.lower()
        if lname == trace[0]:
            want_trace = False
        elif lname == request_id[0]:
            want_rid = False
    if want_trace:
        out.append((trace[1], trace[2]))
    if want_rid:
        out.append((request_id[1], request_id[2]))
    if expose is not None:
        exposing(out, expose)
    return out


def exposing(out: list[tuple[AnyStr, AnyStr]], expose: Expose[AnyStr]) -> None:
    """Make ``out`` (response headers) list ``expose.names`` in ``Access-Control-Expose-Headers``.

    The Fetch standard reads the header as one comma-separated list of names, case-insensitive,
    over all its lines. Names the application listed already are not repeated; the others are
    appended to its first line, or to a line of msatrace's when it set none.
    """
    first = -1
    listed: set[AnyStr] = set()
    comma = expose.separator.strip()
    for i, (name, value) in enumerate(out):
        if name.lower() == expose.key:
            if first < 0:
                first = i
            listed.update(part.strip().lower() for part in value.split(comma))
    missing = [n for n in expose.names if n.lower() not in listed]
    if not missing:
        return
    added = expose.separator.join(missing)
    if first < 0:
        out.append((expose.name, added))
        return
    name, value = out[first]
    value = value.strip()
    out[first] = (name, value + expose.separator + added if value else added)


def exposed_value(value: str | None, expose: Expose[str]) -> str | None:
    """The ``Access-Control-Expose-Headers`` value for a response whose application set ``value``
    (``None``: not set), for frameworks that keep one value per header name; ``None`` when it
    already lists every name of ``expose``."""
    out = [] if value is None else [(expose.key, value)]
    exposing(out, expose)
    return out[0][1] if out and out[0][1] != value else None
