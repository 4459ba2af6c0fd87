"""An endpoint msatrace's middleware answers itself (health probes, metrics), before the app.

The capability that owns one (``_core.health``, ``_core.metrics``) builds an :class:`Endpoint`;
``_core.lifecycle.served`` keeps the table of those active and the adapters write the bytes.

Imports: the standard library only.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

# (HTTP status, headers as lowercase (name, value) pairs, body)
Response = tuple[int, list[tuple[str, str]], bytes]


@dataclass(frozen=True)
class Endpoint:
    """``respond(headers)`` answers a GET or HEAD; ``headers`` maps lowercase names to values.

    ``blocking``: the answer may wait (on the network or another thread), so an event loop must
    call it from a worker thread.
    """

    respond: Callable[[Mapping[str, str]], Response]
    blocking: bool = False
