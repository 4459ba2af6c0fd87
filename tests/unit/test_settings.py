"""Settings: precedence, defaults, and ConfigError messages that name the setting."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from msatrace import ConfigError
from msatrace._core.settings import OPTIONS, resolve


def test_argument_beats_msatrace_beats_otel() -> None:
    """Precedence: keyword argument > MSATRACE_* > OTEL_* > default."""

    env = {"MSATRACE_SERVICE_NAME": "from-msatrace", "OTEL_SERVICE_NAME": "from-otel"}

    assert resolve({"service_name": "from-arg"}, env).service_name == "from-arg"
    assert resolve({}, env).service_name == "from-msatrace"
    assert resolve({}, {"OTEL_SERVICE_NAME": "from-otel"}).service_name == "from-otel"


def test_service_name_defaults_to_the_program_never_unknown() -> None:
    """Without any setting the service is named after the running program."""

    name = resolve({}, {}).service_name

    assert name
    assert name != "unknown"


def test_resource_attributes_fill_service_and_environment() -> None:
    """OTEL_RESOURCE_ATTRIBUTES gives service.name, service.version and the environment."""

    env = {
        "OTEL_RESOURCE_ATTRIBUTES": "service.name=cart,service.version=2.1,"
        "deployment.environment.name=staging"
    }

    s = resolve({}, env)

    assert (s.service_name, s.service_version, s.environment) == ("cart", "2.1", "staging")


def test_development_means_debug_and_console() -> None:
    """In development the level defaults to DEBUG and the format to console."""

    s = resolve({"environment": "dev"}, {})

    assert (s.environment, s.log_level, s.log_format) == ("development", "DEBUG", "console")


def test_production_means_info_and_json() -> None:
    """In production the level defaults to INFO and the format to JSON."""

    s = resolve({}, {})

    assert (s.environment, s.log_level, s.log_format) == ("production", "INFO", "json")


def test_otlp_endpoint_gets_the_signal_path() -> None:
    """OTEL_EXPORTER_OTLP_ENDPOINT is a base URL: /v1/traces is appended, and export turns on."""

    s = resolve({}, {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318/"})

    assert s.otlp_endpoint == "http://collector:4318/v1/traces"
    assert s.traces_exporter == "otlp"


def test_traces_endpoint_is_used_as_is() -> None:
    """OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is the full URL and wins over the base URL."""

    env = {
        "OTEL_EXPORTER_OTLP_ENDPOINT": "http://base:4318",
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://traces:4318/custom",
    }

    assert resolve({}, env).otlp_endpoint == "http://traces:4318/custom"


def test_no_endpoint_means_no_export() -> None:
    """Without an endpoint spans are not exported (and nothing tries localhost)."""

    assert resolve({}, {}).traces_exporter == "none"


def test_otlp_asked_without_endpoint_uses_the_spec_default() -> None:
    """OTEL_TRACES_EXPORTER=otlp alone sends to localhost:4318, as OpenTelemetry does."""

    s = resolve({}, {"OTEL_TRACES_EXPORTER": "otlp"})

    assert s.otlp_endpoint == "http://localhost:4318/v1/traces"


def test_sdk_disabled_turns_tracing_off() -> None:
    """OTEL_SDK_DISABLED=true turns span creation off."""

    assert resolve({}, {"OTEL_SDK_DISABLED": "true"}).tracing is False


def test_lists_and_pairs_are_parsed() -> None:
    """Comma-separated variables become tuples and mappings."""

    env = {
        "OTEL_PROPAGATORS": "tracecontext,baggage,xtraceid",
        "OTEL_EXPORTER_OTLP_HEADERS": "api-key=secret,x-tenant=a",
        "MSATRACE_PATCH": "httpx",
        "MSATRACE_LOG_LEVELS": "uvicorn=warning,app.db=DEBUG",
    }

    s = resolve({}, env)

    assert s.propagators == ("tracecontext", "baggage", "xtraceid")
    assert dict(s.otlp_headers) == {"api-key": "secret", "x-tenant": "a"}
    assert s.patch == ("httpx",)
    assert dict(s.log_levels) == {"uvicorn": "WARNING", "app.db": "DEBUG"}


@pytest.mark.parametrize(
    ("arguments", "env", "message"),
    [
        ({"log_format": "jsno"}, {}, "log_format='jsno': expected 'json' or 'console'"),
        ({}, {"MSATRACE_LOG_FORMAT": "jsno"}, "MSATRACE_LOG_FORMAT='jsno': expected 'json'"),
        ({}, {"OTEL_TRACES_SAMPLER": "sometimes"}, "OTEL_TRACES_SAMPLER='sometimes': expected"),
        ({}, {"OTEL_TRACES_SAMPLER_ARG": "2"}, "OTEL_TRACES_SAMPLER_ARG='2': expected a number"),
        ({"environment": "qa"}, {}, "environment='qa': expected 'development'"),
        ({"trace_header": "X Trace"}, {}, "trace_header='X Trace': expected an HTTP header"),
        # A trailing newline (a value read from a file) would reach the response headers.
        ({}, {"MSATRACE_TRACE_HEADER": "X-Trace-ID\n"}, "MSATRACE_TRACE_HEADER='X-Trace-ID\\n'"),
        ({}, {"MSATRACE_REQUEST_ID_HEADER": "X-Req\r\n"}, "MSATRACE_REQUEST_ID_HEADER='X-Req"),
        ({"patch": "urllib"}, {}, "patch='urllib': expected names from httpx"),
        ({"otlp_endpoint": "collector:4318"}, {}, "otlp_endpoint='collector:4318': expected"),
        ({"otlp_timeout": 0}, {}, "otlp_timeout=0: expected a positive number"),
        ({"tracing": "maybe"}, {}, "tracing='maybe': expected true or false"),
        ({"propagate_to": "re:("}, {}, "propagate_to='re:(': bad regex"),
        ({}, {"OTEL_RESOURCE_ATTRIBUTES": "novalue"}, "OTEL_RESOURCE_ATTRIBUTES='novalue'"),
    ],
)
def test_bad_values_name_the_setting(
    arguments: dict[str, object], env: dict[str, str], message: str
) -> None:
    """A wrong value fails with ConfigError naming the setting or variable and what it accepts."""

    with pytest.raises(ConfigError) as info:
        resolve(arguments, env)

    assert message in str(info.value)


def test_unknown_setting_is_refused() -> None:
    """A misspelt keyword is an error, not silently ignored."""

    with pytest.raises(ConfigError, match="servce_name"):
        resolve({"servce_name": "x"}, {})


def test_every_option_is_documented() -> None:
    """Each option has an environment variable, a doc line and a documented default."""

    for opt in OPTIONS:
        assert opt.env, opt.name
        assert opt.doc.strip(), opt.name
        assert opt.default_doc.strip(), opt.name


@given(st.dictionaries(st.sampled_from([v for o in OPTIONS for v in o.env]), st.text(max_size=20)))
def test_any_environment_resolves_or_fails_with_config_error(env: dict[str, str]) -> None:
    """Whatever the environment holds, resolve() returns settings or raises ConfigError only."""

    try:
        s = resolve({}, env)
    except ConfigError as exc:
        message = str(exc)
    else:
        message = "expected" if s.service_name else ""

    assert "expected" in message or "bad regex" in message
