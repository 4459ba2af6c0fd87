"""init() and shutdown(): what they install, idempotency, flushing, adopting a provider."""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import subprocess
import sys
import textwrap
from typing import Any

import pytest
from opentelemetry import propagate, trace
from opentelemetry.sdk.trace import TracerProvider

import msatrace
from msatrace import ConfigError, testing
from msatrace._core import runtime

IMPORTED_FRAMEWORKS = ("django", "flask", "fastapi", "starlette", "httpx", "requests", "celery")


def run_python(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    """Run code in a fresh interpreter with a clean OTEL_/MSATRACE_ environment."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "MSATRACE_"))}
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        env={**clean, **env},
        timeout=60,
        check=False,
    )


def test_one_liner_prints_exactly_one_json_line() -> None:
    """The README's one-liner prints one JSON line with every documented field.

    (After init()'s one start-up line, which says where spans go.)
    """

    proc = run_python(
        "import msatrace; msatrace.init(service_name='svc'); "
        "msatrace.get_logger('t').info('hello', a=1)"
    )

    lines = proc.stdout.splitlines()
    assert proc.returncode == 0, proc.stderr
    assert len(lines) == 2
    assert json.loads(lines[0])["logger"] == "msatrace"
    event = json.loads(lines[1])
    assert list(event) == [
        "timestamp", "level", "logger", "event", "service", "environment", "version",
        "trace_id", "span_id", "request_id", "a",
    ]  # fmt: skip
    assert event["level"] == "info"
    assert event["logger"] == "t"
    assert event["event"] == "hello"
    assert event["service"] == "svc"
    assert event["a"] == 1


def test_stdlib_logging_prints_the_same_json_line() -> None:
    """logging.getLogger(...).warning goes through the same processors to one JSON line."""

    proc = run_python(
        "import logging, msatrace; msatrace.init(service_name='svc'); "
        "logging.getLogger('x').warning('careful %s', 'now')"
    )

    lines = proc.stdout.splitlines()[1:]  # after init()'s start-up line
    assert len(lines) == 1, proc.stdout + proc.stderr
    event = json.loads(lines[0])
    assert (event["level"], event["logger"], event["event"]) == ("warning", "x", "careful now")
    assert event["service"] == "svc"


@pytest.mark.bare
def test_import_loads_no_framework_and_is_cheap() -> None:
    """`import msatrace` imports no framework or client library, and costs little."""

    proc = run_python(
        """
        import sys, time
        t = time.perf_counter()
        import msatrace
        ms = (time.perf_counter() - t) * 1000
        loaded = [m for m in FRAMEWORKS if m in sys.modules]
        print(loaded, ms)
        """.replace("FRAMEWORKS", repr(IMPORTED_FRAMEWORKS))
    )

    loaded, ms = proc.stdout.rsplit(" ", 1)
    assert proc.returncode == 0, proc.stderr
    assert loaded == "[]"
    # A generous ceiling (the figure itself is reported by the benchmarks): a regression that
    # imports a framework or the OTLP exporter eagerly costs several hundred ms.
    assert float(ms) < 1000


def test_init_twice_installs_one_handler_and_one_processor(env: pytest.MonkeyPatch) -> None:
    """A second init() with the same settings changes nothing."""

    with testing.OTLPReceiver() as receiver:
        msatrace.init(service_name="svc", otlp_endpoint=receiver.endpoint)
        root_handlers = list(logging.getLogger().handlers)
        provider = trace.get_tracer_provider()
        processors = list(provider._active_span_processor._span_processors)  # type: ignore[attr-defined]

        msatrace.init(service_name="svc", otlp_endpoint=receiver.endpoint)

        assert logging.getLogger().handlers == root_handlers
        assert trace.get_tracer_provider() is provider
        assert list(provider._active_span_processor._span_processors) == processors  # type: ignore[attr-defined]


def test_shutdown_flushes_buffered_spans(env: pytest.MonkeyPatch) -> None:
    """Spans still in the batch processor reach the exporter on shutdown()."""

    with testing.OTLPReceiver() as receiver:
        msatrace.init(service_name="svc", otlp_endpoint=receiver.endpoint)
        with trace.get_tracer("t").start_as_current_span("work"):
            pass

        msatrace.shutdown(timeout=10)

        assert [s.name for s in receiver.spans] == ["work"]
        assert receiver.spans[0].service == "svc"


def test_interpreter_exit_flushes_buffered_spans() -> None:
    """A process that never calls shutdown() still exports its buffered spans at exit."""

    with testing.OTLPReceiver() as receiver:
        proc = run_python(
            """
            import msatrace
            from opentelemetry import trace
            msatrace.init(service_name="exiting")
            with trace.get_tracer("t").start_as_current_span("last words"):
                pass
            """,
            OTEL_EXPORTER_OTLP_ENDPOINT=receiver.base_endpoint,
            OTEL_BSP_SCHEDULE_DELAY="60000",
        )

        assert proc.returncode == 0, proc.stderr
        assert [(s.service, s.name) for s in receiver.spans] == [("exiting", "last words")]


@pytest.mark.skipif(not hasattr(os, "fork"), reason="os.fork is POSIX only")
def test_a_forked_child_has_its_flush_thread_and_exports_at_exit() -> None:
    """A worker forked after init() (gunicorn --preload) has the thread that bounds its exit flush
    from the fork on: from Python 3.12 no thread may start once the child is exiting."""

    with testing.OTLPReceiver() as receiver:
        proc = run_python(
            """
            import os, sys, threading, warnings
            import msatrace
            from opentelemetry import trace
            warnings.simplefilter("ignore", DeprecationWarning)  # fork() with threads running
            msatrace.init(service_name="forking", log_level="WARNING")
            pid = os.fork()
            if pid == 0:
                names = [t.name for t in threading.enumerate() if t.is_alive()]
                alive = "msatrace-flush" in names
                print("child flush thread alive:", alive, flush=True)
                with trace.get_tracer("t").start_as_current_span("child work"):
                    pass
                sys.exit(0)
            _, status = os.waitpid(pid, 0)
            sys.exit(os.waitstatus_to_exitcode(status))
            """,
            OTEL_EXPORTER_OTLP_ENDPOINT=receiver.base_endpoint,
            OTEL_BSP_SCHEDULE_DELAY="60000",
        )

        assert proc.returncode == 0, proc.stderr
        assert "child flush thread alive: True" in proc.stdout, proc.stdout + proc.stderr
        receiver.wait_for(lambda spans: any(s.name == "child work" for s in spans), timeout=10)


def test_resource_carries_service_version_and_environment(env: pytest.MonkeyPatch) -> None:
    """Spans carry service.name, service.version and deployment.environment.name."""

    msatrace.init(service_name="svc", service_version="1.2.3", environment="staging")

    resource = trace.get_tracer_provider().resource  # type: ignore[attr-defined]
    assert resource.attributes["service.name"] == "svc"
    assert resource.attributes["service.version"] == "1.2.3"
    assert resource.attributes["deployment.environment.name"] == "staging"


def test_existing_provider_is_adopted_not_replaced(env: pytest.MonkeyPatch) -> None:
    """A TracerProvider the application installed first is used as it is."""

    mine = TracerProvider()
    trace.set_tracer_provider(mine)
    try:
        msatrace.init(service_name="svc")

        rt = runtime.current()
        assert rt is not None
        assert rt.tracing.provider is mine
        assert trace.get_tracer_provider() is mine
    finally:
        msatrace.shutdown()
        mine.shutdown()
        trace._TRACER_PROVIDER = None
        trace._TRACER_PROVIDER_SET_ONCE = type(trace._TRACER_PROVIDER_SET_ONCE)()


def test_unknown_propagator_fails_fast(env: pytest.MonkeyPatch) -> None:
    """OTEL_PROPAGATORS naming a propagator that is not installed is a ConfigError."""

    env.setenv("OTEL_PROPAGATORS", "tracecontext,nosuch")

    with pytest.raises(ConfigError, match=r"OTEL_PROPAGATORS|nosuch"):
        msatrace.init(service_name="svc")
    assert runtime.current() is None


def test_xtraceid_is_an_opentelemetry_propagator_entry_point(env: pytest.MonkeyPatch) -> None:
    """OTEL_PROPAGATORS=tracecontext,baggage,xtraceid works through OpenTelemetry's loader."""

    env.setenv("OTEL_PROPAGATORS", "tracecontext,baggage,xtraceid")
    msatrace.init(service_name="svc")

    ctx = propagate.extract({"x-trace-id": "4bf92f35-77b3-4da6-a3ce-929d0e0e4736"})

    sc = trace.get_current_span(ctx).get_span_context()
    assert format(sc.trace_id, "032x") == "4bf92f3577b34da6a3ce929d0e0e4736"


def test_shutdown_restores_logging(env: pytest.MonkeyPatch) -> None:
    """After shutdown() the root logger has exactly the handlers it had before init()."""

    before = list(logging.getLogger().handlers)
    msatrace.init(service_name="svc")

    msatrace.shutdown()

    assert logging.getLogger().handlers == before
    assert runtime.current() is None


def test_explicit_client_that_is_missing_fails_fast(env: pytest.MonkeyPatch) -> None:
    """Asking to patch a client library that is not installed is a ConfigError."""

    proc = run_python(
        """
        import sys
        sys.modules["httpx"] = None  # as if httpx were not installed
        import msatrace
        try:
            msatrace.init(service_name="svc", patch="httpx")
        except msatrace.ConfigError as exc:
            print("ConfigError:", exc)
        """
    )

    assert "ConfigError: patch='httpx'" in proc.stdout, proc.stdout + proc.stderr


def test_init_that_fails_after_installing_tracing_leaves_no_provider(
    env: pytest.MonkeyPatch, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A failure while setting up logging leaves no provider behind for the next init()."""
    from msatrace._core.logs import configure

    def broken(settings: object) -> None:
        raise RuntimeError("logging set-up failed")

    monkeypatch.setattr(configure, "configure", broken)  # an internal failure, injected

    with pytest.raises(RuntimeError, match="logging set-up failed"):
        msatrace.init(service_name="svc", traces_exporter="none", sampler="always_on")
    monkeypatch.undo()
    msatrace.init(service_name="svc", traces_exporter="none", sampler="always_off")

    rt = runtime.current()
    assert rt is not None
    assert rt.tracing.owned  # installed afresh, not the first attempt's provider adopted
    assert rt.tracing.tracer is not None
    assert not rt.tracing.tracer.start_span("request").is_recording()


@pytest.mark.parametrize(
    ("environment", "says"),
    [
        ({}, "msatrace: spans are not exported (no OTEL_EXPORTER_OTLP_ENDPOINT"),
        (
            {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://user:secret@127.0.0.1:4318"},
            "msatrace: exporting spans over OTLP/HTTP to http://127.0.0.1:4318/v1/traces",
        ),
        ({"OTEL_TRACES_EXPORTER": "console"}, "msatrace: spans are printed to stdout"),
        ({"OTEL_SDK_DISABLED": "true"}, "msatrace: tracing is off"),
        (
            {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_TRACES_EXPORTER": "none"},
            "msatrace: spans are not exported (traces_exporter=none)",
        ),
    ],
)
def test_init_says_once_where_spans_go(environment: dict[str, str], says: str) -> None:
    """One INFO line on the msatrace logger names the destination (never a password)."""

    proc = run_python("import msatrace; msatrace.init(); msatrace.init()", **environment)

    lines = [json.loads(line) for line in proc.stdout.splitlines()]
    assert proc.returncode == 0, proc.stderr
    assert [(e["level"], e["logger"]) for e in lines] == [("info", "msatrace")]
    assert lines[0]["event"].startswith(says)
    assert "secret" not in proc.stdout


def test_an_unknown_msatrace_variable_is_reported_once_with_the_nearest_name() -> None:
    """MSATRACE_SERVICENAME gives one warning line suggesting MSATRACE_SERVICE_NAME."""

    proc = run_python("import msatrace; msatrace.init()", MSATRACE_SERVICENAME="cart")

    warnings = [e for e in map(json.loads, proc.stdout.splitlines()) if e["level"] == "warning"]
    assert proc.returncode == 0, proc.stderr
    assert len(warnings) == 1
    assert "MSATRACE_SERVICENAME (did you mean MSATRACE_SERVICE_NAME?)" in warnings[0]["event"]


@pytest.mark.parametrize("value", ["bogus", "tracecontext,b3x"])
def test_a_bad_otel_propagators_is_a_config_error_even_at_import(value: str) -> None:
    """OpenTelemetry reads OTEL_PROPAGATORS when imported; msatrace's adapters import fine and
    init() explains the value with a ConfigError naming the variable."""

    proc = run_python(
        """
        import msatrace, msatrace.asgi, msatrace.wsgi
        try:
            msatrace.init()
        except msatrace.ConfigError as exc:
            print("ConfigError:", exc)
        """,
        OTEL_PROPAGATORS=value,
    )

    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith(f"ConfigError: OTEL_PROPAGATORS={value!r}"), proc.stdout


def test_otel_propagators_that_opentelemetry_reads_more_strictly_still_work() -> None:
    """TraceContext (any case) and an empty item, which OpenTelemetry's import refuses, work."""

    proc = run_python(
        """
        import msatrace
        msatrace.init()
        from opentelemetry import propagate  # imported by init(), as msatrace imports it
        carrier = {}
        ctx = propagate.extract({"traceparent": "00-%s-00f067aa0ba902b7-01" % ("ab" * 16)})
        propagate.inject(carrier, ctx)
        print(carrier["traceparent"])
        """,
        OTEL_PROPAGATORS="TraceContext,,baggage",
    )

    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[-1] == "00-" + "ab" * 16 + "-00f067aa0ba902b7-01"


def test_b3_works_when_its_package_is_installed(env: pytest.MonkeyPatch) -> None:
    """OTEL_PROPAGATORS=b3 with opentelemetry-propagator-b3 installed sends B3 headers."""
    from tests.conftest import require

    require(
        "opentelemetry-propagator-b3",
        importlib.util.find_spec("opentelemetry.propagators.b3") is not None,
    )
    env.setenv("OTEL_PROPAGATORS", "tracecontext,b3")
    msatrace.init(service_name="svc", patch="none")
    carrier: dict[str, str] = {}

    with trace.get_tracer("t").start_as_current_span("work"):
        propagate.inject(carrier)

    assert "b3" in carrier
    assert carrier["b3"].startswith(carrier["traceparent"][3:35])


def test_grpc_without_its_exporter_names_what_to_install() -> None:
    """OTEL_EXPORTER_OTLP_PROTOCOL=grpc is never silently ignored: missing exporter, ConfigError."""

    proc = run_python(
        """
        import sys
        sys.modules["opentelemetry.exporter.otlp.proto.grpc"] = None  # as if not installed
        import msatrace
        try:
            msatrace.init(service_name="svc", patch="none")
        except msatrace.ConfigError as exc:
            print("ConfigError:", exc)
        """,
        OTEL_EXPORTER_OTLP_PROTOCOL="grpc",
        OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:4317",
    )

    assert proc.stdout.startswith("ConfigError: otlp_protocol='grpc'"), proc.stdout + proc.stderr
    assert "msatrace[otlp-grpc]" in proc.stdout


def test_grpc_is_honoured_when_its_exporter_is_installed(
    env: pytest.MonkeyPatch, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With opentelemetry-exporter-otlp-proto-grpc installed, grpc builds the gRPC exporter."""
    from tests.conftest import require

    require(
        "opentelemetry-exporter-otlp-proto-grpc",
        importlib.util.find_spec("opentelemetry.exporter.otlp.proto.grpc") is not None,
    )
    from opentelemetry.exporter.otlp.proto.grpc import trace_exporter

    endpoints: list[object] = []
    real_init = trace_exporter.OTLPSpanExporter.__init__

    def recording_init(self: object, *args: Any, **kwargs: Any) -> None:
        endpoints.append(kwargs.get("endpoint"))
        real_init(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(trace_exporter.OTLPSpanExporter, "__init__", recording_init)
    env.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")
    env.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4317")

    msatrace.init(service_name="svc", patch="none")

    assert endpoints == ["http://127.0.0.1:4317"]


def test_a_middleware_used_before_init_warns_once(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """ASGI and WSGI middlewares serving requests before init() give one warning, then none."""
    import asyncio

    from msatrace import asgi, wsgi
    from msatrace._core.lifecycle import inbound

    # As in a process where init() never ran; through __dict__, as hasattr() would warn already.
    monkeypatch.delitem(vars(inbound), "active", raising=False)

    async def asgi_app(scope: object, receive: object, send: object) -> None:
        return None

    def wsgi_app(environ: object, start_response: object) -> list[bytes]:
        return [b""]

    with caplog.at_level(logging.WARNING, logger="msatrace"):
        for _ in range(3):
            asyncio.run(asgi.TraceMiddleware(asgi_app)({"type": "http", "path": "/"}, None, None))  # type: ignore[arg-type]
            wsgi.TraceMiddleware(wsgi_app)({"PATH_INFO": "/"}, lambda *a: None)  # type: ignore[arg-type]

    warnings = [r for r in caplog.records if r.name == "msatrace"]
    assert len(warnings) == 1
    assert "before msatrace.init()" in warnings[0].getMessage()
