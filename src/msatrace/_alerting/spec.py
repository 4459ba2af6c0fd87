"""What ``msatrace alerts`` generates for: services, their objectives, and where alerts go.

A configuration comes from a small TOML file, from the command line, or both (the command line
wins). Numbers are read as ``Decimal`` (``tomllib``'s ``parse_float``), so objectives stay exact.
Every mistake is a ``ConfigError`` naming the key, the value and what is accepted. Imports the
standard library (``tomllib``, or ``tomli`` on Python 3.10) and ``msatrace.exceptions``.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass, fields
from decimal import Decimal
from pathlib import Path
from typing import Any

from msatrace._alerting import names
from msatrace._alerting.promql import is_duration, num
from msatrace.exceptions import ConfigError

# Alertmanager 0.25 has no ``url_file`` for webhooks: the URL is written inline. Unless given, the
# file gets this placeholder, which the deploy step replaces (docs/alerting.md).
WEBHOOK_PLACEHOLDER = "https://webhook.invalid/MSATRACE_WEBHOOK_URL"
PAGERS = ("pagerduty", "opsgenie", "slack")
_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.:-]*$")
_LABEL = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# The fast page alert multiplies the budget by 14.4 (SRE workbook): an objective whose budget
# times 14.4 reaches 100 % could never page, so it is refused rather than shipped silent.
FASTEST_BURN = Decimal("14.4")


@dataclass(frozen=True)
class Service:
    """One service's objectives and thresholds (each key of ``[defaults]`` / ``[services.X]``)."""

    name: str
    availability: Decimal = Decimal("0.999")  # share of requests that must not fail
    latency_objective: Decimal = Decimal("0.99")  # share that must be faster than latency_threshold
    latency_threshold: Decimal = Decimal("0.5")  # seconds; a bucket boundary (names.HTTP_BUCKETS)
    error_ratio: Decimal = Decimal("0.05")  # per route, over 5 minutes
    p99_latency: Decimal = Decimal("1")  # seconds, per route, over 5 minutes
    task_failure_ratio: Decimal = Decimal("0.1")  # per task name, over 5 minutes
    min_requests: int = 100  # events in an alert's window before a ratio may alert
    pager: str = "pagerduty"  # where its page alerts go: pagerduty, opsgenie or slack only


@dataclass(frozen=True)
class Spec:
    """Everything the generator needs; built by :func:`load`."""

    services: tuple[Service, ...]
    service_label: str = names.DEFAULT_SERVICE_LABEL
    evaluation_interval: str = "1m"
    for_override: str | None = None  # every alert's ``for:`` (short, for end-to-end tests)
    traces_url: str = "http://localhost:16686/search?service={service}&tags=%7B%22http.route%22%3A%22{route}%22%7D"
    logs_url: str = "http://localhost:3000/explore?left=%7B%22queries%22%3A%5B%7B%22expr%22%3A%22%7Bservice%3D%5C%22{service}%5C%22%7D%22%7D%5D%7D"
    slack_page_channel: str = "#alerts-page"
    slack_ticket_channel: str = "#alerts-ticket"
    secrets_dir: str = "/etc/alertmanager/secrets"
    webhook_url: str = WEBHOOK_PLACEHOLDER
    pagerduty_url: str | None = None  # Events v2 endpoint; Alertmanager's default when None
    opsgenie_api_url: str | None = None
    group_wait: str = "30s"
    group_interval: str = "5m"
    page_repeat_interval: str = "1h"
    ticket_repeat_interval: str = "12h"
    resolve_timeout: str = "5m"


_SERVICE_KEYS = {f.name for f in fields(Service)} - {"name"}
_SPEC_KEYS = {f.name for f in fields(Spec)} - {"services"}
_DURATIONS = (
    "evaluation_interval",
    "for_override",
    "group_wait",
    "group_interval",
    "page_repeat_interval",
    "ticket_repeat_interval",
    "resolve_timeout",
)


def read_toml(path: Path) -> dict[str, Any]:
    """The TOML file at ``path``, its numbers as ``Decimal``; ``ConfigError`` if unreadable."""
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # Python 3.10: the same parser, from PyPI (the alerts extra installs it)
        try:
            import tomli as tomllib
        except ImportError:
            raise ConfigError(
                f"--config={str(path)!r}: reading TOML on Python 3.10 needs tomli "
                "(pip install 'msatrace[alerts]')"
            ) from None
    try:
        with path.open("rb") as f:
            document: dict[str, Any] = tomllib.load(f, parse_float=Decimal)
            return document
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"--config={str(path)!r}: {exc}") from None


