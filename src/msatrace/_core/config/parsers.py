"""Parsers of setting values: ``(value, where it came from) -> parsed value``, or ConfigError.

Each names the setting or variable the value came from (``origin``) and what it accepts, so
``init()`` fails fast with a message a person can act on. The values they accept are the
constants below; ``settings`` declares which option uses which parser.

Imports: the standard library only.
"""

from __future__ import annotations

import fnmatch
import ipaddress
import math
import os
import re
import urllib.parse
from collections.abc import Callable, Mapping
from importlib.metadata import entry_points

from msatrace.exceptions import ConfigError

# Environment names that get the development defaults (console logs, DEBUG); any other name gets
# the production defaults.
DEVELOPMENT_NAMES = frozenset(("development", "dev", "local"))
LOG_FORMATS = ("json", "console")
LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
# The stdlib's other spellings and numbers of those levels (logging.WARN, logging.FATAL, ...).
_LEVEL_ALIASES = {"WARN": "WARNING", "FATAL": "CRITICAL"}
_LEVEL_NUMBERS = {10: "DEBUG", 20: "INFO", 30: "WARNING", 40: "ERROR", 50: "CRITICAL"}
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
OTLP_PROTOCOLS = ("http/protobuf", "grpc")
DEFAULT_OTLP_ENDPOINT = "http://localhost:4318/v1/traces"
DEFAULT_OTLP_GRPC_ENDPOINT = "http://localhost:4317"
# OTLP exporter spec: the signal path appended to OTEL_EXPORTER_OTLP_ENDPOINT for OTLP/HTTP.
TRACES_PATH = "/v1/traces"
# Propagators OpenTelemetry knows by name, shipped in packages of their own.
PROPAGATOR_PACKAGES = {
    "b3": "opentelemetry-propagator-b3",
    "b3multi": "opentelemetry-propagator-b3",
    "jaeger": "opentelemetry-propagator-jaeger",
    "ottrace": "opentelemetry-propagator-ot-trace",
    "xray": "opentelemetry-propagator-aws-xray",
}
_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")  # RFC 9110 token, fullmatch
# A printable name without spaces, quotes, commas or "=" (which OTEL_RESOURCE_ATTRIBUTES and
# log pipelines split on): what deployment.environment.name values look like in practice.
_ENVIRONMENT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:/@+-]{0,63}")
_HOST_NAME = re.compile(r"[A-Za-z0-9_~-]+(\.[A-Za-z0-9_~-]+)*\.?")  # RFC 3986 reg-name, unencoded
_DIGITS = re.compile(r"[0-9]+")
# The largest count or number of milliseconds accepted for the SDK's own variables: large enough
# for any real limit (24.8 days in ms) and small enough for the C integers the SDK hands them to.
MAX_INT = 2**31 - 1


def choice(options: tuple[str, ...]) -> Callable[[str, str], str]:
    def parse(value: str, origin: str) -> str:
        if not isinstance(value, str):
            raise ConfigError(f"{origin}={value!r}: expected a string")
        v = value.strip().lower()
        if v not in options:
            accepted = " or ".join(repr(o) for o in options)
            raise ConfigError(f"{origin}={value!r}: expected {accepted}")
        return v

    return parse


def level(value: str | int, origin: str) -> str:
    """A logging level by name (any case; also ``WARN``, ``FATAL``) or number (logging.DEBUG)."""
    if isinstance(value, int) and not isinstance(value, bool) and value in _LEVEL_NUMBERS:
        return _LEVEL_NUMBERS[value]
    if isinstance(value, str):
        v = value.strip().upper()
        v = _LEVEL_ALIASES.get(v, v)
        if v in LEVELS:
            return v
    raise ConfigError(
        f"{origin}={value!r}: expected a level name ({', '.join(LEVELS)}, or WARN) or one of "
        "logging.DEBUG, logging.INFO, logging.WARNING, logging.ERROR, logging.CRITICAL"
    )


def environment(value: str, origin: str) -> str:
    """Any environment name a team uses (``qa``, ``preprod``, ``dev-eu``), as written."""
    v = value.strip() if isinstance(value, str) else value
    if not isinstance(v, str) or not _ENVIRONMENT_NAME.fullmatch(v):
        raise ConfigError(
            f"{origin}={value!r}: expected a name of 1 to 64 letters, digits and . _ - : / @ +, "
            "starting with a letter or digit, such as 'production', 'staging' or 'qa'"
        )
    return v


