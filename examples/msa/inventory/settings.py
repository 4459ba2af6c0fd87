"""Django settings of the inventory service: no database, no apps, just views.

The msatrace lines: ``msatrace.init()`` and the readiness check below, and the middleware first
in ``MIDDLEWARE``.
"""

from __future__ import annotations

import os

import msatrace
from msatrace import health

msatrace.init(service_name="inventory")
# Readiness (/readyz) fails while the stock cache, a Redis, does not answer.
health.add_check(
    health.redis_check(os.environ.get("STOCK_CACHE_URL", "redis://127.0.0.1:6379/1"), timeout=0.5)
)

SECRET_KEY = "demo-only-not-secret"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
ROOT_URLCONF = "inventory.urls"
INSTALLED_APPS: list[str] = []
DATABASES: dict[str, dict[str, str]] = {}
MIDDLEWARE = [
    "msatrace.django.TraceMiddleware",  # first: it sees every request and every exception
    "django.middleware.common.CommonMiddleware",
]
USE_TZ = True
