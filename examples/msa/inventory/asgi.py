"""ASGI entry point: ``uvicorn inventory.asgi:application`` (from examples/msa)."""

from __future__ import annotations

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "inventory.settings")
application = get_asgi_application()
