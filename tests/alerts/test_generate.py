"""``msatrace alerts`` without the binaries: its options, its checks, exact and stable output."""

from __future__ import annotations

import subprocess
import sys
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

import pytest

from msatrace import cli
from msatrace._alerting import render, rules, spec
from msatrace._alerting.promql import le_regex, num, percent
from msatrace.exceptions import ConfigError
from tests.conftest import need

GOLDEN = Path(__file__).parent / "golden"
ROOT = Path(__file__).resolve().parents[2]


def test_help_lists_every_file_it_writes(capsys: pytest.CaptureFixture[str]) -> None:
    """``msatrace alerts --help`` names the files and the commands that check them."""
    with pytest.raises(SystemExit) as exit_:
        cli.main(["alerts", "--help"])

    text = capsys.readouterr().out
    assert exit_.value.code == 0
    for name in ("SERVICE.rules.yml", "alertmanager.yml", "grafana-dashboard.json", "--for"):
        assert name in text


def test_no_service_is_a_usage_error(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """Without a service the command exits 2 and says how to name one."""
    status = cli.main(["alerts", "--out", str(tmp_path)])

    assert status == 2
    assert "no service" in capsys.readouterr().err


def test_without_pyyaml_the_command_names_the_extra(tmp_path: Path) -> None:
    """With PyYAML missing, ``msatrace alerts`` exits 2 saying which extra to install."""
    code = (
        "import sys; sys.modules['yaml'] = None; from msatrace.cli import main; "
        f"sys.exit(main(['alerts', 'orders', '--out', {str(tmp_path)!r}]))"
    )

    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(ROOT / "src")},
    )

    assert done.returncode == 2
    assert "pip install 'msatrace[alerts]'" in done.stderr
    assert list(tmp_path.iterdir()) == []


def test_golden_output_is_byte_identical() -> None:
    """The golden configuration gives exactly the checked-in files (every supported Python)."""
    need("yaml")
    document = spec.read_toml(GOLDEN / "services.toml")

    files = render.files(spec.load(document, (), {}))

    expected = {p.name: p.read_bytes() for p in (GOLDEN / "out").iterdir()}
    assert {name: text.encode("ascii") for name, text in files.items()} == expected


def test_two_runs_write_the_same_bytes(tmp_path: Path) -> None:
    """Writing twice, into two directories, gives the same bytes."""
    need("yaml")
    argv = ["alerts", "orders", "payments", "--config", str(GOLDEN / "services.toml")]

    assert cli.main([*argv, "--out", str(tmp_path / "a")]) == 0
    assert cli.main([*argv, "--out", str(tmp_path / "b")]) == 0

    a = {p.name: p.read_bytes() for p in (tmp_path / "a").iterdir()}
    b = {p.name: p.read_bytes() for p in (tmp_path / "b").iterdir()}
    assert a == b
    assert len(a) == 4 * 2 + 4  # rules and tests of orders, billing, search (file), payments


def test_every_alert_has_a_firing_and_a_quiet_case() -> None:
    """Each alert of each service has at least one case that fires and one that must not."""
    yaml = need("yaml")
    outcomes: dict[tuple[str, str], set[bool]] = defaultdict(set)
    alert_names = set()
    for path in (GOLDEN / "out").glob("*.rules.yml"):
        for group in yaml.safe_load(path.read_text())["groups"]:
            alert_names |= {(group["name"], r["alert"]) for r in group["rules"] if "alert" in r}

    for path in (GOLDEN / "out").glob("*.rules.test.yml"):
        for case in yaml.safe_load(path.read_text())["tests"]:
            for check in case["alert_rule_test"]:
                service = case["name"].split()[0]
                outcomes[(f"msatrace-{service}", check["alertname"])].add(bool(check["exp_alerts"]))

    assert len(alert_names) == 3 * 9
    assert {key: {True, False} for key in alert_names} == dict(outcomes)


def test_objectives_are_written_as_exact_decimals() -> None:
    """An objective of 0.999 gives a budget of 0.001 and factors 14.4 and 6, never float noise."""
    configured = spec.load({"services": {"orders": {"availability": Decimal("0.999")}}}, (), {})

    burn = next(
        a
        for a in rules.alerts(configured, configured.services[0])
        if "AvailabilityBudgetBurnFast" in a.name
    )

    assert "/ 0.001 > 14.4\n" in burn.expr
    assert "/ 0.001 > 6\n" in burn.expr
    assert "99.9%" in burn.summary
    assert "0000000" not in burn.expr + burn.description


def test_decimal_helpers_are_exact() -> None:
    """num and percent print exact decimals; le_regex matches 1 and 1.0, 0.25 and 0.250."""
    assert num(Decimal("14.4") * (1 - Decimal("0.999"))) == "0.0144"
    assert num(Decimal("100")) == "100"
    assert percent(Decimal("0.9995")) == "99.95%"
    assert le_regex("1") == "1([.]0*)?"
    assert le_regex("0.25") == "0[.]250*"


@pytest.mark.parametrize(
    ("service", "message"),
    [
        ({"availability": Decimal("0.9")}, "availability=0.9: expected a share below 1 and above"),
        (
            {"latency_threshold": Decimal("0.3")},
            "latency_threshold=0.3: expected a bucket boundary",
        ),
        ({"error_ratio": Decimal("1.5")}, "error_ratio=1.5: expected a share between 0 and 1"),
        ({"p99_latency": Decimal("20")}, "p99_latency=20: expected seconds between"),
        ({"min_requests": 1}, "min_requests=1: expected an integer >= 2"),
        ({"pager": "email"}, "pager='email': expected one of ['pagerduty', 'opsgenie', 'slack']"),
        ({"availabilty": Decimal("0.99")}, "[services.orders] availabilty: unknown key"),
    ],
)
def test_a_wrong_service_setting_is_a_config_error(
    service: dict[str, object], message: str
) -> None:
    """Each wrong setting raises ConfigError naming the service, the key and what is accepted."""
    with pytest.raises(ConfigError) as error:
        spec.load({"services": {"orders": service}}, (), {})

    assert message in str(error.value)
    assert "[services.orders]" in str(error.value)


def test_a_wrong_option_is_reported_by_the_command(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """A bad duration on the command line exits 2 with the option, value and what is accepted."""
    status = cli.main(["alerts", "orders", "--for", "soon", "--out", str(tmp_path)])

    assert status == 2
    assert (
        "for_override='soon': expected a duration such as 30s, 5m or 1h" in capsys.readouterr().err
    )


def test_toml_numbers_stay_exact(tmp_path: Path) -> None:
    """A TOML float such as 0.9995 reaches the rules as written (read as Decimal)."""
    config = tmp_path / "alerts.toml"
    config.write_text("[services.orders]\navailability = 0.9995\n")

    configured = spec.load(spec.read_toml(config), (), {})

    assert configured.services[0].availability == Decimal("0.9995")


def test_import_msatrace_loads_neither_the_generator_nor_yaml() -> None:
    """``import msatrace`` in a fresh interpreter imports no msatrace._alerting, cli or yaml."""
    code = (
        "import sys, msatrace; "
        "names = ('msatrace._alerting', 'msatrace.cli', 'yaml'); "
        "print(sorted(m for m in sys.modules if m.startswith(names)))"
    )

    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(ROOT / "src")},
        check=True,
    )

    assert done.stdout.strip() == "[]"


def test_console_script_is_declared() -> None:
    """pyproject.toml declares the ``msatrace`` console script at msatrace.cli:main."""
    text = (ROOT / "pyproject.toml").read_text()

    assert '[project.scripts]\nmsatrace = "msatrace.cli:main"' in text
