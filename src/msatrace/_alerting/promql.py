"""Exact decimals, durations and small PromQL pieces, as text.

Thresholds and objectives stay ``Decimal`` from the configuration file to the output, so a rule
reads ``0.001`` and ``14.4``, never ``0.0009999999999999432`` (what float arithmetic on
``1 - 0.999`` prints). Imports only the standard library.
"""

from __future__ import annotations

import re
from decimal import Decimal

_DURATION = re.compile(r"^([0-9]+)(ms|s|m|h|d|w)$")
_SECONDS = {
    "ms": Decimal("0.001"),
    "s": Decimal(1),
    "m": Decimal(60),
    "h": Decimal(3600),
    "d": Decimal(86400),
    "w": Decimal(604800),
}


def num(value: Decimal | int) -> str:
    """The shortest exact decimal text of ``value``: ``0.001``, ``14.4``, ``100``."""
    text = format(Decimal(value).normalize(), "f")
    return text


def percent(ratio: Decimal) -> str:
    """``ratio`` as an exact percentage: ``0.999`` -> ``99.9%``."""
    return num(ratio * 100) + "%"


def duration_seconds(text: str) -> Decimal:
    """Seconds in a one-unit Prometheus duration (``30s``, ``5m``, ``1h``); ``ValueError`` else."""
    match = _DURATION.match(text)
    if match is None:
        raise ValueError(text)
    return int(match.group(1)) * _SECONDS[match.group(2)]


def is_duration(text: str) -> bool:
    """True when ``text`` is a one-unit Prometheus duration."""
    return _DURATION.match(text) is not None


def le_regex(boundary: str) -> str:
    """A regex matching the ``le`` label of a bucket boundary however an exporter wrote it.

    prometheus_client (behind OpenTelemetry's Prometheus exporter) writes ``1.0`` for 1 and
    ``0.5`` for 0.5; others write ``1``. ``[.]`` avoids backslashes in PromQL and YAML.
    """
    whole, _, fraction = boundary.partition(".")
    if fraction:
        return f"{whole}[.]{fraction}0*"
    return f"{whole}([.]0*)?"


def selector(metric: str, *matchers: str) -> str:
    """``metric{m1,m2}``."""
    return f"{metric}{{{','.join(matchers)}}}"
