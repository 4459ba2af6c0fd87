"""mkdocs hook: generate the configuration reference from ``_core.config.settings.OPTIONS``.

A page containing the marker ``<!-- msatrace:settings-table -->`` gets the table of every setting
(its ``init()`` keyword, environment variables in precedence order, default and description) in
its place, so the reference cannot drift from the code. The build fails when ``msatrace.init()``
and the settings table disagree about which settings exist. Likewise
``<!-- msatrace:versions-table -->`` becomes the supported-versions table from
``msatrace._core.config.versions.MINIMUMS``, and ``<!-- msatrace:sdk-variables-table -->`` the
table of OpenTelemetry SDK variables msatrace checks
(``msatrace._core.config.sdkvars.SDK_VARIABLES``).
"""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any

MARKER = "<!-- msatrace:settings-table -->"
RESULTS_MARKER = "<!-- msatrace:benchmark-results -->"
VERSIONS_MARKER = "<!-- msatrace:versions-table -->"
SDK_MARKER = "<!-- msatrace:sdk-variables-table -->"
RESULTS = Path(__file__).resolve().parent.parent / "benchmarks" / "RESULTS.md"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def settings_table() -> str:
    """The Markdown table of every setting, in the order ``settings.py`` declares them."""
    import msatrace
    from msatrace._core.config.settings import OPTIONS

    keywords = set(inspect.signature(msatrace.init).parameters)
    names = {opt.name for opt in OPTIONS}
    if keywords != names:
        raise RuntimeError(
            "msatrace.init() and settings.OPTIONS disagree: "
            f"only in init(): {sorted(keywords - names)}, "
            f"only in OPTIONS: {sorted(names - keywords)}"
        )
    rows = [
        "| `init()` keyword | Environment variables (first set wins) | Default | What it does |",
        "| --- | --- | --- | --- |",
    ]
    for opt in OPTIONS:
        env = "<br>".join(f"`{var}`" for var in opt.env) or "(keyword argument only)"
        rows.append(f"| `{opt.name}` | {env} | {_cell(opt.default_doc)} | {_cell(opt.doc)} |")
    return "\n".join(rows)


def sdk_variables_table() -> str:
    """The Markdown table of the SDK's own variables that ``init()`` checks."""
    from msatrace._core.config.sdkvars import SDK_VARIABLES

    rows = ["| Variable | What it sets |", "| --- | --- |"]
    rows += [f"| `{var.name}` | {_cell(var.doc)} |" for var in SDK_VARIABLES]
    return "\n".join(rows)


def versions_table() -> str:
    """The Markdown table of the oldest supported Python and every dependency's minimum."""
    from msatrace._core.config.versions import MINIMUMS, PYTHON

    rows = [
        "| Installed with | Package | Minimum | Tested at the minimum with |",
        "| --- | --- | --- | --- |",
        f"| — | Python | {PYTHON} | {PYTHON} |",
    ]
    for row in MINIMUMS:
        extra = f"`msatrace[{row.extra}]`" if row.extra else "`msatrace`"
        tested = f"{row.tested} ({_cell(row.why)})" if row.why else row.tested
        rows.append(f"| {extra} | `{row.distribution}` | {row.minimum} | {tested} |")
    return "\n".join(rows)


def benchmark_results() -> str:
    """``benchmarks/RESULTS.md`` with its headings moved below the page's, or a notice.

    The report's "Targets" section (the project's own aims, for its developers) is left out of
    the user documentation; every figure it names is in the report's other tables.
    """
    if not RESULTS.is_file():
        return (
            '!!! warning "No benchmark report in this build"\n'
            "    `benchmarks/RESULTS.md` did not exist when these pages were built. "
            "Run `python3 -m nox -s bench` to produce it, then rebuild the documentation."
        )
    lines = []
    skipping = False
    for line in RESULTS.read_text(encoding="utf-8").splitlines():
        if line.startswith("## "):
            skipping = line.strip() == "## Targets"
        if skipping:
            continue
        if line.startswith("#"):
            line = "##" + line  # the report's "#" becomes "###" under this page's "##"
        lines.append(line)
    return "\n".join(lines)


def on_page_markdown(markdown: str, **kwargs: Any) -> str:
    """Replace the markers with the generated tables and the benchmark report."""
    if MARKER in markdown:
        markdown = markdown.replace(MARKER, settings_table())
    if SDK_MARKER in markdown:
        markdown = markdown.replace(SDK_MARKER, sdk_variables_table())
    if VERSIONS_MARKER in markdown:
        markdown = markdown.replace(VERSIONS_MARKER, versions_table())
    if RESULTS_MARKER in markdown:
        markdown = markdown.replace(RESULTS_MARKER, benchmark_results())
    return markdown
