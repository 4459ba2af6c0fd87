"""Parsers of the redaction settings (``redact_*``) and the check that ties two of them together.

Patterns are compiled here, once, so that a bad one fails ``init()`` with a ``ConfigError`` naming
it; recognisers are checked to be callables.

Imports: the standard library and ``msatrace.exceptions``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from typing import Any

from msatrace.exceptions import ConfigError

IP_MODES = ("off", "redact", "hash")
_KIND = re.compile(r"[a-z0-9_]{1,32}")


def patterns(value: object, origin: str) -> dict[str, re.Pattern[str]]:
    """Extra value rules: ``{kind: regex}``, a list of regexes (kind ``pattern``) or one regex.

    From the environment: a JSON object or array, or a single regular expression.
    """
    raw: object = value
    if isinstance(value, str):
        text = value.strip()
        if text.startswith(("{", "[")):
            try:
                raw = json.loads(text)
            except ValueError as exc:
                raise ConfigError(
                    f"{origin}={value!r}: not valid JSON ({exc}); expected a JSON object "
                    "{kind: regex}, a JSON array of regexes, or one regular expression"
                ) from None
        else:
            raw = [text]
    if isinstance(raw, Mapping):
        items = list(raw.items())
    elif isinstance(raw, (list, tuple)):
        items = [("pattern", p) for p in raw]
    else:
        raise ConfigError(f"{origin}={value!r}: expected {{kind: regex}}, a list of regexes or one")
    out: dict[str, re.Pattern[str]] = {}
    for i, (kind, pattern) in enumerate(items):
        if not isinstance(kind, str) or not _KIND.fullmatch(kind):
            raise ConfigError(f"{origin}: kind {kind!r}: expected 1-32 of a-z, 0-9 and _")
        if not isinstance(pattern, str) or not pattern:
            raise ConfigError(f"{origin}: pattern {pattern!r}: expected a non-empty string")
        try:
            compiled = re.compile(pattern)
        except re.error as exc:
            raise ConfigError(
                f"{origin}: pattern {pattern!r} is not a valid regular expression ({exc}); "
                "expected a Python regular expression"
            ) from None
        if compiled.fullmatch(""):
            raise ConfigError(
                f"{origin}: pattern {pattern!r} matches the empty string; expected a pattern "
                "that matches at least one character"
            )
        out[kind if kind not in out else f"{kind}_{i}"] = compiled
    return out


def recognisers(value: object, origin: str) -> tuple[Callable[[str], Any], ...]:
    """Callables ``text -> iterable of (start, end) or (start, end, kind)``; one or a list."""
    items = value if isinstance(value, (list, tuple)) else (value,)
    for fn in items:
        if not callable(fn):
            raise ConfigError(f"{origin}={fn!r}: expected a callable (text -> spans)")
    return tuple(items)


def secret(value: object, origin: str) -> str:
    if not isinstance(value, str) or len(value.strip()) < 16:
        # the value itself is never echoed: it is a secret
        raise ConfigError(f"{origin}: expected a secret of at least 16 characters")
    return value.strip()


def check(values: Mapping[str, Any]) -> None:
    """Hashing needs the deployment secret."""
    if values["redact_hash_secret"]:
        return
    if values["redact_hash"]:
        raise ConfigError(
            "redact_hash (MSATRACE_REDACT_HASH) is on but no secret is set: set redact_hash_secret "
            "(MSATRACE_REDACT_HASH_SECRET)"
        )
    if values["redact_ip"] == "hash":
        raise ConfigError(
            "redact_ip (MSATRACE_REDACT_IP)='hash' needs a secret: set redact_hash_secret "
            "(MSATRACE_REDACT_HASH_SECRET)"
        )
