"""Developer sessions: tests, tests_min, prerelease, tests_bare, lint, typecheck, docs, bench, demo.

    python3 -m nox -s demo      # the demo: four services and an incident (README's first command)
    python3 -m nox -s tests     # the test suite on every Python 3.10-3.13 found (coverage on one)

Sessions use uv when it is installed (much faster), virtualenv otherwise. The pyenv interpreters
of this machine are put on PATH so that nox finds all four Pythons.
"""

from __future__ import annotations

import glob
import importlib.util
import os
import shutil
import subprocess
import sys
import types

import nox

PYTHONS = ["3.10", "3.11", "3.12", "3.13"]
DEV_PYTHON = "3.11"

# pyenv installs each version under ~/.pyenv/versions/X.Y.Z/bin without a global shim for it.
for _bin in sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/3.1[0-3].*/bin")), reverse=True):
    if _bin not in os.environ.get("PATH", ""):
        os.environ["PATH"] = _bin + os.pathsep + os.environ.get("PATH", "")

nox.options.default_venv_backend = "uv|virtualenv"
nox.options.sessions = ["tests", "lint", "typecheck"]
nox.options.error_on_missing_interpreters = os.environ.get("CI") == "true"

TEST_DEPS = [
    "pytest>=8",
    "pytest-timeout>=2.3",
    "hypothesis>=6.100",
    "uvicorn>=0.29",
    "gunicorn>=22",
    "websockets>=12",  # uvicorn's WebSocket support (tests/integration/test_inbound_websocket.py)
    "redis>=5",
    "flask-login>=0.6",
    # tests that msatrace and OpenTelemetry's own client instrumentation never double up
    "opentelemetry-instrumentation-requests",
    "opentelemetry-instrumentation-httpx",
    # OTEL_PROPAGATORS=b3 works once its package is installed (tests/unit/test_init.py)
    "opentelemetry-propagator-b3",
    # OTEL_EXPORTER_OTLP_PROTOCOL=grpc builds the gRPC exporter when installed (msatrace[otlp-grpc])
    "opentelemetry-exporter-otlp-proto-grpc",
    # the health response validated against a JSON Schema written from the IETF draft
    "jsonschema>=4",
    # the Slack stand-in validates messages with Slack's own Block Kit models
    "slack-sdk>=3.30",
    # the golden test of metric names (tests/metrics/test_recorder.py); it requires the SDK of its
    # own release, so pip resolves the two together
    "opentelemetry-exporter-prometheus",
    # Sentry users: msatrace's IDs on Sentry's events, threads under both (tests/errors)
    "sentry-sdk>=2",
]
BENCH_PEERS = [
    "asgi-correlation-id",
    "django-guid",
    "django-structlog",
    "opentelemetry-instrumentation-fastapi",
    "opentelemetry-instrumentation-flask",
    "opentelemetry-instrumentation-django",
    "opentelemetry-instrumentation-requests",
    "opentelemetry-instrumentation-httpx",
    "sentry-sdk",
    # redaction peers (benchmarks/bench_redact.py); Presidio runs on a blank spaCy pipeline
    "logfire",
    "scrubadub",
    "presidio-analyzer",
    "spacy",
    "python-json-logger",
    "loguru",
    "uvicorn",
    # metrics peers (benchmarks/bench_metrics_inbound.py, issue 15)
    "prometheus-fastapi-instrumentator",
    "starlette-exporter",
    "prometheus-flask-exporter",
    "django-prometheus",
    "opentelemetry-exporter-prometheus",
]


# Debian packages the tests and the demo run for real: command -> package.
DEBIAN_COMMANDS = {
    "redis-server": "redis-server",
    "prometheus": "prometheus",
    "promtool": "prometheus",
    "prometheus-alertmanager": "prometheus-alertmanager",
    "amtool": "prometheus-alertmanager",
}


