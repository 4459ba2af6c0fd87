"""Settings of the Django test project: no database, msatrace's middleware first."""

from __future__ import annotations

import os

import msatrace

msatrace.init()

SECRET_KEY = "test-only-not-secret"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
ROOT_URLCONF = "djproject.urls"
INSTALLED_APPS: list[str] = []
MIDDLEWARE = [
    "msatrace.django.TraceMiddleware",
    "django.middleware.common.CommonMiddleware",
]
if os.environ.get("DJPROJECT_SYNC_MIDDLEWARE") == "1":  # a sync-only middleware after ours
    MIDDLEWARE.insert(1, "djproject.middleware.SyncOnly")
DATABASES: dict[str, object] = {}
USE_TZ = True
