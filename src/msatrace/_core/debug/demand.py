"""Debug on demand: a signed token turns DEBUG on for one trace, in every service it reaches.

The token is ``v1.<expiry>.<signature>``: ``expiry`` in whole seconds since the epoch, and the
signature the lowercase hex HMAC-SHA256, keyed with the shared ``debug_secret``, of
``v1.<trace_id>.<expiry>``, where ``trace_id`` is the 32 lowercase hex digits of the trace it is
for. A token is trusted only if the secret is configured, it parses, it has not expired, and
its signature matches the trace the request is in: a token copied onto another trace, made with
another key or past its expiry is ignored and counted (:func:`rejected`), never trusted.

The token enters at the edge in the ``debug_header_name`` request header and travels on as the W3C
baggage entry ``msatrace.debug`` (outgoing calls and task messages carry baggage): each service
checks it again with its own copy of the secret, so a baggage entry is worth no more than the
signature it carries.

Imports: the standard library, opentelemetry (baggage) and ``msatrace._core`` (debug.buffer,
safety).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import threading
import time

from opentelemetry import baggage
from opentelemetry.context import Context

from msatrace._core.debug import buffer
from msatrace._core.safety import warn_once

BAGGAGE_KEY = "msatrace.debug"
_VERSION = "v1"
_TOKEN = re.compile(r"v1\.([0-9]{1,12})\.([0-9a-f]{64})")
_TRACE_ID = re.compile(r"[0-9a-f]{32}")
# The longest value parse() looks at: anything longer is not a token.
MAX_TOKEN = 2 + 1 + 12 + 1 + 64

_rejected = 0
_lock = threading.Lock()


def _signature(secret: bytes, trace_id: str, expiry: int) -> str:
    message = f"{_VERSION}.{trace_id}.{expiry}".encode("ascii")
    return hmac.new(secret, message, hashlib.sha256).hexdigest()


def debug_header(secret: str, trace_id: str, ttl: float = 300.0) -> str:
    """The value of a debug-on-demand header for one trace, valid for ``ttl`` seconds.

    Send it in the ``debug_header_name`` request header (``X-Msatrace-Debug`` by default) together
    with that trace's ``traceparent`` (or ``X-Trace-ID``): every service of the trace that has
    the same ``debug_secret`` (``MSATRACE_DEBUG_SECRET``) then logs that one request at DEBUG.
    The token is bound to the trace: it cannot turn DEBUG on for any other.

    Args:
        secret: the services' ``debug_secret``.
        trace_id: the trace's ID, 32 hex digits.
        ttl: seconds from now until the token expires.

    Raises:
        ValueError: ``trace_id`` is not 32 hex digits, or ``ttl`` is not positive.
    """
    trace_id = trace_id.lower()
    if not _TRACE_ID.fullmatch(trace_id) or trace_id == "0" * 32:
        raise ValueError(f"trace_id={trace_id!r}: expected 32 hex digits, not all zero")
    if not ttl > 0:
        raise ValueError(f"ttl={ttl!r}: expected a positive number of seconds")
    expiry = int(time.time() + ttl) + 1
    return f"{_VERSION}.{expiry}.{_signature(secret.encode('utf-8'), trace_id, expiry)}"


def parse(value: object) -> tuple[int, str] | None:
    """``(expiry, signature)`` of a token, or ``None`` for anything that is not one."""
    if not isinstance(value, str) or len(value) > MAX_TOKEN:
        return None
    match = _TOKEN.fullmatch(value.strip())
    if match is None:
        return None
    return int(match.group(1)), match.group(2)


def verify(secret: bytes, value: object, trace_id: str, now: float) -> bool:
    """Whether ``value`` is a token for ``trace_id`` signed with ``secret``, not expired."""
    parsed = parse(value)
    if parsed is None:
        return False
    expiry, signature = parsed
    if expiry < now:
        return False
    return hmac.compare_digest(signature, _signature(secret, trace_id, expiry))


def rejected() -> int:
    """How many tokens this process ignored (malformed, expired, forged, other trace)."""
    return _rejected


def _reject() -> None:
    global _rejected
    with _lock:
        _rejected += 1
    warn_once(
        "debug.token",
        "msatrace: a debug-on-demand token was ignored (malformed, expired, not signed with "
        "this service's debug_secret, or made for another trace); %d so far",
        _rejected,
    )


def valid(trace_id: str | None, token: object) -> bool:
    """Whether ``token`` turns DEBUG on for ``trace_id``; a token that does not is counted."""
    secret = buffer.config.secret
    if secret is None or token is None:
        return False
    if trace_id is not None and verify(secret, token, trace_id, time.time()):
        return True
    _reject()
    return False


def mode_for(trace_id: str | None, forced: bool) -> buffer.Mode:
    """The debug mode of a request or task of ``trace_id``: DEBUG throughout if ``forced`` (a
    valid token) or the trace is chosen by ``debug_sample_rate``; else a fresh buffer with
    ``debug_on_error``; else ``None``."""
    cfg = buffer.config
    if forced:
        return buffer.FORCE
    if cfg.sample_below and trace_id is not None and int(trace_id[16:], 16) < cfg.sample_below:
        return buffer.FORCE
    return buffer.new_buffer() if cfg.on_error else None


def for_context(
    trace_id: str | None, header: str | None, ctx: Context | None
) -> tuple[buffer.Mode, Context | None]:
    """The mode of a request or task whose context is ``ctx``, with ``header`` the token of its
    request header (``None`` for a task); and ``ctx`` with the header's token added to its
    baggage when it is valid (``None`` when ``ctx`` stays as it is)."""
    if header is not None:
        if valid(trace_id, header):
            base = ctx if ctx is not None else Context()
            return buffer.FORCE, baggage.set_baggage(BAGGAGE_KEY, header, base)
        return mode_for(trace_id, False), None
    if buffer.config.secret is None:  # nothing could check a token: none is read
        return mode_for(trace_id, False), None
    carried = baggage.get_baggage(BAGGAGE_KEY, ctx) if ctx is not None else None
    return mode_for(trace_id, carried is not None and valid(trace_id, carried)), None
