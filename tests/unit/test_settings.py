"""Settings: precedence, defaults, and ConfigError messages that name the setting."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from msatrace import ConfigError
from msatrace._core.config import parsers
from msatrace._core.config.settings import OPTIONS, resolve, unknown_variables


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


@pytest.mark.parametrize("name", ["development", "dev", "local", "Dev"])
def test_development_names_mean_debug_and_console(name: str) -> None:
    """development, dev and local (any case) default to DEBUG and console; the name is kept."""

    s = resolve({"environment": name}, {})

    assert (s.environment, s.log_level, s.log_format) == (name, "DEBUG", "console")


@pytest.mark.parametrize("name", ["qa", "preprod", "dev-eu", "staging", "prod", "eu-west-1.blue"])
def test_any_other_environment_name_gets_the_production_defaults(name: str) -> None:
    """A team's own environment name is accepted as written and logs JSON at INFO."""

    s = resolve({}, {"MSATRACE_ENVIRONMENT": name})

    assert (s.environment, s.log_level, s.log_format) == (name, "INFO", "json")


@pytest.mark.parametrize("name", ["pre prod", "x" * 65, "-dev", "qa,prod", "a=b", "é", "q\x9bx"])
def test_an_environment_name_must_be_a_short_printable_token(name: str) -> None:
    """Spaces, separators, non-ASCII, names over 64 characters: refused, naming the variable."""

    with pytest.raises(ConfigError, match=r"^MSATRACE_ENVIRONMENT=.*expected a name"):
        resolve({}, {"MSATRACE_ENVIRONMENT": name})


def test_a_blank_environment_argument_is_refused() -> None:
    """environment=" " is a mistake (a blank variable means unset, as in OpenTelemetry)."""

    with pytest.raises(ConfigError, match=r"^environment=' ': expected a name"):
        resolve({"environment": " "}, {})


def test_environment_from_resource_attributes_keeps_its_name() -> None:
    """deployment.environment.name=qa in OTEL_RESOURCE_ATTRIBUTES is accepted as qa."""

    s = resolve({}, {"OTEL_RESOURCE_ATTRIBUTES": "deployment.environment.name=qa"})

    assert s.environment == "qa"


def test_production_means_info_and_json() -> None:
    """In production the level defaults to INFO and the format to JSON."""

    s = resolve({}, {})

    assert (s.environment, s.log_level, s.log_format) == ("production", "INFO", "json")