def ensure_debian_packages(session: nox.Session) -> None:
    """Install the Debian packages of DEBIAN_COMMANDS that are missing, when allowed to (root)."""
    missing = sorted({pkg for cmd, pkg in DEBIAN_COMMANDS.items() if not shutil.which(cmd)})
    if not missing:
        return
    if hasattr(os, "geteuid") and os.geteuid() == 0 and shutil.which("apt-get"):
        session.log(f"missing: installing Debian's {', '.join(missing)}")
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        install = ["apt-get", "install", "-y", "-q", *missing]
        if subprocess.run(install, env=env).returncode:
            subprocess.run(["apt-get", "update", "-q"], env=env, check=False)
            subprocess.run(install, env=env, check=False)
    still = sorted(cmd for cmd in DEBIAN_COMMANDS if not shutil.which(cmd))
    if still:
        session.warn(f"not available: {', '.join(still)}; tests needing them fail under CI=true")


# The Python whose run of the whole suite measures coverage: one run is enough (the code is the
# same on all four) and measuring slows the run down.
COVERAGE_PYTHON = DEV_PYTHON


@nox.session(python=PYTHONS)
def tests(session: nox.Session) -> None:
    """The whole test suite (unit, properties, integration with real servers).

    On COVERAGE_PYTHON, the whole suite (no arguments given) also measures coverage of the
    installed msatrace and fails under the floor, ``fail_under`` in pyproject.toml's
    ``[tool.coverage.report]``. Tests marked ``prometheus`` (a real Prometheus scraping the four
    real servers, ~45 s) or ``slow`` (a thousand-request storm, ~1 min) run on COVERAGE_PYTHON
    only: what they check does not depend on the Python version.
    """
    ensure_debian_packages(session)
    coverage = session.python == COVERAGE_PYTHON and not session.posargs
    session.install("-e", ".[all]", *TEST_DEPS, *(["pytest-cov>=7"] if coverage else []))
    args = session.posargs or ["-q"]
    if not session.posargs and session.python != COVERAGE_PYTHON:
        args = [*args, "-m", "not prometheus and not slow"]
    if coverage:
        # --cov=msatrace names the package, not a directory: it is measured where it is
        # imported from (src/msatrace, installed with -e). pytest-cov >= 7 measures this process
        # only: nothing leaks into the servers and workers the tests start.
        args = [*args, "--cov=msatrace", "--cov-report=term:skip-covered"]
    session.run("pytest", *args)


