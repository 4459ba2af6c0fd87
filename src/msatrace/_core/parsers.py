"""Parsers of setting values: ``(value, where it came from) -> parsed value``, or ConfigError.

Each names the setting or variable the value came from (``origin``) and what it accepts, so
``init()`` fails fast with a message a person can act on. The values they accept are the
constants below; ``settings`` declares which option uses which parser.

Imports: the standard library only.
"""

from __future__ import annotations

import fnmatch
import math
import re
from collections.abc import Callable, Mapping

from msatrace.exceptions import ConfigError

ENVIRONMENTS = ("development", "staging", "production")
LOG_FORMATS = ("json", "console")
LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
SAMPLERS = (
    "always_on",
    "always_off",
    "traceidratio",
    "parentbased_always_on",
    "parentbased_always_off",
    "parentbased_traceidratio",
)
CLIENTS = ("httpx", "requests", "celery")
TRACES_EXPORTERS = ("otlp", "console", "none")
DEFAULT_OTLP_ENDPOINT = "http://localhost:4318/v1/traces"
# Short names people write for the three environments.
_ENV_ALIASES = {"dev": "development", "prod": "production", "stage": "staging"}
_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")  # RFC 9110 token, fullmatch


def choice(options: tuple[str, ...]) -> Callable[[str, str], str]:
    def parse(value: str, origin: str) -> str:
        if not isinstance(value, str):
            raise ConfigError(f"{origin}={value!r}: expected a string")
        v = value.strip().lower() if options != LEVELS else value.strip().upper()
        if options == ENVIRONMENTS:
            v = _ENV_ALIASES.get(v, v)
        if v == "warn" and options == LEVELS:
            v = "WARNING"
        if v not in options:
            accepted = " or ".join(repr(o) for o in options)
            raise ConfigError(f"{origin}={value!r}: expected {accepted}")
        return v

    return parse


def text(value: str, origin: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{origin}={value!r}: expected a non-empty string")
    return value.strip()


def boolean(value: object, origin: str) -> bool:
    if isinstance(value, bool):
        return value
    v = str(value).strip().lower()
    if v in ("1", "true", "yes", "on"):
        return True
    if v in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{origin}={value!r}: expected true or false")


def comma_list(value: str | tuple[str, ...] | list[str], origin: str) -> tuple[str, ...]:
    if isinstance(value, str):
        return tuple(p.strip() for p in value.split(",") if p.strip())
    if isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise ConfigError(f"{origin}={value!r}: expected a comma-separated string or a list of strings")


def propagators(value: str | tuple[str, ...], origin: str) -> tuple[str, ...]:
    names = tuple(n.lower() for n in comma_list(value, origin))
    return () if names == ("none",) else names


def clients(value: str | tuple[str, ...], origin: str) -> tuple[str, ...]:
    names = comma_list(value, origin)
    if names in (("none",), ()):
        return ()
    if names == ("all",):
        return CLIENTS
    for n in names:
        if n not in CLIENTS:
            raise ConfigError(f"{origin}={value!r}: expected names from {', '.join(CLIENTS)}")
    return names


def header(value: str, origin: str) -> str:
    if not isinstance(value, str) or not _HEADER_NAME.fullmatch(value):
        raise ConfigError(f"{origin}={value!r}: expected an HTTP header name such as 'X-Trace-ID'")
    return value


def _number(value: str | float) -> float:
    """``float(value)``, or NaN (which no range check accepts) for what is not a number."""
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def ratio(value: str | float, origin: str) -> float:
    f = _number(value)
    if not 0.0 <= f <= 1.0:
        raise ConfigError(f"{origin}={value!r}: expected a number from 0 to 1")
    return f


def seconds(value: str | float, origin: str) -> float:
    f = _number(value)
    if not 0 < f < math.inf:  # NaN and infinity too
        raise ConfigError(f"{origin}={value!r}: expected a positive number of seconds")
    return f


def pairs(value: str | Mapping[str, str], origin: str) -> dict[str, str]:
    if isinstance(value, Mapping):
        return {str(k): str(v) for k, v in value.items()}
    out: dict[str, str] = {}
    for part in str(value).split(","):
        if not part.strip():
            continue
        key, sep, val = part.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"{origin}={value!r}: expected key=value pairs separated by commas")
        out[key.strip()] = val.strip()
    return out


def log_levels(value: str | Mapping[str, str], origin: str) -> dict[str, str]:
    named = pairs(value, origin)
    level = choice(LEVELS)
    return {name: level(lvl, f"{origin}[{name}]") for name, lvl in named.items()}


def patterns(value: str | tuple[str, ...], origin: str) -> tuple[str, ...]:
    pats = comma_list(value, origin)
    for p in pats:
        if p.startswith("re:"):
            try:
                re.compile(p[3:])
            except re.error as exc:
                raise ConfigError(f"{origin}={value!r}: bad regex {p[3:]!r} ({exc})") from None
        else:
            fnmatch.translate(p)
    return pats


def url(value: str, origin: str) -> str:
    v = text(value, origin)
    if not v.startswith(("http://", "https://")):
        raise ConfigError(f"{origin}={value!r}: expected an http:// or https:// URL")
    return v.rstrip("/")
