"""What init(), shutdown() and the test kit leave behind: nothing of msatrace's, once they end."""

from __future__ import annotations

import re

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider

import msatrace
from msatrace import ConfigError, testing
from msatrace._core import runtime


def _reset_global_provider() -> None:
    trace._TRACER_PROVIDER = None
    trace._TRACER_PROVIDER_SET_ONCE = type(trace._TRACER_PROVIDER_SET_ONCE)()


def test_capture_spans_leaves_nothing_that_warns_on_later_spans(env: pytest.MonkeyPatch) -> None:
    """A span ended after a capture_spans() block is not met by a shut-down processor's warning."""
    msatrace.init(service_name="svc", traces_exporter="none", sampler="always_on")
    with testing.capture_spans() as first:
        trace.get_tracer("t").start_span("inside").end()

    with testing.capture_logs() as events:
        trace.get_tracer("t").start_span("after").end()

    assert [s.name for s in first.get_finished_spans()] == ["inside"]
    assert [e["event"] for e in events] == []


def test_nested_capture_spans_each_record_their_own_block(env: pytest.MonkeyPatch) -> None:
    """An inner block sees the spans ended inside it; the outer one sees both."""
    msatrace.init(service_name="svc", traces_exporter="none", sampler="always_on")
    tracer = trace.get_tracer("t")

    with testing.capture_spans() as outer:
        tracer.start_span("a").end()
        with testing.capture_spans() as inner:
            tracer.start_span("b").end()
        tracer.start_span("c").end()

    assert [s.name for s in outer.get_finished_spans()] == ["a", "b", "c"]
    assert [s.name for s in inner.get_finished_spans()] == ["b"]


def test_shutdown_gives_an_adopted_provider_its_id_generator_back(
    env: pytest.MonkeyPatch,
) -> None:
    """After shutdown() an adopted provider has exactly the ID generator it had before init()."""
    mine = TracerProvider()
    original = mine.id_generator
    trace.set_tracer_provider(mine)
    try:
        msatrace.init(service_name="svc")

        msatrace.shutdown()

        assert mine.id_generator is original
    finally:
        mine.shutdown()
        _reset_global_provider()


@pytest.mark.parametrize(
    ("first", "second", "named"),
    [
        ({"service_name": "a"}, {"service_name": "b"}, "service_name='b'"),
        ({"sampler": "always_on"}, {"sampler": "always_off"}, "sampler='always_off'"),
        (
            {"traces_exporter": "none"},
            {"traces_exporter": "console"},
            "traces_exporter='console'",
        ),
    ],
)
def test_second_init_that_changes_spans_is_refused_whole(
    env: pytest.MonkeyPatch, first: dict[str, str], second: dict[str, str], named: str
) -> None:
    """init() again with another service, sampler or exporter raises and changes nothing."""
    base = {"service_name": "a", "log_format": "json", "traces_exporter": "none"}
    msatrace.init(**{**base, **first})  # type: ignore[arg-type]
    rt = runtime.current()

    with pytest.raises(ConfigError, match=re.escape(named)) as raised:
        msatrace.init(**{**base, **first, **second, "log_format": "console"})  # type: ignore[arg-type]

    assert "msatrace.shutdown()" in str(raised.value)
    assert runtime.current() is rt
    with testing.capture_logs() as events:
        msatrace.get_logger("t").info("still")
    assert events[0]["service"] == "a"


def test_second_init_that_changes_logging_only_applies_it(env: pytest.MonkeyPatch) -> None:
    """init() again with only another log level applies it and keeps the tracer provider."""
    msatrace.init(service_name="a", log_level="INFO", traces_exporter="none")
    provider = trace.get_tracer_provider()

    msatrace.init(service_name="a", log_level="WARNING", traces_exporter="none")

    rt = runtime.current()
    assert rt is not None
    assert rt.settings.log_level == "WARNING"
    assert trace.get_tracer_provider() is provider


def test_init_after_shutdown_applies_new_span_settings(env: pytest.MonkeyPatch) -> None:
    """shutdown() then init() with a new service name and sampler: spans follow the new ones."""
    msatrace.init(service_name="a", sampler="always_off", traces_exporter="none")
    msatrace.shutdown()

    msatrace.init(service_name="b", sampler="always_on", traces_exporter="none")
    with testing.capture_spans() as spans:
        trace.get_tracer("t").start_span("work").end()

    (span,) = spans.get_finished_spans()
    assert span.resource.attributes["service.name"] == "b"


def test_shutdown_ends_the_flush_thread_of_its_export_pipeline(env: pytest.MonkeyPatch) -> None:
    """The thread that bounds flushes starts with the exporter and ends at shutdown()."""
    import threading
    import time

    def flush_threads() -> list[threading.Thread]:
        return [t for t in threading.enumerate() if t.name == "msatrace-flush"]

    before = len(flush_threads())
    msatrace.init(service_name="svc", patch="none", otlp_endpoint="http://127.0.0.1:9")
    started = len(flush_threads())

    msatrace.shutdown()
    for _ in range(500):  # the thread ends once it has taken the stop; not a timing assertion
        if len(flush_threads()) == before:
            break
        time.sleep(0.01)

    assert started == before + 1
    assert len(flush_threads()) == before
