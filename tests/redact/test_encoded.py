"""Percent-encoded personal data (a query string, a path, a request's repr) is redacted as if it
were written decoded; the encoded characters it came from are what the marker replaces."""

from __future__ import annotations

import random
import urllib.parse

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from msatrace._core.redact.encoded import decode
from msatrace._core.redact.engine import Redactor
from tests.redact import corpus

REDACTOR = Redactor()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("/stock/x/?for=kim.minji%40example.com", "/stock/x/?for=[REDACTED:email]"),
        ("/users/kim.minji%40example.com/orders", "/users/[REDACTED:email]/orders"),
        (
            "<WSGIRequest: GET '/stock/x/?for=kim.minji%40example.com&n=2'>",
            "<WSGIRequest: GET '/stock/x/?for=[REDACTED:email]&n=2'>",
        ),
        ("?tel=%2B82-10-1234-5678&x=1", "?tel=[REDACTED:phone]&x=1"),
        ("?tel=%2B82%2010%201234%205678", "?tel=[REDACTED:phone]"),
        ("?tel=%2B1+415+555+0132", "?tel=[REDACTED:phone]"),  # + as a form-encoded blank
        ("?q=call+010-1234-5678", "?q=call+[REDACTED:phone]"),  # decoded: "call 010-..."
        ("?q=call+010-1234-5678%20now", "?q=call+[REDACTED:phone]%20now"),
        ("?n=%EC%A3%BC%EB%AF%BC+900101-1234568", "?n=%EC%A3%BC%EB%AF%BC+[REDACTED:rrn]"),
        ("?card=4111%201111%201111%201111", "?card=[REDACTED:card]"),
        ("?c=4111-%311%311-1111-1111", "?c=[REDACTED:card]"),  # digits encoded one by one
        ("?pass%77ord=hunter2&x=1", "?pass%77ord=[REDACTED:password]&x=1"),
        ("%6b%69%6d%40example.com", "[REDACTED:email]"),  # lower-case hex, all encoded
        # an encoded non-ASCII name (주민번호) before "="
        (
            "?%EC%A3%BC%EB%AF%BC%EB%B2%88%ED%98%B8=abc",
            "?%EC%A3%BC%EB%AF%BC%EB%B2%88%ED%98%B8=[REDACTED:national_id]",
        ),
        # an encoded dash (—) ends the word before the number; as written, "4010-..." is none
        ("/q/%E2%80%94010-1234-5678", "/q/%E2%80%94[REDACTED:phone]"),
    ],
)
def test_percent_encoded_values_are_redacted(text: str, expected: str) -> None:
    assert REDACTOR.text(text) == expected
    # the event's first look sends it the per-field way, which redacts the same
    assert REDACTOR.event({"event": "request", "request": text})["request"] == expected


@pytest.mark.parametrize(
    "text",
    [
        "/search?q=caf%C3%A9&page=2",
        "100%25 done, %ZZ is not an escape, 50% off",
        "/files/report%202026-12-04.pdf",
        "?id=550e8400-e29b-41d4-a716-446655440000&v=1.2.3%2Bbuild",
        "%ED%95%9C%EA%B8%80 %E2%9C%93",
        "%C3",  # a lone UTF-8 lead byte
    ],
)
def test_encoded_text_without_personal_data_is_kept(text: str) -> None:
    assert REDACTOR.text(text) is text
    event = {"event": "request", "path": text}
    assert REDACTOR.event(event) is event


def test_the_keyed_hash_of_an_encoded_value_is_that_of_the_value() -> None:
    """Correlation works across encodings: the hash is of the decoded value."""
    redactor = Redactor(hash_secret=b"s", hash_values=True)

    encoded = redactor.text("?for=kim%40example.com")
    plain = redactor.text("for=kim@example.com")

    assert encoded.split("=", 1)[1] == plain.split("=", 1)[1]


def test_redacting_encoded_text_twice_changes_nothing() -> None:
    once = REDACTOR.text("?a=kim%40example.com&t=%2B82-10-1234-5678&q=100%25")
    assert REDACTOR.text(once) == once


def test_decode_maps_each_character_to_the_characters_it_came_from() -> None:
    plain, starts, ends = decode("a%40%EC%A3%BCb%4")

    assert plain == "a@주b%4"
    assert [(starts[i], ends[i]) for i in range(len(plain))] == [
        (0, 1), (1, 4), (4, 13), (13, 14), (14, 15), (15, 16)
    ]  # fmt: skip


# --- property: no corpus value survives, however much of it is encoded --------------------------

_VALUES = corpus.WHOLE_VALUES


_SHELLS = (
    "/stock/x/?for={}",
    "/stock/x/?for={}&page=2",
    "https://shop.example.com/u/{}/orders?x=1",
    "<WSGIRequest: GET '/stock/x/?for={}'>",
    "GET /search?q={} HTTP/1.1",
    "주문 완료 {} 注文",
    "{}",
)


@st.composite
def _encoded(draw: st.DrawFn) -> tuple[str, str]:
    """(value, the value with some or all of its characters percent-encoded)."""
    kind = draw(st.sampled_from(sorted(_VALUES)))
    rng = random.Random(draw(st.integers(0, 2**32)))
    value = _VALUES[kind](rng)
    style = draw(st.sampled_from(["quote", "quote_plus", "some", "every"]))
    if style == "quote":
        return value, urllib.parse.quote(value, safe="")
    if style == "quote_plus":
        # a form query's encoding (blanks as +): only inside a query string (below)
        return value, urllib.parse.quote_plus(value, safe="")
    chosen = draw(st.lists(st.booleans(), min_size=len(value), max_size=len(value)))
    if style == "every":
        chosen = [True] * len(value)
    return value, "".join(
        urllib.parse.quote(c, safe="") if pick else c for c, pick in zip(value, chosen, strict=True)
    )


@settings(max_examples=600, deadline=None)
@given(_encoded(), st.sampled_from(_SHELLS))
def test_no_value_survives_percent_encoded(encoded: tuple[str, str], shell: str) -> None:
    """As free text and as an event's field (first look, then the per-field path): the value is
    in none of the output as written, decoded, or decoded with ``+`` as a blank."""
    value, text = encoded
    # ``+`` is a blank only in a form query (``name=value``): elsewhere it is a plus
    assume("+" not in text or "=" in shell or "+" in value)
    line = shell.format(text)
    for out in (REDACTOR.text(line), REDACTOR.event({"event": "x", "request": line})["request"]):
        assert "[REDACTED:" in out, (line, out)
        for seen in (out, urllib.parse.unquote(out), urllib.parse.unquote_plus(out)):
            assert value not in seen, (line, out)
