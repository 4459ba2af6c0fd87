"""The minimum supported versions: the single source of every lower bound msatrace declares.

One row per distribution msatrace depends on, with the extra that brings it (``None`` for the
core dependencies) and its lowest supported version. ``pyproject.toml`` declares exactly these
lower bounds (``tests/unit/test_versions.py`` fails when they drift), ``nox -s tests_min``
installs every ``tested`` release on the oldest supported Python and runs the test suite there,
and the docs' "Supported versions" page is generated from ``MINIMUMS``.

The noxfile and the docs hook load this file by its path, outside any msatrace installation.

Imports: the standard library only (and nothing from msatrace).
"""

from __future__ import annotations

from dataclasses import dataclass

PYTHON = "3.10"  # the oldest supported Python: ``requires-python`` and the tests_min interpreter


@dataclass(frozen=True)
class Minimum:
    """One dependency: its lower bound, the extra that brings it, the release tests_min pins."""

    distribution: str  # the name on PyPI, as written in pyproject.toml
    minimum: str  # the ``>=`` bound in pyproject.toml
    extra: str | None  # the extra that brings it; None for a core dependency
    tested: str  # the exact release ``nox -s tests_min`` installs: the lowest one that installs
    why: str = ""  # why ``tested`` is not simply ``minimum``, when it is not


MINIMUMS: tuple[Minimum, ...] = (
    # msatrace builds its own spans on SDK classes (ReadableSpan, SynchronousMultiSpanProcessor,
    # BoundedAttributes): the API and the SDK move together.
    Minimum("opentelemetry-api", "1.27", None, "1.27.0"),
    Minimum("opentelemetry-sdk", "1.27", None, "1.27.0"),
    Minimum("structlog", "24.1", None, "24.1.0"),
    Minimum("wrapt", "1.16", None, "1.16.0"),
    Minimum("orjson", "3.9", None, "3.9.0"),
    Minimum("opentelemetry-exporter-otlp-proto-http", "1.27", "otlp", "1.27.0"),
    Minimum("opentelemetry-exporter-otlp-proto-grpc", "1.27", "otlp-grpc", "1.27.0"),
    # FastAPI 0.110.0 requires Starlette >=0.36.3,<0.37, and msatrace.fastapi runs on
    # msatrace.starlette: the Starlette minimum is the one the FastAPI minimum brings.
    Minimum("starlette", "0.36.3", "starlette", "0.36.3"),
    Minimum("fastapi", "0.110", "fastapi", "0.110.0"),
    # Flask 2.3.0-2.3.2 accept Werkzeug 3, which a fresh install brings, but their test client
    # reads werkzeug.__version__, removed in Werkzeug 3.0; 2.3.3 reads the package metadata.
    Minimum("flask", "2.3.3", "flask", "2.3.3"),
    Minimum("django", "4.2", "django", "4.2"),
    Minimum("asgiref", "3.7", "django", "3.7.1", "asgiref 3.7.0 is yanked on PyPI"),
    Minimum("httpx", "0.25", "httpx", "0.25.0"),
    Minimum("requests", "2.31", "requests", "2.31.0"),
    Minimum("celery", "5.3", "celery", "5.3.0"),
    # --- metrics ---
    Minimum("prometheus-client", "0.17", "prometheus", "0.17.0"),
    # `msatrace alerts` (build time only): PyYAML writes the files; tomli reads the configuration
    # on Python 3.10 (tomllib from 3.11), 1.1 being the first with parse_float (exact decimals).
    Minimum("pyyaml", "6.0", "alerts", "6.0"),
    Minimum("tomli", "1.1", "alerts", "1.1.0"),
)
