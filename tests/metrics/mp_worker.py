"""A worker process for the multi-process tests: records requests into a metrics directory.

``python mp_worker.py DIR COUNT HOW``: records COUNT requests (routes /r0../r4, every fifth a
500, each sampled with trace ID COUNT), then ends HOW: ``close`` (shutdown), ``exit`` (falls
off the end: atexit), ``stay`` (writes, prints ``ready``, waits for stdin to close), ``fork``
(records, forks a child that records 2 and exits, then exits).
"""

from __future__ import annotations

import os
import sys

from msatrace._core.metrics import Metrics


def main() -> None:
    directory, count, how = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    m = Metrics(limit=2000, directory=directory, path="/metrics", interval=0.05)
    for i in range(count):
        m.recorder.record_server(
            method="GET",
            route=f"/r{i % 5}",
            status=500 if i % 5 == 4 else 200,
            scheme="http",
            error_type=None,
            duration_s=0.001 * (i % 50),
            trace_id=count,
            span_id=1,
            sampled=True,
        )
    if how == "close":
        m.close()
    elif how == "stay":
        m.shared.write()  # type: ignore[union-attr]
        print("ready", flush=True)
        sys.stdin.read()
        m.close()
    elif how == "fork":
        pid = os.fork()
        if pid == 0:
            for _ in range(2):
                m.recorder.record_server(
                    method="GET",
                    route="/child",
                    status=200,
                    scheme="http",
                    error_type=None,
                    duration_s=0.01,
                )
            m.close()
            os._exit(0)
        os.waitpid(pid, 0)
        m.close()


if __name__ == "__main__":
    main()
