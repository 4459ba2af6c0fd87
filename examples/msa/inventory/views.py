"""Views of the inventory service."""

from __future__ import annotations

from django.http import Http404, HttpRequest, JsonResponse

import msatrace
from inventory import forecast

log = msatrace.get_logger("inventory")


def health(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


def stock(request: HttpRequest, sku: str) -> JsonResponse:
    item = forecast.CATALOGUE.get(sku)
    if item is None:
        log.warning("no such product", sku=sku)
        raise Http404(f"no product {sku!r}")
    # DEBUG: dropped in production, unless debug-on-error keeps it for a request that fails.
    log.debug("forecast inputs", sku=sku, sold_last_30_days=item.sold_last_30_days)
    cover = forecast.days_of_cover(item)  # raises for a product that never sold (a real bug)
    log.info("stock checked", sku=sku, available=item.available, days_of_cover=cover)
    return JsonResponse({"sku": sku, "available": item.available, "days_of_cover": cover})
