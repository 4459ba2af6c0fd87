"""The alert generator behind ``msatrace alerts``: rules, rule tests, Alertmanager, dashboard.

Its one job is to turn a few service names and their objectives into files a team reviews and
ships: a Prometheus rule file, ``promtool test rules`` cases for every alert, an Alertmanager
configuration with its routing tests, and a Grafana dashboard. It runs at build time, never
inside a service: ``import msatrace`` does not load it, and only ``render`` imports the YAML
library (the ``alerts`` extra). It may import the standard library, ``msatrace.exceptions`` and,
in ``render``, PyYAML. The name ``msatrace.alerts`` is kept free for the notifier interface.

Modules: ``names`` (every metric and label name the output uses, in one place), ``spec`` (the
configuration and its checks), ``promql`` (exact decimals and durations), ``rules``,
``ruletests``, ``alertmanager``, ``dashboard`` and ``render`` (bytes on disk).
"""

from __future__ import annotations
