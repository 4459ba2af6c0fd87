"""What the stand-alone benchmark scripts write: the line saying how a report was made, the file.

Imports: the standard library only.
"""

from __future__ import annotations

import datetime
import os
import platform

HERE = os.path.dirname(os.path.abspath(__file__))


def made_with(script: str, quick: bool, load: float) -> str:
    """The command, the time (UTC), Python, the CPUs and the load the run started at."""
    return (
        f"`python benchmarks/{script}{' --quick' if quick else ''}`, "
        f"{datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC, Python "
        f"{platform.python_version()}, {os.cpu_count()} CPUs, load {load:.1f}"
    )


def write(name: str, lines: list[str]) -> None:
    """Print the report and write it to ``benchmarks/<name>``."""
    text = "\n".join(lines)
    print(text)
    with open(os.path.join(HERE, name), "w") as f:
        f.write(text)
