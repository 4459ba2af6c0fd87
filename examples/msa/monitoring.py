"""The demo's real Prometheus and Alertmanager, running what ``msatrace alerts`` generates.

``generate`` runs the command (``python -m msatrace.cli alerts``) on ``alerts.toml`` with short
``for:``, evaluation and grouping intervals so an alert fires and resolves within the demo, and
fills the secret files with the stand-ins' URLs; ``prometheus`` and ``alertmanager`` are the
Debian binaries as demo ``Service`` objects; ``alerts`` reads what Prometheus is firing.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any

from demo_kit import HERE, Service

ROUTING_KEY = "d3m0d3m0d3m0d3m0d3m0d3m0d3m0d3m0"  # 32 characters, as PagerDuty wants
BINARIES = ("prometheus", "prometheus-alertmanager")


def missing_binaries() -> list[str]:
    return [name for name in BINARIES if shutil.which(name) is None]


def generate(out: Path, receivers_url: str) -> None:
    """``msatrace alerts`` into ``out``, its secret files filled with the stand-ins' URLs."""
    argv = [sys.executable, "-m", "msatrace.cli", "alerts", "--config", str(HERE / "alerts.toml")]
    argv += ["--out", str(out), "--for", "5s", "--evaluation-interval", "1s"]
    argv += ["--group-wait", "1s", "--group-interval", "2s"]
    argv += ["--secrets-dir", str(out / "secrets"), "--webhook-url", receivers_url + "/webhook"]
    argv += ["--pagerduty-url", receivers_url + "/pagerduty/v2/enqueue"]
    argv += ["--traces-url", receivers_url + "/traces?service={service}&route={route}"]
    subprocess.run(argv, check=True, capture_output=True)
    secrets = {
        "SLACK_PAGE_WEBHOOK_URL": receivers_url + "/slack/alerts-page",
        "SLACK_TICKET_WEBHOOK_URL": receivers_url + "/slack/alerts-ticket",
        "PAGERDUTY_ROUTING_KEY": ROUTING_KEY,
        "OPSGENIE_API_KEY": "unused-in-the-demo",
    }
    subprocess.run(
        ["sh", str(out / "install-secrets.sh")], env={**os.environ, **secrets}, check=True
    )


def prometheus(out: Path, port: int, alertmanager_port: int, jobs: dict[str, int]) -> Service:
    """Prometheus scraping each job every second, evaluating the generated rules every second."""
    scrape = "".join(
        f"  - job_name: {job}\n    static_configs:\n      - targets: ['127.0.0.1:{p}']\n"
        for job, p in jobs.items()
    )
    config = out / "prometheus.yml"
    config.write_text(
        "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\n"
        f"rule_files: ['{out}/*.rules.yml']\n"
        "alerting:\n  alertmanagers:\n    - static_configs:\n"
        f"        - targets: ['127.0.0.1:{alertmanager_port}']\n"
        f"scrape_configs:\n{scrape}"
    )
    argv = [
        shutil.which("prometheus") or "prometheus",
        f"--config.file={config}",
        f"--storage.tsdb.path={out / 'tsdb'}",
        f"--web.listen-address=127.0.0.1:{port}",
    ]
    return Service("prometheus", argv, port)


def alertmanager(out: Path, port: int) -> Service:
    argv = [
        shutil.which("prometheus-alertmanager") or "prometheus-alertmanager",
        f"--config.file={out / 'alertmanager.yml'}",
        f"--storage.path={out / 'am'}",
        f"--web.listen-address=127.0.0.1:{port}",
        "--cluster.listen-address=",
    ]
    return Service("alertmanager", argv, port)


def ready(service: Service) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{service.port}/-/ready", timeout=2) as r:
            return bool(r.status == 200)
    except OSError:
        return False


def alerts(prom: Service) -> list[dict[str, Any]]:
    """The alerts Prometheus holds now (pending and firing); none when it does not answer."""
    try:
        url = f"http://127.0.0.1:{prom.port}/api/v1/alerts"
        with urllib.request.urlopen(url, timeout=2) as response:
            found: list[dict[str, Any]] = json.load(response)["data"]["alerts"]
            return found
    except (OSError, ValueError, KeyError):
        return []


def all_up(prom: Service, jobs: list[str]) -> bool:
    """Whether Prometheus has scraped every job successfully (``up == 1``)."""
    try:
        url = f"http://127.0.0.1:{prom.port}/api/v1/query?query=up"
        with urllib.request.urlopen(url, timeout=2) as response:
            result = json.load(response)["data"]["result"]
    except (OSError, ValueError, KeyError):
        return False
    up = {r["metric"].get("job"): r["value"][1] == "1" for r in result}
    return all(up.get(job) for job in jobs)


def warm_up(port: int) -> None:
    """One request to a service's /metrics, so Prometheus' first scrape is not its first."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
            response.read()
    except OSError:
        pass  # Prometheus will say so
