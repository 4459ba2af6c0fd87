"""Setting parsers against plain reference definitions, for any input text."""

from __future__ import annotations

import math
import string

import pytest
from hypothesis import given
from hypothesis import strategies as st

from msatrace._core import parsers
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
