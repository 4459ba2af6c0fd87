"""A generic webhook: a documented, versioned JSON body, signed so the receiver can trust it.

Headers: ``X-Msatrace-Timestamp`` (Unix seconds) and ``X-Msatrace-Signature: v1=<hex>``, the
HMAC-SHA256 with the shared secret of ``<timestamp>.<body>``. A receiver checks both with
:func:`verify_signature`, which refuses a signature older than five minutes (a replay).

Body, version 1::

    {"version": 1, "kind": "new" | "returned" | "digest", "fingerprint": "...", "title": "...",
     "count": 1, "trace_ids": ["..."], "trace_url": "..." | null, "first_seen": 1796403736.48,
     "last_seen": ..., "event": {"service": ..., "environment": ..., "version": ...,
     "trace_id": ..., "span_id": ..., "request_id": ..., "method": ..., "route": ...,
     "status": ..., "user_id": ..., "host": ..., "pid": ..., "timestamp": ...,
     "exceptions": [{"type": ..., "message": ..., "frames": [{"filename": ..., "module": ...,
     "function": ..., "lineno": ..., "in_app": ..., "context": [...]}]}]}}
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import json
import time
from typing import Any

from msatrace._core.errors.http import post
from msatrace._core.errors.noise import Report
from msatrace.notifiers._text import headline, trace_url

VERSION = 1
TOLERANCE = 300.0


class WebhookNotifier:
    """POSTs each report as signed JSON to ``url``."""

    name = "webhook"

    def __init__(
        self, url: str, *, secret: str, trace_url: str | None = None, timeout: float = 5.0
    ) -> None:
        if not secret:
            raise ValueError("WebhookNotifier needs a secret to sign its requests")
        self.url = url
        self._secret = secret.encode()
        self.trace_url = trace_url
        self.timeout = timeout

    def send(self, report: Report) -> None:
        body = json.dumps(self.body(report), ensure_ascii=False, separators=(",", ":")).encode()
        timestamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/json",
            "X-Msatrace-Timestamp": timestamp,
            "X-Msatrace-Signature": "v1=" + sign(self._secret, timestamp, body),
        }
        post(self.url, body, headers, timeout=self.timeout)

    def body(self, report: Report) -> dict[str, Any]:
        event = dataclasses.asdict(report.event)
        return {
            "version": VERSION,
            "kind": report.kind,
            "fingerprint": report.event.fingerprint,
            "title": headline(report),
            "count": report.count,
            "trace_ids": list(report.trace_ids),
            "trace_url": trace_url(self.trace_url, report.event.trace_id),
            "first_seen": report.first_seen,
            "last_seen": report.last_seen,
            "event": {k: v for k, v in event.items() if k != "fingerprint"},
        }


def sign(secret: bytes, timestamp: str, body: bytes) -> str:
    """Hex HMAC-SHA256 of ``<timestamp>.<body>``."""
    return hmac.new(secret, timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def verify_signature(
    secret: str,
    timestamp: str,
    body: bytes,
    signature: str,
    *,
    tolerance: float = TOLERANCE,
    now: float | None = None,
) -> bool:
    """True when ``signature`` signs ``body`` at ``timestamp``, at most ``tolerance`` s ago."""
    try:
        age = (time.time() if now is None else now) - int(timestamp)
    except ValueError:
        return False
    if abs(age) > tolerance or not signature.startswith("v1="):
        return False
    expected = sign(secret.encode(), timestamp, body)
    return hmac.compare_digest(expected, signature[3:])
