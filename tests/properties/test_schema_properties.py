"""Fields named like the schema's are moved aside, never dropped and never replacing one."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from msatrace._core.logs.builder import _CALLER_SCHEMA, _renamed

NAMES = st.one_of(
    st.sampled_from(sorted(_CALLER_SCHEMA)),
    st.sampled_from(sorted(_CALLER_SCHEMA)).map(lambda name: name + "_"),
    st.sampled_from(sorted(_CALLER_SCHEMA)).map(lambda name: name + "__"),
    st.text(max_size=12),
)


@given(st.dictionaries(NAMES, st.integers(), max_size=12))
def test_renamed_keeps_every_value_under_a_free_name(fields: dict[str, Any]) -> None:
    """Every value is kept, no name is reserved, and names that were free stay as they were."""

    out = _renamed(fields, _CALLER_SCHEMA)

    assert sorted(out.values()) == sorted(fields.values())
    assert _CALLER_SCHEMA.isdisjoint(out)
    for key, value in fields.items():
        if key not in _CALLER_SCHEMA:
            assert out[key] == value
