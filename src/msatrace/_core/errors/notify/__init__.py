"""The notifiers error reports go to (Slack, a signed webhook, Jira, PagerDuty, Opsgenie).

Each is small, speaks its vendor's documented API with the standard library
(``_core.errors.http``), keeps within the vendor's field limits (cuts marked "…") and raises
``DeliveryError`` when a report did not arrive. Public as ``msatrace.notifiers``.

Imports: the standard library and ``_core.errors``.
"""
