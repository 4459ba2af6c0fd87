"""Setting parsers against plain reference definitions, for any input text."""

from __future__ import annotations

import math
import string
import urllib.parse

import pytest
from hypothesis import given
from hypothesis import strategies as st

from msatrace._core.config import parsers
from msatrace.exceptions import ConfigError

# RFC 9110 section 5.6.2: token = 1*tchar
TCHAR = frozenset("!#$%&'*+-.^_`|~" + string.digits + string.ascii_letters)
NEAR_TOKENS = st.text(alphabet=st.sampled_from([*sorted(TCHAR), " ", "\n", "\r", "\t", ":", "é"]))
# A valid name with something after it (a value read from a file ends with a newline).
SUFFIXED = st.builds(
    str.__add__,
    st.text(alphabet=st.sampled_from(sorted(TCHAR)), min_size=1),
    st.sampled_from(["\n", "\r\n", " ", "\x00", ""]),
)


@given(st.one_of(SUFFIXED, NEAR_TOKENS, st.text()))
def test_a_header_name_is_accepted_exactly_when_it_is_a_token(value: str) -> None:
    """Nothing but tchars, at least one: a newline anywhere (also last) is refused."""
    is_token = bool(value) and all(c in TCHAR for c in value)
    if is_token:
        assert parsers.header(value, "MSATRACE_TRACE_HEADER") == value
    else:
        with pytest.raises(ConfigError, match=r"^MSATRACE_TRACE_HEADER="):
            parsers.header(value, "MSATRACE_TRACE_HEADER")


@given(st.one_of(st.floats(), st.text(), st.integers().map(str)))
def test_a_ratio_is_accepted_exactly_between_0_and_1(value: float | str) -> None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = math.nan
    if 0.0 <= number <= 1.0:
        assert parsers.ratio(value, "OTEL_TRACES_SAMPLER_ARG") == number
    else:
        with pytest.raises(ConfigError, match=r"^OTEL_TRACES_SAMPLER_ARG=.*from 0 to 1"):
            parsers.ratio(value, "OTEL_TRACES_SAMPLER_ARG")


@given(st.lists(st.text(alphabet=st.characters(blacklist_characters=","))))
def test_a_comma_list_gives_its_stripped_non_empty_items(items: list[str]) -> None:
    expected = tuple(i.strip() for i in items if i.strip())
    assert parsers.comma_list(",".join(items), "MSATRACE_EXCLUDE_PATHS") == expected


@given(st.one_of(st.floats(), st.text(), st.integers().map(str)))
def test_seconds_are_accepted_exactly_when_positive_and_finite(value: float | str) -> None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = math.nan
    if 0 < number < math.inf:
        assert parsers.seconds(value, "MSATRACE_OTLP_TIMEOUT") == number
    else:
        with pytest.raises(ConfigError, match=r"^MSATRACE_OTLP_TIMEOUT=.*positive number"):
            parsers.seconds(value, "MSATRACE_OTLP_TIMEOUT")


URL_PARTS = st.builds(
    "{}://{}{}{}".format,
    st.sampled_from(["http", "https", "HTTP", "ftp", "", "http:"]),
    st.one_of(
        st.sampled_from(["collector", "10.0.0.1", "[::1]", "[::1", "[zz]", "", "a b", "é"]),
        st.text(max_size=8),
    ),
    st.one_of(st.just(""), st.integers(min_value=-1, max_value=70000).map(":{}".format)),
    st.sampled_from(["", "/", "/v1/traces", "/a b"]),
)


@given(st.one_of(URL_PARTS, st.text()))
def test_an_endpoint_is_accepted_only_with_a_scheme_a_host_and_a_valid_port(value: str) -> None:
    """Accepted URLs have http(s), a host and a port in 1-65535 (or none); the rest is refused."""
    try:
        accepted = parsers.url(value, "OTEL_EXPORTER_OTLP_ENDPOINT")
    except ConfigError as exc:
        message = str(exc)
        assert message.startswith("OTEL_EXPORTER_OTLP_ENDPOINT=")
        return
    parts = urllib.parse.urlsplit(accepted)
    assert parts.scheme.lower() in ("http", "https")
    assert parts.hostname
    assert parts.port is None or 1 <= parts.port <= 65535
    assert " " not in accepted
    assert accepted.isprintable()


ENV_CHARS = string.ascii_letters + string.digits + "._:/@+-"


@given(st.one_of(st.text(alphabet=st.sampled_from([*ENV_CHARS, " ", ",", "=", "é"])), st.text()))
def test_an_environment_name_is_accepted_exactly_when_it_is_a_short_token(value: str) -> None:
    """1-64 of letters, digits and ._:/@+-, the first a letter or digit (after stripping)."""
    v = value.strip()
    ok = 1 <= len(v) <= 64 and v[0].isascii() and v[0].isalnum() and all(c in ENV_CHARS for c in v)
    if ok:
        assert parsers.environment(value, "MSATRACE_ENVIRONMENT") == v
    else:
        with pytest.raises(ConfigError, match=r"^MSATRACE_ENVIRONMENT="):
            parsers.environment(value, "MSATRACE_ENVIRONMENT")


@given(st.one_of(st.integers(), st.text(), st.sampled_from(["warn", "Warn", "fatal", "debug"])))
def test_a_level_is_a_standard_name_or_number(value: int | str) -> None:
    """Standard numbers and names (any case, plus WARN and FATAL); nothing else."""
    numbers = {10: "DEBUG", 20: "INFO", 30: "WARNING", 40: "ERROR", 50: "CRITICAL"}
    names = {n: n for n in numbers.values()} | {"WARN": "WARNING", "FATAL": "CRITICAL"}
    expected = numbers.get(value) if isinstance(value, int) else names.get(value.strip().upper())
    if expected is not None:
        assert parsers.level(value, "MSATRACE_LOG_LEVEL") == expected
    else:
        with pytest.raises(ConfigError, match=r"^MSATRACE_LOG_LEVEL="):
            parsers.level(value, "MSATRACE_LOG_LEVEL")


@given(st.one_of(st.integers(min_value=-5, max_value=2**40).map(str), st.text()))
def test_a_count_is_ascii_digits_up_to_max_int(value: str) -> None:
    """Whole numbers in ASCII digits from 0 to 2**31-1 (blanks around allowed); else refused."""
    v = value.strip()
    if v and all(c in string.digits for c in v) and int(v) <= parsers.MAX_INT:
        assert parsers.count(value, "OTEL_SPAN_EVENT_COUNT_LIMIT") == int(v)
    else:
        with pytest.raises(ConfigError, match=r"^OTEL_SPAN_EVENT_COUNT_LIMIT="):
            parsers.count(value, "OTEL_SPAN_EVENT_COUNT_LIMIT")