def _load_versions() -> types.ModuleType:
    """msatrace._core.config.versions, the minimum-versions table, without installing msatrace."""
    path = os.path.join(
        os.path.dirname(__file__), "src", "msatrace", "_core", "config", "versions.py"
    )
    spec = importlib.util.spec_from_file_location("_msatrace_versions", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses looks its module up while building the class
    spec.loader.exec_module(module)
    return module


VERSIONS = _load_versions()


@nox.session(python=VERSIONS.PYTHON)
def tests_min(session: nox.Session) -> None:
    """The whole test suite on the oldest Python with every dependency at its minimum version.

    The pins come from ``msatrace._core.config.versions.MINIMUMS``; the test tools (pytest, uvicorn,
    OpenTelemetry's contrib instrumentation...) resolve to releases compatible with them.
    """
    ensure_debian_packages(session)
    pins = [f"{row.distribution}=={row.tested}" for row in VERSIONS.MINIMUMS]
    # The contrib instrumentation matching OpenTelemetry 1.27 (0.48b0) imports pkg_resources,
    # which setuptools 81 removed and which warns on import (an error under filterwarnings).
    session.install("-e", ".", *pins, *TEST_DEPS, "setuptools<81")
    session.run(
        "pytest",
        "-q",
        "-W",
        "ignore:pkg_resources is deprecated as an API:UserWarning",
        # The slow end-to-end runs do not depend on versions: the coverage Python runs them.
        *(session.posargs or ["-m", "not slow", "tests"]),
    )


# What msatrace reaches into (msatrace._core.upstream) or builds on most closely, upgraded to the
# newest pre-releases by the prerelease session.
PRERELEASE = [
    "opentelemetry-api",
    "opentelemetry-sdk",
    "opentelemetry-exporter-otlp-proto-http",
    "opentelemetry-exporter-otlp-proto-grpc",
    "httpx",
    "starlette",
    "fastapi",
    "django",
    "structlog",
]


@nox.session(python=DEV_PYTHON)
def prerelease(session: nox.Session) -> None:
    """The suite against the newest pre-releases of the libraries in ``PRERELEASE``.

    Not part of ``.ci/run``: a new upstream release may break it before msatrace can do anything
    about it. Run it on a schedule or before a release; ``tests/upstream`` (the canaries of
    ``msatrace._core.upstream``) names the private name that changed. Arguments go to pytest.
    """
    ensure_debian_packages(session)
    session.install("-e", ".[all]", *TEST_DEPS)
    session.install("--pre", "-U", *PRERELEASE)
    session.run(
        "python",
        "-c",
        "import importlib.metadata as m, sys; [print(n, m.version(n)) for n in sys.argv[1:]]",
        *PRERELEASE,
    )
    session.run("pytest", *(session.posargs or ["-q", "tests/upstream", "tests"]))


@nox.session(python=DEV_PYTHON)
def tests_bare(session: nox.Session) -> None:
    """msatrace with no extras: importing it pulls in no framework and stays cheap."""
    session.install("-e", ".", "pytest>=8", "hypothesis>=6.100")
    session.run("pytest", "-q", "-m", "bare", "tests/unit", *session.posargs)


@nox.session(python=DEV_PYTHON)
def lint(session: nox.Session) -> None:
    """ruff check, ruff format --check, and the import-linter layer contracts."""
    session.install("ruff>=0.6", "import-linter>=2.0", "-e", ".")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")
    session.run("lint-imports")


@nox.session(python=DEV_PYTHON)
def typecheck(session: nox.Session) -> None:
    """mypy --strict on src/ and on tests/typing (how users call msatrace)."""
    session.install("mypy>=1.10", "-e", ".[all]", "types-requests", "types-PyYAML")
    session.run("mypy", "src")
    session.run("mypy", "--strict", "tests/typing")


@nox.session(python=DEV_PYTHON)
def docs(session: nox.Session) -> None:
    """Build the documentation site with mkdocs --strict."""
    session.install("-e", ".[all]", "mkdocs-material>=9.5", "mkdocstrings[python]>=0.25")
    # mkdocs-material >= 9.7 prints a banner about MkDocs 2 on every build; it is not a warning
    # about these docs, so silence it and let --strict speak only about real problems.
    session.run(
        "mkdocs", "build", "--strict", "--site-dir", "site", env={"NO_MKDOCS_2_WARNING": "1"}
    )


@nox.session(python=DEV_PYTHON)
def bench(session: nox.Session) -> None:
    """Run every benchmark against the bare app and the peers; writes benchmarks/RESULTS.md.

    ``nox -s bench -- --quick`` runs fewer rounds.
    """
    session.install("-e", ".[all]", *BENCH_PEERS)
    session.run("python", "benchmarks/run.py", *session.posargs)


@nox.session(python=DEV_PYTHON)
def demo(session: nox.Session) -> None:
    """Run the demo on free 127.0.0.1 ports: four services, Prometheus and Alertmanager, an
    incident told as a timeline, and a check of every step (examples/msa/run_demo.py)."""
    ensure_debian_packages(session)
    # celery[redis]: kombu's Redis transport imports `packaging`, declared only by that extra.
    session.install("-e", ".[all]", "uvicorn>=0.29", "gunicorn>=22", "celery[redis]>=5.3")
    session.run("python", "examples/msa/run_demo.py", *session.posargs)
