"""Fingerprints group one bug's occurrences and separate different bugs (hypothesis)."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from msatrace._core.errors.event import build
from msatrace._core.errors.fingerprint import fingerprint, is_in_app, normalise

SOURCE = """
import json


def checkout(order_id, email, token, ref):
    {blank}return _charge(order_id, email, token, ref)


def _charge(order_id, email, token, ref):
    {blank}raise ValueError(
        f"order {{order_id}} for {{email}} failed: token {{token!r}} ref {{ref}}"
    )


def refund(order_id, email, token, ref):
    raise ValueError(f"order {{order_id}} for {{email}} failed: token {{token!r}} ref {{ref}}")


def parse(text):
    return json.loads(text)
"""


def _load(tmp: Path, name: str, blank_lines: int = 0) -> ModuleType:
    path = tmp / f"{name}.py"
    path.write_text(SOURCE.format(blank="\n    " * blank_lines))
    spec = importlib.util.spec_from_file_location("shop.orders", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def orders(tmp_path_factory: pytest.TempPathFactory) -> ModuleType:
    return _load(tmp_path_factory.mktemp("app"), "orders")


def _fp(call: object, *args: object) -> str:
    try:
        call(*args)  # type: ignore[operator]
    except Exception as exc:
        return fingerprint(exc)
    raise AssertionError("did not raise")


data = st.tuples(
    st.integers(min_value=0, max_value=10**12),
    st.emails(),
    st.text(
        alphabet=st.characters(blacklist_characters="'\"\n\\", blacklist_categories=("Cs",)),
        max_size=20,
    ),
    st.binary(min_size=4, max_size=16).map(bytes.hex),
)


@settings(max_examples=1000)
@given(data)
def test_data_variants_on_one_code_path_give_one_fingerprint(
    orders: ModuleType, values: tuple[int, str, str, str]
) -> None:
    """Numbers, e-mails, quoted values, UUIDs and hex in the message do not split a group."""
    reference = _fp(orders.checkout, 42, "ada@example.com", "abc", "8f14e45fceea167a")
    assert _fp(orders.checkout, *values) == reference


def test_two_code_paths_give_two_fingerprints(orders: ModuleType) -> None:
    """The same exception and message from another function is another bug."""
    args = (42, "ada@example.com", "abc", "ff00aa11")
    assert _fp(orders.checkout, *args) != _fp(orders.refund, *args)


@given(st.integers(min_value=1, max_value=30))
@settings(max_examples=20)
def test_blank_lines_above_the_raise_change_nothing(
    tmp_path_factory: pytest.TempPathFactory, blank: int
) -> None:
    """Line numbers are not part of the fingerprint: an edit above the raise keeps the group."""
    args = (42, "ada@example.com", "abc", "ff00aa11")
    before = _load(tmp_path_factory.mktemp("v1"), "orders")
    after = _load(tmp_path_factory.mktemp("v2"), "orders", blank_lines=blank)
    assert _fp(before.checkout, *args) == _fp(after.checkout, *args)


def test_another_exception_type_is_another_bug(orders: ModuleType) -> None:
    """A JSON error and a ValueError of the app differ."""
    assert _fp(orders.parse, "{") != _fp(orders.checkout, 1, "a@b.co", "x", "ab12")


def test_library_frames_are_not_in_app(orders: ModuleType) -> None:
    """json's own frames are marked as library frames; the app's are in-app."""
    try:
        orders.parse("{")
    except ValueError as exc:
        event = build(exc)
    frames = event.exceptions[0].frames
    assert [f.in_app for f in frames if f.module == "shop.orders"] == [True]
    assert all(not f.in_app for f in frames if f.module.startswith("json"))
    assert event.culprit == "shop.orders:parse"
    assert not is_in_app(json.__file__)
    assert not is_in_app(sys.modules["msatrace"].__file__ or "")


def test_chained_exceptions_all_count() -> None:
    """raise ... from: the cause is part of the fingerprint and of the event."""

    def inner() -> None:
        raise KeyError("sku-1")

    def outer(wrap: type[Exception]) -> None:
        try:
            inner()
        except KeyError as exc:
            raise wrap("lookup failed") from exc

    fps = set()
    for wrap in (RuntimeError, LookupError):
        try:
            outer(wrap)
        except Exception as exc:
            fps.add(fingerprint(exc))
            event = build(exc)
    assert len(fps) == 2
    assert [e.type for e in event.exceptions] == ["LookupError", "KeyError"]


@given(st.integers(), st.integers())
def test_normalise_hides_numbers(a: int, b: int) -> None:
    """Any two numbers in the same text normalise alike."""
    assert normalise(f"item {a} out of stock") == normalise(f"item {b} out of stock")


def test_normalise_keeps_words() -> None:
    """Plain words stay; the variable parts become placeholders."""
    text = "user 'bob' id=8f14e45fceea167a5a36dedd4bea2543 at 123e4567-e89b-12d3-a456-426614174000"
    assert normalise(text) == "user <str> id=<n> at <uuid>"
    assert normalise("cannot add a face to the cafe") == "cannot add a face to the cafe"
