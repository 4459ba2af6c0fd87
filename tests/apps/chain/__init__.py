"""Three services that call each other, for the chain test (tests/integration/test_chain.py).

``chain.api`` (FastAPI, uvicorn) calls ``chain.middle`` (Flask, gunicorn) with
``httpx.AsyncClient``, which calls ``chain.backend`` (Django, gunicorn) with ``requests``. Each
service reads the next one's base URL from ``CHAIN_NEXT_URL`` and answers ``/chain`` with what it
saw, plus what the next service answered.
"""