def load(
    document: Mapping[str, Any], names_given: tuple[str, ...], overrides: Mapping[str, Any]
) -> Spec:
    """A checked :class:`Spec` from a parsed file, service names and command-line overrides."""
    top = dict(document)
    defaults = _table(top.pop("defaults", {}), "[defaults]")
    services_table = _table(top.pop("services", {}), "[services]")
    for section in ("links", "alertmanager"):
        for key, value in _table(top.pop(section, {}), f"[{section}]").items():
            top[{"traces": "traces_url", "logs": "logs_url"}.get(key, key)] = value
    top.update({k: v for k, v in overrides.items() if v is not None})
    unknown = sorted(set(top) - _SPEC_KEYS)
    if unknown:
        raise ConfigError(f"unknown key {unknown[0]!r}: expected one of {sorted(_SPEC_KEYS)}")
    ordered = list(services_table) + [n for n in names_given if n not in services_table]
    if not ordered:
        raise ConfigError("no service: name services on the command line or in [services.NAME]")
    services = tuple(
        _service(n, {**defaults, **_table(services_table.get(n, {}), f"[services.{n}]")})
        for n in ordered
    )
    spec = Spec(services=services, **{k: _text(k, v) for k, v in top.items()})
    return _checked(spec)


def _table(value: object, where: str) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise ConfigError(f"{where}={value!r}: expected a table")
    return dict(value)


def _text(key: str, value: object) -> str:
    if not isinstance(value, str):
        raise ConfigError(f"{key}={value!r}: expected a string")
    return value


def _service(name: str, raw: Mapping[str, Any]) -> Service:
    if not _NAME.match(name):
        raise ConfigError(f"service {name!r}: expected letters, digits and _ . : - only")
    where = f"[services.{name}]"
    unknown = sorted(set(raw) - _SERVICE_KEYS)
    if unknown:
        raise ConfigError(
            f"{where} {unknown[0]}: unknown key, expected one of {sorted(_SERVICE_KEYS)}"
        )
    values: dict[str, Any] = {}
    for key, value in raw.items():
        if key == "pager":
            if value not in PAGERS:
                raise ConfigError(f"{where} pager={value!r}: expected one of {list(PAGERS)}")
            values[key] = value
        elif key == "min_requests":
            if isinstance(value, bool) or not isinstance(value, int) or value < 2:
                raise ConfigError(f"{where} min_requests={value!r}: expected an integer >= 2")
            values[key] = value
        else:
            if isinstance(value, bool) or not isinstance(value, (int, Decimal, str)):
                raise ConfigError(f"{where} {key}={value!r}: expected a number")
            try:
                values[key] = Decimal(str(value))
            except ArithmeticError:
                raise ConfigError(f"{where} {key}={value!r}: expected a number") from None
    return _checked_service(Service(name=name, **values))


def _checked_service(s: Service) -> Service:
    where = f"[services.{s.name}]"
    for key in ("availability", "latency_objective"):
        objective: Decimal = getattr(s, key)
        if not 0 < objective < 1 or FASTEST_BURN * (1 - objective) >= 1:
            lowest = num(1 - 1 / FASTEST_BURN)
            raise ConfigError(
                f"{where} {key}={num(objective)}: expected a share below 1 and above {lowest} "
                "(with a lower objective the 14.4x burn-rate page could never fire)"
            )
    for key in ("error_ratio", "task_failure_ratio"):
        ratio: Decimal = getattr(s, key)
        if not 0 < ratio < 1:
            raise ConfigError(f"{where} {key}={num(ratio)}: expected a share between 0 and 1")
    if num(s.latency_threshold) not in names.HTTP_BUCKETS:
        raise ConfigError(
            f"{where} latency_threshold={num(s.latency_threshold)}: expected a bucket boundary "
            f"of the request-duration histogram, one of {', '.join(names.HTTP_BUCKETS)}"
        )
    if not Decimal(names.HTTP_BUCKETS[0]) < s.p99_latency < Decimal(names.HTTP_BUCKETS[-1]):
        raise ConfigError(
            f"{where} p99_latency={num(s.p99_latency)}: expected seconds between "
            f"{names.HTTP_BUCKETS[0]} and {names.HTTP_BUCKETS[-1]} (the histogram's range)"
        )
    return s


def _checked(spec: Spec) -> Spec:
    if not _LABEL.match(spec.service_label):
        raise ConfigError(f"service_label={spec.service_label!r}: expected a label name")
    for key in _DURATIONS:
        value = getattr(spec, key)
        if value is not None and not is_duration(value):
            raise ConfigError(f"{key}={value!r}: expected a duration such as 30s, 5m or 1h")
    for key in ("traces_url", "logs_url", "webhook_url"):
        if "{{" in getattr(spec, key) or "}}" in getattr(spec, key):
            raise ConfigError(f"{key}={getattr(spec, key)!r}: template braces are not allowed")
    seen: set[str] = set()
    for s in spec.services:
        if s.name in seen:
            raise ConfigError(f"service {s.name!r} is named twice")
        seen.add(s.name)
    return spec
