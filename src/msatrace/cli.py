"""The ``msatrace`` command. ``msatrace alerts`` writes alert rules, their tests, an Alertmanager
configuration and a Grafana dashboard for the services you name (docs/alerting.md).

The generator is imported only when the subcommand runs, so ``import msatrace`` never loads it
or PyYAML. Imports the standard library and, lazily, ``msatrace._alerting``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from msatrace.exceptions import ConfigError

_ALERTS_HELP = """\
Write, for each service, into --out:
  SERVICE.rules.yml            Prometheus recording rules and alerts (high 5xx ratio, high p99
                               latency, SLO burn rates, service down, readiness, task failures)
  SERVICE.rules.test.yml       promtool test rules cases: every alert firing and not firing
  alertmanager.yml             routes by severity to Slack, PagerDuty or Opsgenie, a webhook
  alertmanager-routes-test.sh  amtool routing tests, one per service and severity
  install-secrets.sh           writes the secret files alertmanager.yml reads
  grafana-dashboard.json       a dashboard for the same metrics

Services come from the command line, from --config (TOML), or both. Check the output with:
  promtool check rules --lint=all --lint-fatal *.rules.yml
  promtool test rules *.rules.test.yml
  amtool check-config alertmanager.yml && sh alertmanager-routes-test.sh
"""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="msatrace", description="msatrace's command-line tools.")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    alerts = commands.add_parser(
        "alerts",
        help="write alert rules, their tests, Alertmanager config and a dashboard",
        description=_ALERTS_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    alerts.add_argument(
        "services", nargs="*", metavar="SERVICE", help="a service (scrape job) name"
    )
    alerts.add_argument(
        "--config",
        type=Path,
        metavar="FILE",
        help="a TOML file: [defaults], [services.NAME], [links], [alertmanager]",
    )
    alerts.add_argument(
        "--out",
        type=Path,
        default=Path("alerting"),
        metavar="DIR",
        help="where to write (default: ./alerting)",
    )
    rules = alerts.add_argument_group("rules")
    rules.add_argument(
        "--service-label",
        metavar="LABEL",
        help="the label naming the service in scraped series (default: job)",
    )
    rules.add_argument(
        "--evaluation-interval", metavar="DURATION", help="rule groups' interval (default: 1m)"
    )
    rules.add_argument(
        "--for",
        dest="for_override",
        metavar="DURATION",
        help="every alert's for: (shorten for end-to-end tests)",
    )
    rules.add_argument(
        "--traces-url",
        metavar="URL",
        help="link to a route's traces; {service} and {route} are filled in",
    )
    rules.add_argument(
        "--logs-url",
        metavar="URL",
        help="link to a service's logs; {service} and {route} are filled in",
    )
    am = alerts.add_argument_group("alertmanager")
    am.add_argument(
        "--secrets-dir",
        metavar="DIR",
        help="where the secret files live (default: /etc/alertmanager/secrets)",
    )
    am.add_argument(
        "--webhook-url",
        metavar="URL",
        help="the generic webhook's URL (default: a placeholder install-secrets.sh fills)",
    )
    am.add_argument(
        "--pagerduty-url", metavar="URL", help="PagerDuty Events v2 endpoint (default: PagerDuty's)"
    )
    am.add_argument(
        "--opsgenie-api-url", metavar="URL", help="Opsgenie API base URL (default: Opsgenie's)"
    )
    am.add_argument("--group-wait", metavar="DURATION", help="default: 30s")
    am.add_argument("--group-interval", metavar="DURATION", help="default: 5m")
    am.add_argument("--page-repeat-interval", metavar="DURATION", help="default: 1h")
    am.add_argument("--ticket-repeat-interval", metavar="DURATION", help="default: 12h")
    return parser


_OVERRIDES = (
    "service_label",
    "evaluation_interval",
    "for_override",
    "traces_url",
    "logs_url",
    "secrets_dir",
    "webhook_url",
    "pagerduty_url",
    "opsgenie_api_url",
    "group_wait",
    "group_interval",
    "page_repeat_interval",
    "ticket_repeat_interval",
)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command; the exit status (0 done, 2 a usage or configuration error)."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command != "alerts":
        parser.print_help()
        return 2
    from msatrace._alerting import render, spec

    try:
        document = spec.read_toml(args.config) if args.config else {}
        overrides = {key: getattr(args, key) for key in _OVERRIDES}
        configured = spec.load(document, tuple(args.services), overrides)
        written = render.write(configured, args.out)
    except (ConfigError, ImportError) as exc:  # ImportError: PyYAML (the alerts extra) missing
        print(f"msatrace alerts: {exc}", file=sys.stderr)
        return 2
    for path in written:
        print(path)
    return 0


if __name__ == "__main__":  # python -m msatrace.cli
    sys.exit(main())
