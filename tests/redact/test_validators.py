"""The validators' fast forms answer as their plain forms (kept here as the reference)."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from msatrace._core.redact import rules

_DOUBLED_DIGIT = {str(d): d * 2 - 9 if d > 4 else d * 2 for d in range(10)}
_DOUBLED = re.compile(r"[ \-.]{2}")


def _luhn(digits: str) -> bool:
    if not digits.isascii():
        return False
    total = sum(map(int, digits[-1::-2])) + sum(map(_DOUBLED_DIGIT.__getitem__, digits[-2::-2]))
    return total % 10 == 0


def _card_grouping(raw: str) -> bool:
    if " " in raw and "-" in raw:
        return False
    sizes = [len(g) for g in raw.replace("-", " ").split(" ")]
    if sizes in ([4, 6, 5], [4, 6, 4]):
        return True
    return all(s == 4 for s in sizes[:-1]) and 1 <= sizes[-1] <= 4


def _phone_digits(raw: str, low: int, high: int) -> bool:
    n = sum(map(str.isdigit, raw))
    return low <= n <= high and not _DOUBLED.search(raw)


_DIGITS = st.text(alphabet="0123456789", min_size=1, max_size=20)
# Digit groups with single separators, as the card rule matches them (Unicode digits too).
_GROUPED = st.lists(
    st.tuples(st.text(alphabet="0123456789٣", min_size=1, max_size=7), st.sampled_from(" -")),
    min_size=2,
    max_size=6,
).map(lambda groups: "".join(d + sep for d, sep in groups)[:-1])
_PHONE = st.text(alphabet="0123456789 -.()+٣", max_size=20)


@settings(max_examples=2000, deadline=None)
@given(st.one_of(_DIGITS, st.text(alphabet="0123456789٣", min_size=1, max_size=20)))
def test_luhn(digits: str) -> None:
    assert rules.luhn(digits) == _luhn(digits)


@settings(max_examples=2000, deadline=None)
@given(_GROUPED)
def test_card_grouping(raw: str) -> None:
    assert rules._card_grouping(raw) == _card_grouping(raw)


@settings(max_examples=2000, deadline=None)
@given(_PHONE, st.integers(0, 16), st.integers(0, 16))
def test_phone_digits(raw: str, low: int, high: int) -> None:
    assert rules.phone_digits(raw, low, high) == _phone_digits(raw, low, high)


@settings(max_examples=2000, deadline=None)
@given(st.text(alphabet="0123456789 -.()+٣", max_size=25))
def test_digit_count(run: str) -> None:
    assert rules.digit_count(run) == sum(map(str.isdigit, run))


def test_the_card_groupings() -> None:
    assert rules._card_grouping("4111 1111 1111 1111")
    assert rules._card_grouping("3782-822463-10005")
    assert rules._card_grouping("4111 1111 1111 1")
    assert not rules._card_grouping("4111-1111 1111 1111")
    assert not rules._card_grouping("41111 1111 1111 111")
    assert rules.luhn("4111111111111111")
    assert not rules.luhn("4111111111111112")
