"""The generated files pass Debian's promtool 2.42 and amtool 0.25, as a team would run them.

The golden configuration (three services: PagerDuty, Opsgenie and Slack-only pagers, their own
objectives) is generated into a temporary directory once per module; each test runs one tool
on it. ``promtool test rules`` runs the shipped cases: every alert fires in one and stays quiet
in another, and an edited threshold makes them fail.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from msatrace import cli
from msatrace._alerting import render
from tests.alerts.stack import binary
from tests.conftest import need

GOLDEN = Path(__file__).parent / "golden" / "services.toml"
SERVICES = ("orders", "billing", "search")


def run(*argv: str | Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(a) for a in argv], capture_output=True, text=True, timeout=300, env=env
    )


@pytest.fixture(scope="module")
def out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The golden configuration's files, written by the command."""
    need("yaml")
    directory = tmp_path_factory.mktemp("alerting")
    assert cli.main(["alerts", "--config", str(GOLDEN), "--out", str(directory)]) == 0
    return directory


def test_rules_pass_promtool_lint(out: Path) -> None:
    """promtool check rules --lint=all --lint-fatal accepts the rule file."""
    promtool = binary("promtool")

    files = [out / render.RULES.format(s) for s in SERVICES]

    done = run(promtool, "check", "rules", "--lint=all", "--lint-fatal", *files)

    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count("SUCCESS: 37 rules found") == 3


def test_shipped_rule_tests_pass(out: Path) -> None:
    """promtool test rules passes every shipped case (each alert firing and not firing)."""
    promtool = binary("promtool")

    files = [out / render.RULE_TESTS.format(s) for s in SERVICES]

    done = run(promtool, "test", "rules", *files)

    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count("SUCCESS") == 3


def test_shipped_rule_tests_catch_an_edited_threshold(out: Path, tmp_path: Path) -> None:
    """Raising one service's error-ratio threshold in the rules fails its firing case."""
    promtool = binary("promtool")
    for name in (render.RULES.format("orders"), render.RULE_TESTS.format("orders")):
        (tmp_path / name).write_text((out / name).read_text())
    rules = tmp_path / render.RULES.format("orders")
    text = rules.read_text()
    needle = 'service_route:http_server_error_ratio:ratio_rate5m{service="orders"} > 0.05'
    assert text.count(needle) == 1
    rules.write_text(text.replace(needle, needle.replace("0.05", "0.9")))

    done = run(promtool, "test", "rules", tmp_path / render.RULE_TESTS.format("orders"))

    assert done.returncode == 1
    assert "name: orders MsatraceHighErrorRatio: fires" in done.stdout + done.stderr


def test_shortened_for_interval_and_another_service_label_keep_the_tests_passing(
    tmp_path: Path,
) -> None:
    """--for, --evaluation-interval and --service-label give cases that still pass."""
    promtool = binary("promtool")
    need("yaml")
    argv = ["alerts", "orders", "--for", "20s", "--evaluation-interval", "10s"]
    argv += ["--service-label", "app"]
    assert cli.main([*argv, "--out", str(tmp_path)]) == 0

    done = run(promtool, "test", "rules", tmp_path / render.RULE_TESTS.format("orders"))

    assert done.returncode == 0, done.stdout + done.stderr
    rules = (tmp_path / render.RULES.format("orders")).read_text()
    assert "for: 20s" in rules
    assert 'absent(up{app="orders"})' in rules


def test_alertmanager_config_passes_amtool(out: Path) -> None:
    """amtool check-config (0.25) accepts the Alertmanager configuration."""
    amtool = binary("amtool")

    done = run(amtool, "check-config", out / render.ALERTMANAGER)

    assert done.returncode == 0, done.stdout + done.stderr
    assert "- 2 inhibit rules" in done.stdout
    assert "- 5 receivers" in done.stdout


def test_routing_tests_pass(out: Path) -> None:
    """The shipped routing script passes: each service and severity reaches its receivers."""
    amtool = binary("amtool")

    done = run("sh", out / render.ROUTE_TESTS, env={**os.environ, "AMTOOL": amtool})

    assert done.returncode == 0, done.stdout + done.stderr
    assert "8 routing cases passed" in done.stdout


def test_routing_tests_catch_a_wrong_receiver(out: Path, tmp_path: Path) -> None:
    """A config sending billing's pages to PagerDuty instead of Opsgenie fails its case."""
    amtool = binary("amtool")
    config = tmp_path / render.ALERTMANAGER
    text = (out / render.ALERTMANAGER).read_text()
    needle = '  - receiver: page-opsgenie\n      matchers:\n        - severity="page"\n'
    assert text.count(needle) == 1
    config.write_text(text.replace(needle, needle.replace("opsgenie", "pagerduty")))
    script = out / render.ROUTE_TESTS

    done = run("sh", script, config, env={**os.environ, "AMTOOL": amtool})

    assert done.returncode == 1
    assert "FAIL: alertname=MsatraceHighErrorRatio service=billing severity=page" in done.stderr


def test_install_secrets_writes_keys_without_newline_and_fills_the_webhook(
    out: Path, tmp_path: Path
) -> None:
    """install-secrets.sh writes each key file without a newline and puts the webhook URL in."""
    amtool = binary("amtool")
    config = tmp_path / render.ALERTMANAGER
    config.write_text((out / render.ALERTMANAGER).read_text())
    secrets = {
        "SLACK_PAGE_WEBHOOK_URL": "https://hooks.slack.test/page",
        "SLACK_TICKET_WEBHOOK_URL": "https://hooks.slack.test/ticket",
        "PAGERDUTY_ROUTING_KEY": "0123456789abcdef0123456789abcdef",
        "OPSGENIE_API_KEY": "og-key",
        "WEBHOOK_URL": "https://hooks.example.test/alerts?a=1&b=2",
    }
    env = {**os.environ, **secrets, "SECRETS_DIR": str(tmp_path / "secrets")}

    done = run("sh", out / render.SECRETS, config, env=env)
    checked = run(amtool, "check-config", config)

    assert done.returncode == 0, done.stderr
    files = {p.name: p.read_text() for p in sorted((tmp_path / "secrets").iterdir())}
    assert files == {
        "opsgenie-api-key": "og-key",
        "pagerduty-routing-key": "0123456789abcdef0123456789abcdef",
        "slack-page-api-url": "https://hooks.slack.test/page",
        "slack-ticket-api-url": "https://hooks.slack.test/ticket",
    }
    assert "url: https://hooks.example.test/alerts?a=1&b=2\n" in config.read_text()
    assert "webhook.invalid/" not in config.read_text()
    assert checked.returncode == 0, checked.stdout + checked.stderr
