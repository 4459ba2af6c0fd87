"""How users call msatrace's background-work API, checked by mypy --strict; never executed."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import Future, ThreadPoolExecutor

import msatrace


@msatrace.task
def send_receipt(order_id: int) -> str:
    """A plain decorator keeps the signature."""
    return f"receipt {order_id}"


@msatrace.task(name="reindex")
async def reindex(batch: int) -> int:
    """A named async task keeps its signature too."""
    return batch


def decorated() -> None:
    """Decorated functions are called as before; results keep their types."""
    receipt: str = send_receipt(42)
    count: int = asyncio.run(reindex(3))
    print(receipt, count)


def carried() -> None:
    """wrap() returns a callable of the same signature; TracedExecutor is an Executor."""
    later = msatrace.wrap(send_receipt)
    text: str = later(7)
    threading.Thread(target=msatrace.wrap(send_receipt), args=(1,)).start()
    with msatrace.TracedExecutor(ThreadPoolExecutor(2)) as pool:
        future: Future[str] = pool.submit(send_receipt, 9)
        results: list[str] = list(pool.map(send_receipt, [1, 2]))
    print(text, future, results)


def celery_app() -> None:
    """The Celery adapter's public entry points."""
    from celery import Celery

    import msatrace.celery

    app = Celery("shop")
    msatrace.celery.instrument(app)
    msatrace.celery.patch()
