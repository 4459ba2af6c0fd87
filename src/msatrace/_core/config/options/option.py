"""One row of the settings table, and the default that is a constant.

Imports: the standard library only.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Option:
    """One row of the settings table."""

    name: str
    env: tuple[str, ...]
    parse: Callable[[str, str], Any]
    default: Callable[[Mapping[str, str]], Any]
    doc: str
    default_doc: str


def const(value: Any) -> Callable[[Mapping[str, str]], Any]:
    """A default that does not depend on the environment."""
    return lambda env: value
