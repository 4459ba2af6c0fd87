"""One HTTP POST for a notifier, with the answers mapped to retry or not.

2xx is delivered; 429 and 5xx are worth retrying (``Retry-After`` in seconds honoured); a
connection error or a timeout too; any other 4xx is not (the payload or the credentials are
wrong, and sending it again changes nothing). Standard library only: no client library is a
dependency, and msatrace's own client patches never trace these calls.

Imports: the standard library and this package.
"""

from __future__ import annotations

import http.client
import urllib.error
import urllib.request
from collections.abc import Mapping
from typing import Any

from msatrace._core.errors.dispatch import DeliveryError

# A report is small; a vendor's answer we need to read is smaller still.
MAX_ANSWER = 64 * 1024


def post(
    url: str, body: bytes, headers: Mapping[str, str], *, timeout: float = 5.0
) -> tuple[int, bytes]:
    """POST ``body``; return (status, answer) for 2xx, raise :class:`DeliveryError` otherwise."""
    return request("POST", url, headers, body=body, timeout=timeout)


def request(
    method: str,
    url: str,
    headers: Mapping[str, str],
    *,
    body: bytes | None = None,
    timeout: float = 5.0,
) -> tuple[int, bytes]:
    """Any method; the same answers as :func:`post`."""
    req = urllib.request.Request(url, data=body, headers=dict(headers), method=method)
    opener = urllib.request.build_opener(urllib.request.ProxyHandler())
    try:
        with opener.open(req, timeout=timeout) as response:
            return response.status, response.read(MAX_ANSWER)
    except urllib.error.HTTPError as err:
        answer = err.read(MAX_ANSWER).decode("utf-8", "replace")[:300]
        retry = err.code == 429 or err.code >= 500
        raise DeliveryError(
            f"HTTP {err.code}: {answer}", retry=retry, retry_after=_retry_after(err.headers)
        ) from None
    except (TimeoutError, urllib.error.URLError, http.client.HTTPException, OSError) as err:
        raise DeliveryError(f"{type(err).__name__}: {err}", retry=True) from None


def _retry_after(headers: Any) -> float | None:
    value = headers.get("Retry-After") if headers is not None else None
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:  # an HTTP date: not worth parsing for a bounded wait
        return None
