"""A small, fast HTTP/1.1 keep-alive server on 127.0.0.1 for the outbound benchmark.

Run ``python benchmarks/_http_server.py``: it prints its port on one line, then answers every
request with ``200 ok`` until stdin closes. The reply says whether the request carried a
``traceparent`` header (``x-saw-traceparent: 1``) so the benchmark can check that a patched
client really injected it. Request bodies are not expected (GET only).
"""

from __future__ import annotations

import asyncio
import sys

OK = (
    b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 2\r\n"
    b"x-saw-traceparent: %s\r\n\r\nok"
)
REPLIES = {True: OK % b"1", False: OK % b"0"}


class Handler(asyncio.Protocol):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport: asyncio.Transport = transport  # type: ignore[assignment]
        self.buffer = b""

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head, self.buffer = self.buffer[:end], self.buffer[end + 4 :]
            self.transport.write(REPLIES[b"\ntraceparent:" in head.lower()])


async def main() -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(Handler, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    print(port, flush=True)
    await loop.run_in_executor(None, sys.stdin.read)  # until the parent closes our stdin
    server.close()


if __name__ == "__main__":
    asyncio.run(main())
