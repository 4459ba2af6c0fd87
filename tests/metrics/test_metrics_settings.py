"""The metrics settings: defaults, variables, and the ConfigErrors that name them."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from msatrace._core.config.settings import resolve
from msatrace._core.metrics import Metrics
from msatrace.exceptions import ConfigError


def test_defaults() -> None:
    """Prometheus on /metrics, no port, a cap of 2000, one process (prometheus_client here)."""
    s = resolve({}, {})

    assert (s.metrics_exporter, s.metrics_path, s.metrics_port, s.metrics_dir) == (
        "prometheus",
        "/metrics",
        None,
        None,
    )
    assert (s.metrics_cardinality_limit, s.metrics_address) == (2000, "0.0.0.0")


def test_msatrace_variables_win_over_the_standard_ones(tmp_path: Path) -> None:
    """MSATRACE_METRICS_EXPORTER over OTEL_METRICS_EXPORTER; MSATRACE_METRICS_DIR over
    PROMETHEUS_MULTIPROC_DIR."""
    env = {
        "MSATRACE_METRICS_EXPORTER": "none",
        "OTEL_METRICS_EXPORTER": "prometheus",
        "MSATRACE_METRICS_DIR": str(tmp_path),
        "PROMETHEUS_MULTIPROC_DIR": "/b",
    }

    s = resolve({}, env)

    assert (s.metrics_exporter, s.metrics_dir) == ("none", str(tmp_path))


def test_keywords_take_numbers_and_none() -> None:
    """metrics_port and the limit take ints; `none` turns the path and the port off."""
    s = resolve({"metrics_port": 9464, "metrics_cardinality_limit": 50, "metrics_path": "none"})

    assert (s.metrics_port, s.metrics_cardinality_limit, s.metrics_path) == (9464, 50, None)
    assert resolve({}, {"MSATRACE_METRICS_PORT": "none"}).metrics_port is None


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("MSATRACE_METRICS_EXPORTER", "prom"),
        ("OTEL_METRICS_EXPORTER", "console"),
        ("MSATRACE_METRICS_PATH", "metrics"),
        ("MSATRACE_METRICS_PATH", "/metrics?x=1"),
        ("MSATRACE_METRICS_PORT", "99999"),
        ("MSATRACE_METRICS_PORT", "-1"),
        ("MSATRACE_METRICS_CARDINALITY_LIMIT", "0"),
        ("MSATRACE_METRICS_CARDINALITY_LIMIT", "many"),
        ("MSATRACE_METRICS_DIR", "/no/such/directory"),
        ("PROMETHEUS_MULTIPROC_DIR", "relative/missing"),
    ],
)
def test_a_bad_value_is_a_config_error_naming_the_variable(variable: str, value: str) -> None:
    """Each refused value names its variable and the value."""
    with pytest.raises(ConfigError, match=variable) as err:
        resolve({}, {variable: value})

    assert repr(value) in str(err.value)


def test_an_unwritable_directory_is_a_config_error(tmp_path: Path) -> None:
    """metrics_dir that cannot be written fails at once, naming metrics_dir."""
    if os.geteuid() == 0:
        target = "/proc/msatrace-metrics"  # root may write anywhere but in /proc
    else:
        target = str(tmp_path)
        tmp_path.chmod(0o500)

    try:
        with pytest.raises(ConfigError, match="metrics_dir="):
            Metrics(limit=10, directory=target)
    finally:
        tmp_path.chmod(0o700)
