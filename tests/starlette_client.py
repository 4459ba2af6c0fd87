"""Starlette's ``TestClient`` (as FastAPI re-exports it), imported without the warnings it gives
on the versions the suite runs on. Import it after ``need("fastapi")``.
"""

from __future__ import annotations

import warnings

with warnings.catch_warnings():
    # Starlette asks for httpx2 instead of httpx; either drives the app the same way.
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    # Starlette 0.36 (the minimum) imports an anyio name that newer anyio releases deprecate.
    warnings.filterwarnings("ignore", message="The anyio.abc.BlockingPortal alias is deprecated")
    from fastapi.testclient import TestClient

__all__ = ["TestClient"]
