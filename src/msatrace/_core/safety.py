"""Never raise into the host application.

``with guard("httpx.inject"):`` swallows any exception raised inside it and logs one warning per
site per minute. The test suite switches guards to strict mode (re-raise) with a fixture.

Imports: the standard library only.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from typing import Any

_log = logging.getLogger("msatrace")
_INTERVAL = 60.0
_last_warned: dict[str, float] = {}
_lock = threading.Lock()
_strict = False


def set_strict(strict: bool) -> bool:
    """Make guards re-raise (tests) or swallow (production); returns the previous mode."""
    global _strict
    previous, _strict = _strict, strict
    return previous


def warn_once(site: str, message: str, *args: object, exc: BaseException | None = None) -> None:
    """Log a warning for ``site`` at most once per minute."""
    now = time.monotonic()
    with _lock:
        last = _last_warned.get(site)
        if last is not None and now - last < _INTERVAL:
            return
        _last_warned[site] = now
    with suppress(Exception):
        _log.warning(message, *args, exc_info=exc)


@contextmanager
def guard(site: str) -> Iterator[None]:
    """Run the block; on an internal failure, warn (rate-limited) and carry on."""
    try:
        yield
    except Exception as exc:
        if _strict:
            raise
        warn_once(site, "msatrace: internal error in %s; the request goes on", site, exc=exc)


def failed(site: str, exc: Exception) -> None:
    """``guard()`` for hot paths that catch the exception themselves (a ``with`` costs ~1 µs)."""
    if _strict:
        raise exc
    warn_once(site, "msatrace: internal error in %s; the request goes on", site, exc=exc)


def reset() -> None:
    """Forget rate-limit history (tests)."""
    with _lock:
        _last_warned.clear()


def call(site: str, fn: Callable[..., object], *args: Any) -> None:
    """``fn(*args)``; an exception from it is handled by :func:`failed`, never raised."""
    try:
        fn(*args)
    except Exception as exc:
        failed(site, exc)