def test_otlp_endpoint_gets_the_signal_path() -> None:
    """OTEL_EXPORTER_OTLP_ENDPOINT is a base URL: /v1/traces is appended, and export turns on."""

    s = resolve({}, {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318/"})

    assert s.otlp_traces_endpoint == "http://collector:4318/v1/traces"
    assert s.traces_exporter == "otlp"


@pytest.mark.parametrize(
    ("arguments", "env"),
    [
        ({"otlp_endpoint": "http://collector:4318"}, {}),
        ({}, {"MSATRACE_OTLP_ENDPOINT": "http://collector:4318/"}),
        ({}, {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}),
    ],
)
def test_otlp_endpoint_means_the_same_everywhere(
    arguments: dict[str, str], env: dict[str, str]
) -> None:
    """otlp_endpoint=, MSATRACE_OTLP_ENDPOINT and OTEL_EXPORTER_OTLP_ENDPOINT are a base URL."""

    s = resolve(arguments, env)

    assert s.otlp_traces_endpoint == "http://collector:4318/v1/traces"


def test_an_otlp_endpoint_ending_in_the_signal_path_is_used_as_is() -> None:
    """A full traces URL in otlp_endpoint (what it meant before) does not get a second path."""

    s = resolve({"otlp_endpoint": "http://collector:4318/v1/traces"}, {})

    assert s.otlp_traces_endpoint == "http://collector:4318/v1/traces"


def test_traces_endpoint_is_used_as_is() -> None:
    """OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is the full URL and wins over the base URL."""

    env = {
        "OTEL_EXPORTER_OTLP_ENDPOINT": "http://base:4318",
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://traces:4318/custom",
    }

    assert resolve({}, env).otlp_traces_endpoint == "http://traces:4318/custom"


def test_an_argument_wins_over_a_signal_specific_variable() -> None:
    """otlp_endpoint= in code beats OTEL_EXPORTER_OTLP_TRACES_ENDPOINT in the environment."""

    env = {"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://traces:4318/custom"}

    s = resolve({"otlp_endpoint": "http://mine:4318"}, env)

    assert s.otlp_traces_endpoint == "http://mine:4318/v1/traces"


def test_msatrace_traces_endpoint_is_used_as_is() -> None:
    """MSATRACE_OTLP_TRACES_ENDPOINT is a full URL, like its OpenTelemetry counterpart."""

    s = resolve({}, {"MSATRACE_OTLP_TRACES_ENDPOINT": "https://gw.example/otlp/spans"})

    assert s.otlp_traces_endpoint == "https://gw.example/otlp/spans"


def test_grpc_uses_the_base_url_as_is() -> None:
    """With the grpc protocol no path is appended and the default port is 4317."""

    grpc = {"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}

    assert (
        resolve({}, {**grpc, "OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4317"}).otlp_traces_endpoint
        == "http://c:4317"
    )
    assert (
        resolve({"traces_exporter": "otlp"}, grpc).otlp_traces_endpoint == "http://localhost:4317"
    )


@pytest.mark.parametrize("value", ["http/json", "HTTP/JSON"])
def test_http_json_is_refused_naming_the_variable(value: str) -> None:
    """OTLP/HTTP JSON has no exporter in the Python SDK: a ConfigError, never silently protobuf."""

    with pytest.raises(ConfigError, match=r"^OTEL_EXPORTER_OTLP_PROTOCOL=.*no OTLP/HTTP JSON"):
        resolve({}, {"OTEL_EXPORTER_OTLP_PROTOCOL": value})


@pytest.mark.parametrize(
    "value",
    ["http://", "https://", "http://127.0.0.1:99999", "http://[::1", "http://h:0",
     "http://h:", "ftp://h", "http://a b", "http://[zz]:1", "collector:4318", "http://h:x"],
)  # fmt: skip
@pytest.mark.parametrize(
    "variable",
    ["MSATRACE_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"],
)
def test_a_malformed_endpoint_is_refused_naming_the_variable(variable: str, value: str) -> None:
    """Host required, port 1-65535, well-formed IPv6, http or https: else a ConfigError."""

    with pytest.raises(ConfigError, match=rf"^{variable}=.*expected an http:// or https:// URL"):
        resolve({}, {variable: value})


def test_a_blank_endpoint_argument_is_refused() -> None:
    """otlp_endpoint=" " is refused (a blank variable means unset, as in OpenTelemetry)."""

    with pytest.raises(ConfigError, match=r"^otlp_endpoint=' ': expected an http"):
        resolve({"otlp_endpoint": " "}, {})


@pytest.mark.parametrize(
    "value", ["http://[::1]:4318", "https://collector.example:443/otlp/", "http://10.0.0.1:4318"]
)
def test_a_well_formed_endpoint_is_accepted(value: str) -> None:
    """IPv6 literals, paths and IPv4 addresses are fine."""

    assert resolve({"otlp_endpoint": value}, {}).otlp_endpoint == value.rstrip("/")


def test_no_endpoint_means_no_export() -> None:
    """Without an endpoint spans are not exported (and nothing tries localhost)."""

    assert resolve({}, {}).traces_exporter == "none"


def test_otlp_asked_without_endpoint_uses_the_spec_default() -> None:
    """OTEL_TRACES_EXPORTER=otlp alone sends to localhost:4318, as OpenTelemetry does."""

    s = resolve({}, {"OTEL_TRACES_EXPORTER": "otlp"})

    assert s.otlp_traces_endpoint == "http://localhost:4318/v1/traces"


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
        ({"environment": "q a"}, {}, "environment='q a': expected a name"),
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
    """Each option has an environment variable, a doc line and a documented default.

    Except options whose values are Python callables, which no environment variable can hold.
    """
    keyword_only = {"redact_recognisers"}

    for opt in OPTIONS:
        assert bool(opt.env) is (opt.name not in keyword_only), opt.name
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


@pytest.mark.parametrize(
    ("value", "expected"),
    [(logging.DEBUG, "DEBUG"), (logging.WARNING, "WARNING"), ("WARN", "WARNING"),
     ("warn", "WARNING"), (" info ", "INFO"), ("FATAL", "CRITICAL")],
)  # fmt: skip
def test_log_level_takes_stdlib_numbers_and_warn(value: str | int, expected: str) -> None:
    """log_level=logging.DEBUG (an int) and WARN (the stdlib's alias of WARNING) are accepted."""

    assert resolve({"log_level": value}, {}).log_level == expected


def test_per_logger_levels_take_stdlib_numbers_and_warn() -> None:
    """log_levels={"db": logging.DEBUG} and "uvicorn=WARN" both work."""

    from_code = resolve({"log_levels": {"db": logging.DEBUG, "app": "warn"}}, {})
    from_env = resolve({}, {"MSATRACE_LOG_LEVELS": "uvicorn=WARN"})

    assert dict(from_code.log_levels) == {"db": "DEBUG", "app": "WARNING"}
    assert dict(from_env.log_levels) == {"uvicorn": "WARNING"}


@pytest.mark.parametrize("value", [15, True, "VERBOSE", 1.5])
def test_other_levels_are_refused_naming_the_setting(value: object) -> None:
    """A number that is not one of the stdlib's levels, or an unknown name, is a ConfigError."""

    with pytest.raises(ConfigError, match=r"^log_level=.*expected a level name"):
        resolve({"log_level": value}, {})


@pytest.mark.parametrize("name", ["b3", "b3multi"])
def test_b3_without_its_package_names_what_to_install(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """OTEL_PROPAGATORS=b3 without the B3 package: a ConfigError naming the package."""
    installed = parsers.entry_points

    def without_b3(*, group: str) -> list[Any]:  # as if opentelemetry-propagator-b3 were absent
        return [ep for ep in installed(group=group) if not ep.name.startswith("b3")]

    monkeypatch.setattr(parsers, "entry_points", without_b3)

    with pytest.raises(ConfigError) as info:
        resolve({}, {"OTEL_PROPAGATORS": f"tracecontext,{name}"})

    assert str(info.value).startswith(f"OTEL_PROPAGATORS='tracecontext,{name}'")
    assert "opentelemetry-propagator-b3" in str(info.value)


def test_an_unknown_propagator_names_the_variable() -> None:
    """A propagator that does not exist is refused by the variable's name, listing the known."""

    with pytest.raises(ConfigError, match=r"^MSATRACE_PROPAGATORS='nosuch': .*tracecontext"):
        resolve({}, {"MSATRACE_PROPAGATORS": "nosuch"})


def test_propagator_names_are_case_insensitive_and_none_means_none() -> None:
    """TraceContext is tracecontext; none anywhere in the list means no propagator."""

    assert resolve({}, {"OTEL_PROPAGATORS": "TraceContext,"}).propagators == ("tracecontext",)
    assert resolve({}, {"OTEL_PROPAGATORS": "tracecontext,none"}).propagators == ()


@pytest.mark.parametrize(
    ("variable", "value"),
    [("OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT", "-1"), ("OTEL_SPAN_EVENT_COUNT_LIMIT", "1e3"),
     ("OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT", "99999999999999999999"),
     ("OTEL_LINK_ATTRIBUTE_COUNT_LIMIT", "lots"), ("OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT", "1.5"),
     ("OTEL_BSP_SCHEDULE_DELAY", "0"), ("OTEL_BSP_MAX_QUEUE_SIZE", "-5"),
     ("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", ""), ("OTEL_BSP_EXPORT_TIMEOUT", "soon"),
     ("OTEL_BSP_MAX_QUEUE_SIZE", "100"), ("OTEL_SDK_DISABLED", "maybe")],
)  # fmt: skip
def test_sdk_variables_are_checked_naming_the_variable(variable: str, value: str) -> None:
    """Values the SDK would fail on (or overflow with) are a ConfigError naming the variable."""

    with pytest.raises(ConfigError, match=rf"^{variable}={value!r}: "):
        resolve({}, {variable: value})


def test_sdk_variables_the_sdk_accepts_are_accepted() -> None:
    """Whole numbers within range, an empty limit (no limit) and a smaller batch pass."""

    env = {
        "OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT": " 64 ",
        "OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT": "",
        "OTEL_BSP_MAX_QUEUE_SIZE": "100",
        "OTEL_BSP_MAX_EXPORT_BATCH_SIZE": "50",
        "OTEL_BSP_SCHEDULE_DELAY": "60000",
    }

    assert resolve({}, env).service_name


def test_otlp_headers_are_percent_decoded_and_checked() -> None:
    """OTLP header values are percent-decoded (OTLP exporter spec); control characters refused."""

    s = resolve({}, {"OTEL_EXPORTER_OTLP_HEADERS": "authorization=Basic%20abc"})

    assert dict(s.otlp_headers) == {"authorization": "Basic abc"}
    with pytest.raises(ConfigError, match=r"^OTEL_EXPORTER_OTLP_HEADERS="):
        resolve({}, {"OTEL_EXPORTER_OTLP_HEADERS": "x-a=1%0d%0aX-Evil: 1"})


def test_unknown_msatrace_variables_get_the_nearest_known_name() -> None:
    """MSATRACE_SERVICENAME is reported with 'did you mean MSATRACE_SERVICE_NAME?'."""

    env = {"MSATRACE_SERVICENAME": "cart", "MSATRACE_LOG_LEVEL": "INFO", "MSATRACE_ZZZ": "1"}

    assert unknown_variables(env) == [
        "MSATRACE_SERVICENAME (did you mean MSATRACE_SERVICE_NAME?)",
        "MSATRACE_ZZZ",
    ]


@pytest.mark.parametrize(
    ("value", "tracing"), [("true", False), (" TRUE ", False), ("false", True)]
)
def test_otel_sdk_disabled_takes_the_specifications_booleans(value: str, tracing: bool) -> None:
    """OTEL_SDK_DISABLED is true or false in any case, as OpenTelemetry reads it."""

    settings = resolve({}, {"OTEL_SDK_DISABLED": value})

    assert settings.tracing is tracing


@pytest.mark.parametrize("value", ["1", "yes", "on", "0", "no"])
def test_otel_sdk_disabled_refuses_what_opentelemetry_would_read_otherwise(value: str) -> None:
    """OpenTelemetry reads 1 or yes as false: msatrace refuses them rather than disagree."""

    with pytest.raises(ConfigError, match=r"^OTEL_SDK_DISABLED=.*expected true or false"):
        resolve({}, {"OTEL_SDK_DISABLED": value})
