"""The scanner's shortcuts find what the plain rules find."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from msatrace._core.redact import rules
from msatrace._core.redact.scan import _emails

_TEXT = st.lists(
    st.one_of(
        st.text(alphabet="ab.c_%+-@éx1 Z:/", max_size=12),
        st.sampled_from(["@", "kim@example.com", "a@b.co", "x@y.z.io", ".kr", "k" * 70, "k." * 35]),
    ),
    max_size=8,
).map("".join)


@settings(max_examples=1000, deadline=None)
@given(_TEXT)
def test_emails_found_from_each_at_are_those_the_rule_finds(text: str) -> None:
    found: list[tuple[int, int, str]] = []
    _emails(text, found.append)

    assert found == [(m.start(), m.end(), "email") for m in rules.EMAIL.finditer(text)]
