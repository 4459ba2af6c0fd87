"""Hypothesis: ``tracestate`` parsing against a reference definition of the current W3C grammar.

The reference below is written from the ABNF (Trace Context Level 2, https://www.w3.org/TR/
trace-context-2/#list) character by character, with no regular expression, and compared with
``headers.parse_tracestate`` on headers generated from the grammar, near it and at random.
It then goes in and out through ``Propagation``: what a service received is what it sends.
"""

from __future__ import annotations

import string

from hypothesis import given
from hypothesis import strategies as st
from opentelemetry import trace

from msatrace._core.config.settings import resolve
from msatrace._core.trace import headers
from msatrace._core.trace.propagation import HeaderBag, Propagation

# list        = list-member 0*31( OWS "," OWS list-member )
# list-member = (key "=" value) / OWS
# key         = ( lcalpha / DIGIT ) 0*255 ( keychar )
# keychar     = lcalpha / DIGIT / "_" / "-" / "*" / "/" / "@"
# value       = 0*255(chr) nblk-chr
# chr         = %x20 / nblk-chr
# nblk-chr    = %x21-2B / %x2D-3C / %x3E-7E
LCALPHA = string.ascii_lowercase
DIGIT = string.digits
KEYCHAR = LCALPHA + DIGIT + "_-*/@"
NBLK_CHR = "".join(chr(c) for c in range(0x21, 0x7F) if chr(c) not in ",=")
CHR = " " + NBLK_CHR
OWS = " \t"
TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


def reference_key(key: str) -> bool:
    """key = (lcalpha / DIGIT) 0*255(keychar)."""
    return 1 <= len(key) <= 256 and key[0] in LCALPHA + DIGIT and all(c in KEYCHAR for c in key)


def reference_value(value: str) -> bool:
    """value = 0*255(chr) nblk-chr."""
    return 1 <= len(value) <= 256 and all(c in CHR for c in value) and value[-1] in NBLK_CHR


def reference(header: str) -> list[tuple[str, str]] | None:
    """The members msatrace keeps: None if any member is invalid or more than 32 remain; OWS-only
    members skipped; of a duplicated key, the first member kept."""
    kept: dict[str, str] = {}
    for member in header.split(","):
        member = member.strip(OWS)
        if member == "":
            continue
        key, sep, value = member.partition("=")
        if sep != "=" or not reference_key(key) or not reference_value(value):
            return None
        kept.setdefault(key, value)
    return list(kept.items()) if len(kept) <= 32 else None


keys = st.builds(
    lambda first, rest: first + rest,
    st.sampled_from(LCALPHA + DIGIT),
    st.text(alphabet=KEYCHAR, max_size=255),
)
short_keys = st.builds(
    lambda first, rest: first + rest,
    st.sampled_from(LCALPHA + DIGIT),
    st.text(alphabet=KEYCHAR, max_size=6),
)
# Around the 256-character limits, on both sides of them.
edge_keys = st.builds(
    lambda first, fill, n: first + (fill * n)[: n - 1],
    st.sampled_from(LCALPHA + DIGIT),
    st.text(alphabet=KEYCHAR, min_size=1, max_size=3),
    st.integers(min_value=254, max_value=258),
)
edge_values = st.builds(
    lambda fill, n, last: (fill * n)[: n - 1] + last,
    st.text(alphabet=CHR, min_size=1, max_size=3),
    st.integers(min_value=254, max_value=258),
    st.sampled_from(NBLK_CHR),
)
values = st.builds(
    lambda body, last: body + last,
    st.text(alphabet=CHR, max_size=255),
    st.sampled_from(NBLK_CHR),
)
ows = st.text(alphabet=OWS, max_size=2)
valid_member = st.builds(
    lambda o1, k, v, o2: f"{o1}{k}={v}{o2}", ows, st.one_of(keys, short_keys), values, ows
)
# Near the grammar: one character of any kind put somewhere in a valid member.
mutated_member = st.builds(
    lambda m, pos, c: m[:pos] + c + m[pos:],
    valid_member,
    st.integers(min_value=0, max_value=300),
    st.characters(max_codepoint=0x80),
)
member = st.one_of(valid_member, valid_member, mutated_member, ows)
edge_member = st.builds(
    lambda k, v: f"{k}={v}", st.one_of(edge_keys, keys), st.one_of(edge_values, values)
)
near_headers = st.lists(st.one_of(member, edge_member), max_size=40).map(",".join)
# Small key alphabet: duplicated keys are common.
dup_headers = st.lists(
    st.builds(lambda k, v: f"{k}={v}", st.sampled_from(["a", "b", "1", "x@y"]), values),
    max_size=40,
).map(",".join)
any_headers = st.one_of(member, edge_member, near_headers, dup_headers, st.text(max_size=200))


@given(any_headers)
def test_parse_agrees_with_the_reference(header: str) -> None:
    """parse_tracestate keeps exactly what the reference grammar keeps, or drops what it drops."""

    assert headers.parse_tracestate(header) == reference(header)


@given(st.lists(st.tuples(st.one_of(keys, short_keys), values), max_size=32))
def test_every_list_the_grammar_generates_is_accepted(members: list[tuple[str, str]]) -> None:
    """A list of at most 32 members made by the grammar parses back, duplicates after the first
    dropped."""
    header = ",".join(f"{k}={v}" for k, v in members)

    parsed = headers.parse_tracestate(header)

    assert parsed == _first_of_each(members)


def _first_of_each(members: list[tuple[str, str]]) -> list[tuple[str, str]]:
    kept: dict[str, str] = {}
    for key, value in members:
        kept.setdefault(key, value)
    return list(kept.items())


@given(st.integers(min_value=28, max_value=36), values, st.integers(min_value=0, max_value=8))
def test_the_member_limit_agrees_with_the_reference(count: int, value: str, empties: int) -> None:
    """Around 32 distinct members (OWS-only ones not counted), parse agrees with the reference."""
    header = ",".join([f"k{i}={value}" for i in range(count)] + [" "] * empties)

    assert headers.parse_tracestate(header) == reference(header)


@given(any_headers)
def test_format_then_parse_round_trips(header: str) -> None:
    """What is kept formats to a header that parses to the same members."""

    members = headers.parse_tracestate(header)

    if members is not None:
        assert headers.parse_tracestate(headers.format_tracestate(members)) == members


@given(any_headers)
def test_inbound_to_outbound_round_trip(header: str) -> None:
    """A service sends on the tracestate it kept, and an invalid one never costs the traceparent."""
    propagation = Propagation(resolve({}, {}))
    bag = HeaderBag()
    bag.add("traceparent", TRACEPARENT)
    bag.add("tracestate", header)

    incoming = propagation.extract(bag)
    carrier: dict[str, str] = {}
    propagation.inject(carrier, incoming.parent)

    expected = reference(header)
    assert trace.get_current_span(incoming.parent).get_span_context().is_valid
    assert carrier["traceparent"] == TRACEPARENT
    if expected:
        assert carrier["tracestate"] == headers.format_tracestate(expected)
    else:
        assert "tracestate" not in carrier
