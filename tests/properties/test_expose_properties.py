"""Hypothesis: merging Access-Control-Expose-Headers keeps the app's list and adds ours once."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from msatrace._core.trace import headers

OURS = ("X-Trace-ID", "X-Request-ID")
EXPOSE = headers.Expose(
    "access-control-expose-headers", "Access-Control-Expose-Headers", OURS, ", "
)
names = st.sampled_from(["X-Trace-ID", "x-trace-id", "X-REQUEST-ID", "X-Custom", "*", "etag", ""])
lists = st.lists(st.tuples(st.sampled_from(["", " ", "\t"]), names), max_size=5).map(
    lambda parts: ",".join(f"{pad}{name}{pad}" for pad, name in parts)
)
header_names = st.sampled_from(
    ["Access-Control-Expose-Headers", "access-control-expose-headers", "Content-Type", "Vary"]
)
responses = st.lists(st.tuples(header_names, lists), max_size=4)


def names_of(value: str) -> list[str]:
    """The names one line lists, as a browser reads them."""
    return [part.strip().lower() for part in value.split(",") if part.strip()]


def listed(out: list[tuple[str, str]]) -> list[str]:
    """Every name the response's Access-Control-Expose-Headers lines list."""
    return [n for name, value in out if name.lower() == EXPOSE.key for n in names_of(value)]


@given(responses)
def test_ours_are_listed_and_the_applications_are_kept(app: list[tuple[str, str]]) -> None:
    """After merging: each line keeps the application's names, in order; ours are listed; none
    is added twice; other headers are untouched; merging again changes nothing."""
    out = list(app)

    headers.exposing(out, EXPOSE)

    before, after = listed(app), listed(out)
    assert len(out) >= len(app)
    for (_, value), (_, merged) in zip(app, out[: len(app)], strict=True):
        assert names_of(merged)[: len(names_of(value))] == names_of(value)
    assert {n.lower() for n in OURS} <= set(after)
    assert len(after) - len(before) == len({n.lower() for n in OURS} - set(before))
    assert [h for h in out if h[0].lower() != EXPOSE.key] == [
        h for h in app if h[0].lower() != EXPOSE.key
    ]
    again = list(out)
    headers.exposing(again, EXPOSE)
    assert again == out
