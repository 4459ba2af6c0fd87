"""The declared dependencies and ``_core.config.versions``, the minimum-versions table, agree."""

from __future__ import annotations

import subprocess
import sys
from importlib.metadata import metadata, requires
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from msatrace._core.config import versions
from msatrace._core.config.versions import MINIMUMS, PYTHON

VERSIONS_PY = Path(versions.__file__)


def _requirements() -> list[Requirement]:
    """The installed msatrace's ``Requires-Dist`` lines, parsed."""
    return [Requirement(line) for line in requires("msatrace") or []]


def _extras_of(requirement: Requirement) -> list[str | None]:
    """The extras that bring ``requirement``; ``[None]`` for a core dependency."""
    if requirement.marker is None:
        return [None]
    extras = metadata("msatrace").get_all("Provides-Extra") or []
    # On the oldest supported Python, so a requirement only it needs (tomli on 3.10) counts too.
    oldest = {"python_version": "3.10", "python_full_version": "3.10.0"}
    return [e for e in extras if requirement.marker.evaluate({"extra": e, **oldest})]


def _declared() -> dict[str | None, set[tuple[str, str]]]:
    """Extra (None: core) -> the (distribution, specifier) pairs the metadata declares for it.

    A self-reference such as ``msatrace[otlp,flask]`` (which the build backend may flatten) is
    expanded into those extras' requirements.
    """
    declared: dict[str | None, set[tuple[str, str]]] = {}
    nested: dict[str | None, set[str]] = {}
    for req in _requirements():
        for extra in _extras_of(req):
            if canonicalize_name(req.name) == "msatrace":
                nested.setdefault(extra, set()).update(req.extras)
            else:
                pair = (canonicalize_name(req.name), str(req.specifier))
                declared.setdefault(extra, set()).add(pair)
    for extra, names in nested.items():
        for name in names:
            declared.setdefault(extra, set()).update(declared.get(name, set()))
    return declared


def test_metadata_declares_exactly_the_table_minimums() -> None:
    """Every dependency and extra but "all" has exactly the table's ">=" bounds, no more."""
    declared = {extra: pairs for extra, pairs in _declared().items() if extra != "all"}

    table: dict[str | None, set[tuple[str, str]]] = {}
    for row in MINIMUMS:
        pair = (canonicalize_name(row.distribution), f">={row.minimum}")
        table.setdefault(row.extra, set()).add(pair)

    assert declared == table


# Extras [all] leaves out on purpose: the OTLP/gRPC exporter brings grpcio, a large native
# package, for a protocol most services do not need (OTLP/HTTP is the default).
NOT_IN_ALL = {"otlp-grpc"}


def test_all_extra_brings_every_extra_in_the_table() -> None:
    """``msatrace[all]`` brings every extra's dependencies (but NOT_IN_ALL) with the bounds."""
    brought = _declared()["all"]

    in_table = {
        (canonicalize_name(row.distribution), f">={row.minimum}")
        for row in MINIMUMS
        if row.extra is not None and row.extra not in NOT_IN_ALL
    }

    assert brought == in_table


def test_requires_python_is_the_table_python() -> None:
    """``requires-python`` is ``>=`` the oldest Python the table names."""
    requires_python = metadata("msatrace")["Requires-Python"]

    assert requires_python == f">={PYTHON}"


def test_tested_release_is_the_minimum_unless_a_reason_is_given() -> None:
    """Each pinned release satisfies its bound, and one above the bound says why."""
    rows = [
        (row.distribution, Version(row.minimum), Version(row.tested), row.why) for row in MINIMUMS
    ]

    unexplained = [name for name, low, pin, why in rows if pin != low and not why]
    too_low = [name for name, low, pin, _ in rows if pin < low]

    assert (unexplained, too_low) == ([], [])


def test_table_loads_by_path_without_importing_msatrace_or_opentelemetry() -> None:
    """The noxfile's way of loading the table (by file path) imports nothing but the stdlib."""
    script = (
        "import importlib.util, sys\n"
        f"spec = importlib.util.spec_from_file_location('v', {str(VERSIONS_PY)!r})\n"
        "module = importlib.util.module_from_spec(spec)\n"
        "sys.modules['v'] = module\n"
        "spec.loader.exec_module(module)\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in "
        "('msatrace', 'opentelemetry', 'structlog', 'wrapt', 'orjson'))\n"
        "print(len(module.MINIMUMS), heavy)\n"
    )

    out = subprocess.run(
        [sys.executable, "-I", "-c", script], capture_output=True, text=True, check=True
    ).stdout

    assert out.split(" ", 1) == [str(len(MINIMUMS)), "[]\n"]
