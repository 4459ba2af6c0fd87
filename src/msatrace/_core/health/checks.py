"""What a health check is, and what one run of it observed.

A :class:`Check` names a component and how to probe it. The probe is any callable (a plain
function or a coroutine function) that raises when the component is unhealthy and otherwise
returns ``None``, a number (the observed value, in the check's unit) or an :class:`Observation`.
A :class:`Result` is one run: status, observed value, output and when it was taken.

Imports: the standard library only.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Literal, Union

Status = Literal["pass", "warn", "fail"]

# The worst status wins when a report combines several.
SEVERITY: dict[str, int] = {"pass": 0, "warn": 1, "fail": 2}


@dataclass(frozen=True)
class Observation:
    """What a probe saw: a value in the check's unit, and optionally a status and a note."""

    value: float | str | None = None
    status: Status | None = None
    output: str | None = None


ProbeResult = Union[float, int, Observation, None]  # noqa: UP007  # a runtime alias on 3.10
Probe = Callable[[], Union[ProbeResult, Awaitable[ProbeResult]]]  # noqa: UP007


@dataclass(frozen=True)
class Check:
    """One registered check.

    ``name`` is the component's name (``redis``, ``inventory-api``); together with
    ``measurement`` it keys the check in the report (``redis:responseTime``). A check that is not
    ``critical`` reports ``warn`` instead of ``fail``, so it never makes the service unready.
    """

    name: str
    probe: Probe
    measurement: str = "responseTime"
    component_type: str = "component"
    unit: str | None = "ms"
    critical: bool = True
    timeout: float = 2.0

    @property
    def key(self) -> str:
        return f"{self.name}:{self.measurement}"


@dataclass(frozen=True)
class Result:
    """One run of a check."""

    check: Check
    status: Status
    value: float | str | None
    output: str | None
    time: float  # time.time() when the run finished

    @property
    def failed(self) -> bool:
        return self.status != "pass"


def worst(statuses: list[str]) -> Status:
    """The combined status: ``fail`` over ``warn`` over ``pass``."""
    top = max(statuses, key=SEVERITY.__getitem__, default="pass")
    return "fail" if top == "fail" else "warn" if top == "warn" else "pass"