def is_development(environment: str) -> bool:
    """Whether an environment name gets the development defaults (console logs, DEBUG)."""
    return environment.lower() in DEVELOPMENT_NAMES


def text(value: str, origin: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{origin}={value!r}: expected a non-empty string")
    return value.strip()


def path(value: str, origin: str) -> str:
    """A URL path of one of msatrace's own endpoints; ``off`` (or empty) turns it off."""
    v = value.strip() if isinstance(value, str) else value
    if v in ("", "off"):
        return ""
    if not isinstance(v, str) or not v.startswith("/") or any(c in v for c in "?# \t\r\n"):
        raise ConfigError(f"{origin}={value!r}: expected a path starting with / (or off)")
    return v


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
    """Propagator names, each installed as an ``opentelemetry_propagator`` entry point."""
    names = tuple(n.lower() for n in comma_list(value, origin))
    if "none" in names:
        # OpenTelemetry's loader: "none" anywhere in the list means no propagator at all.
        return ()
    installed = {ep.name for ep in entry_points(group="opentelemetry_propagator")}
    for name in names:
        if name in installed:
            continue
        if name in PROPAGATOR_PACKAGES:
            raise ConfigError(
                f"{origin}={value!r}: the {name!r} propagator is not installed; "
                f"install {PROPAGATOR_PACKAGES[name]!r} (pip install {PROPAGATOR_PACKAGES[name]})"
            )
        raise ConfigError(
            f"{origin}={value!r}: no OpenTelemetry propagator named {name!r} is installed; "
            f"expected names from {', '.join(sorted(installed | {'none'}))}"
        )
    return names


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


def count(value: str, origin: str) -> int:
    """A whole number from 0 to ``MAX_INT`` written in ASCII digits, as the SDK's limits take."""
    v = value.strip()
    if not _DIGITS.fullmatch(v) or int(v) > MAX_INT:
        raise ConfigError(f"{origin}={value!r}: expected a whole number from 0 to {MAX_INT}")
    return int(v)


def limit(value: str, origin: str) -> int | None:
    """A span limit: a whole number, or empty for no limit (the SDK reads an empty value so)."""
    return None if not value.strip() else count(value, origin)


def positive(value: str, origin: str) -> int:
    """A whole number from 1 to ``MAX_INT`` (sizes and delays of the batch span processor)."""
    n = count(value, origin) if value.strip() else 0
    if n < 1:
        raise ConfigError(f"{origin}={value!r}: expected a whole number from 1 to {MAX_INT}")
    return n


def positive_number(value: object, origin: str) -> int:
    """``positive`` for a setting whose argument may be a number (``debug_buffer_lines=200``)."""
    return positive(str(value), origin)


def protocol(value: str, origin: str) -> str:
    """An OTLP protocol this exporter speaks: ``http/protobuf`` or ``grpc``."""
    v = value.strip().lower() if isinstance(value, str) else value
    if v == "http/json":
        raise ConfigError(
            f"{origin}={value!r}: OpenTelemetry's Python SDK has no OTLP/HTTP JSON exporter; "
            "expected 'http/protobuf' or 'grpc'"
        )
    if v not in OTLP_PROTOCOLS:
        raise ConfigError(f"{origin}={value!r}: expected 'http/protobuf' or 'grpc'")
    return str(v)


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


def headers(value: str | Mapping[str, str], origin: str) -> dict[str, str]:
    """OTLP export headers: ``key=value,...`` with percent-encoded values (OTLP exporter spec)."""
    out: dict[str, str] = {}
    for key, val in pairs(value, origin).items():
        if not isinstance(value, Mapping):
            val = urllib.parse.unquote(val)
        if not _HEADER_NAME.fullmatch(key) or any(_control(c) for c in val):
            raise ConfigError(
                f"{origin}={value!r}: expected header names (HTTP tokens) and values without "
                "control characters, as key=value pairs separated by commas"
            )
        out[key] = val
    return out


def _control(c: str) -> bool:
    return (c < " " and c != "\t") or c == "\x7f"


def log_levels(value: str | Mapping[str, str | int], origin: str) -> dict[str, str]:
    if isinstance(value, Mapping):
        return {str(name): level(lvl, f"{origin}[{name}]") for name, lvl in value.items()}
    named = pairs(value, origin)
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
    """An ``http://`` or ``https://`` URL with a host and, if given, a port from 1 to 65535."""
    expected = f"{origin}={value!r}: expected an http:// or https:// URL with a host"
    v = value.strip() if isinstance(value, str) else None
    if not v or not v.isprintable() or " " in v:
        raise ConfigError(expected + ", such as 'http://collector:4318'")
    try:
        parts = urllib.parse.urlsplit(v)
        port = parts.port
    except ValueError as exc:  # "Invalid IPv6 URL", "Port out of range 0-65535", ...
        raise ConfigError(f"{expected} and a port from 1 to 65535 ({exc})") from None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise ConfigError(expected + ", such as 'http://collector:4318'")
    host = parts.netloc.rpartition("@")[2]
    if host.startswith("["):
        try:
            ipaddress.IPv6Address(parts.hostname)
        except ValueError:
            raise ConfigError(f"{expected} (a well-formed IPv6 address in [])") from None
    elif not _HOST_NAME.fullmatch(parts.hostname):
        raise ConfigError(f"{expected} (a host name or IP address)")
    if port == 0 or (port is None and host.endswith(":")):
        raise ConfigError(f"{expected} and a port from 1 to 65535")
    return v.rstrip("/")


# --- metrics ---
METRICS_EXPORTERS = ("prometheus", "otlp", "none")
METRICS_PATH = "/v1/metrics"


def export_interval(value: str | float, origin: str) -> float:
    """Seconds between metric exports; ``OTEL_METRIC_EXPORT_INTERVAL`` is in milliseconds (the
    OpenTelemetry environment variable specification), every other source in seconds."""
    if origin != "OTEL_METRIC_EXPORT_INTERVAL":
        return seconds(value, origin)
    f = _number(value)
    if not 0 < f < math.inf:
        raise ConfigError(f"{origin}={value!r}: expected a positive number of milliseconds")
    return f / 1000


def port(value: str | int, origin: str) -> int | None:
    """A TCP port from 1 to 65535, or ``none`` / ``0`` for no port."""
    v = str(value).strip().lower()
    if v in ("none", "0"):
        return None
    if not _DIGITS.fullmatch(v) or not 1 <= int(v) <= 65535:
        raise ConfigError(f"{origin}={value!r}: expected a port from 1 to 65535, or none")
    return int(v)


def url_path(value: str, origin: str) -> str | None:
    """An absolute URL path (``/metrics``), or ``none`` for no path."""
    v = value.strip()
    if v.lower() == "none":
        return None
    if not v.startswith("/") or any(c in v for c in "?# ") or any(_control(c) for c in v):
        raise ConfigError(f"{origin}={value!r}: expected a path starting with '/', or none")
    return v


def directory(value: str, origin: str) -> str:
    """The path of an existing directory (msatrace creates none: a typo must not go unseen)."""
    v = value.strip() if isinstance(value, str) else ""
    if not v or "\x00" in v or not os.path.isdir(v):
        raise ConfigError(f"{origin}={value!r}: expected the path of an existing directory")
    return v


def cardinality(value: str | int, origin: str) -> int:
    """A cardinality limit: a whole number from 1 to ``MAX_INT`` (an int from ``init()``, too)."""
    return positive(str(value), origin)


# --- error reports ---


def notifiers(value: object, origin: str) -> tuple[object, ...]:
    """Notifier objects: each with a ``name`` and a callable ``send``."""
    items = tuple(value) if isinstance(value, (list, tuple)) else (value,)
    for item in items:
        if not callable(getattr(item, "send", None)) or not isinstance(
            getattr(item, "name", None), str
        ):
            raise ConfigError(
                f"{origin}: {type(item).__name__} is not a notifier (it needs a `name` and a "
                "`send(report)` method)"
            )
    return items


def trace_url(value: str, origin: str) -> str:
    """An http(s) URL template containing ``{trace_id}``."""
    v = value.strip() if isinstance(value, str) else ""
    if "{trace_id}" not in v or not v.startswith(("http://", "https://")):
        raise ConfigError(
            f"{origin}={value!r}: expected an http(s) URL containing {{trace_id}}, e.g. "
            "'https://grafana.example.com/explore?traceId={trace_id}'"
        )
    return v


def redis_url(value: str, origin: str) -> str:
    """``redis://`` or ``rediss://`` with a host; the message never repeats a password."""
    v = value.strip() if isinstance(value, str) else ""
    try:
        parts = urllib.parse.urlsplit(v)
        parts.port  # noqa: B018 (raises on a bad port)
    except ValueError:
        parts = None
    if parts is None or parts.scheme not in ("redis", "rediss") or not parts.hostname:
        raise ConfigError(f"{origin}: expected redis://host[:port][/db] (value not shown)")
    return v
