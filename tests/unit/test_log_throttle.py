"""OpenTelemetry's own repeated lines (an exporter retrying while the collector is down) are cut
to one a minute, the next one saying how many were left out; every other logger is untouched."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest

import msatrace
from msatrace._core.logs import throttle

pytestmark = pytest.mark.bare

EXPORTER = "opentelemetry.exporter.otlp.proto.http.trace_exporter"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _record(name: str, msg: str, *args: object, level: int = logging.WARNING) -> logging.LogRecord:
    return logging.LogRecord(name, level, __file__, 1, msg, args, None)


def test_first_of_a_kind_passes_then_one_per_window_with_the_count_left_out() -> None:
    clock = Clock()
    repeats = throttle.Repeats(window=60, clock=clock)
    template = "Transient error %s encountered while exporting span batch, retrying in %ss."

    passed = [repeats.filter(_record(EXPORTER, template, "refused", i)) for i in range(5)]
    clock.now += 61
    late = _record(EXPORTER, template, "refused", 9)

    assert passed == [True, False, False, False, False]
    assert repeats.filter(late) is True
    assert late.suppressed == 4  # type: ignore[attr-defined]


def test_other_loggers_levels_and_messages_are_kinds_of_their_own() -> None:
    repeats = throttle.Repeats(window=60, clock=Clock())

    assert all(repeats.filter(_record("app.orders", "same line")) for _ in range(3))
    assert repeats.filter(_record(EXPORTER, "one"))
    assert repeats.filter(_record(EXPORTER, "two"))
    assert repeats.filter(_record(EXPORTER, "one", level=logging.ERROR))
    assert repeats.filter(_record("opentelemetry.sdk.trace.export", "one"))


def test_kinds_remembered_are_bounded() -> None:
    repeats = throttle.Repeats(window=60, clock=Clock())
    for i in range(throttle.KINDS * 3):
        assert repeats.filter(_record(EXPORTER, f"unformatted message {i}"))
    assert len(repeats._kinds) == throttle.KINDS


def test_the_bridge_writes_one_exporter_warning_of_many(
    env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Through init()'s bridge: ten retries in a row are one JSON line; the app's all pass."""
    msatrace.init(service_name="svc", patch="none")
    capsys.readouterr()  # init()'s start-up line

    for i in range(10):
        logging.getLogger(EXPORTER).warning("Transient error %s, retrying in %ss.", "refused", i)
        logging.getLogger("app").warning("order %s failed", i)

    lines: list[dict[str, Any]] = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert [x["logger"] for x in lines].count(EXPORTER) == 1
    assert [x["event"] for x in lines if x["logger"] == "app"] == [
        f"order {i} failed" for i in range(10)
    ]
