"""What every notifier writes the same way: titles, truncation, trace links, stack excerpts."""

from __future__ import annotations

from msatrace._core.errors.noise import Report


def truncate(text: str, limit: int) -> str:
    """``text`` within ``limit`` characters; a cut is marked with "…"."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def trace_url(template: str | None, trace_id: str | None) -> str | None:
    """The trace's URL from a template such as ``https://grafana/explore?traceId={trace_id}``."""
    if not template or not trace_id:
        return None
    return template.replace("{trace_id}", trace_id)


def headline(report: Report) -> str:
    """One line naming what happened: ``ValueError: order <n>`` or ``37 more: ValueError: ...``."""
    title = report.event.title
    if report.kind == "digest":
        minutes = max(1, round(report.window / 60))
        return f"{report.count} more in {minutes} min: {title}"
    if report.kind == "returned":
        return f"Back again: {title}"
    return title


def stack(report: Report, limit: int) -> str:
    """The in-app frames of the outermost exception, innermost last, as a traceback excerpt."""
    lines: list[str] = []
    for exc in report.event.exceptions:
        frames = [f for f in exc.frames if f.in_app] or list(exc.frames[-3:])
        for frame in frames:
            lines.append(f"{frame.module} in {frame.function}, line {frame.lineno}")
            if frame.in_app and frame.context:
                middle = len(frame.context) // 2
                lines.append(f"    {frame.context[middle].strip()}")
        lines.append(f"{exc.type}: {exc.message}" if exc.message else exc.type)
        if exc is not report.event.exceptions[-1]:
            lines.append("  raised from / during:")
    return truncate("\n".join(lines), limit)
