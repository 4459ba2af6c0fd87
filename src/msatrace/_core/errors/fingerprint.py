"""The fingerprint that groups occurrences of one bug and separates different bugs.

An exception's fingerprint is a hash of, for each exception in its chain (``raise ... from`` and
implicit context, outermost first): the exception's type, its message with the variable parts
normalised (UUIDs, hex strings, numbers, quoted values), and the (module, function) of each of
its in-app frames. Line numbers are left out, so an unrelated edit above the ``raise`` does not
split a group; file paths are left out, so two deployments in different directories agree.

In-app: a frame whose file is not in the standard library, not an installed package (site- or
dist-packages) and not msatrace itself. When no frame is in-app (an error inside a library called
from a C extension), the last frames count instead.

Imports: the standard library only.
"""

from __future__ import annotations

import hashlib
import os
import re
import sysconfig
from collections.abc import Iterator
from types import TracebackType

# How many chained exceptions and frames a fingerprint looks at.
MAX_CHAIN = 5
FALLBACK_FRAMES = 5

_UUID = re.compile(
    r"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b"
)
# A number or a hex string (an ID, a hash, an address): any run of hex digits with a digit in it,
# so that an ID that happens to be all digits normalises like one that is not.
_HEX = re.compile(r"\b(?:0[xX])?[0-9a-fA-F]*[0-9][0-9a-fA-F]*\b")
_SIGN = re.compile(r"(?<![\w-])[-+](?=<n>)")
_QUOTED = re.compile(r"'[^'\n]*'|\"[^\"\n]*\"")
_NUMBER = re.compile(r"[-+]?\d+(?:[.,]\d+)*")
_EMAIL = re.compile(r"[^\s@\"<>(),;:\[\]]+@[\w-]+(?:\.[\w-]+)+")


def normalise(message: str) -> str:
    """The message with its variable parts replaced by placeholders."""
    text = _EMAIL.sub("<email>", message)
    text = _QUOTED.sub("<str>", text)
    text = _UUID.sub("<uuid>", text)
    text = _NUMBER.sub("<n>", _HEX.sub("<n>", text))
    return _SIGN.sub("", text)


def chain(exc: BaseException) -> list[BaseException]:
    """``exc`` and the exceptions it was raised from or during, outermost first (bounded)."""
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and len(seen) < MAX_CHAIN and all(current is not e for e in seen):
        seen.append(current)
        if current.__cause__ is not None:
            current = current.__cause__
        elif not current.__suppress_context__:
            current = current.__context__
        else:
            current = None
    return seen


def frames(tb: TracebackType | None) -> Iterator[tuple[str, str, str, int]]:
    """(filename, module, function, line number) of each frame, outermost first."""
    while tb is not None:
        frame = tb.tb_frame
        code = frame.f_code
        module = frame.f_globals.get("__name__", "?")
        yield code.co_filename, str(module), code.co_name, tb.tb_lineno
        tb = tb.tb_next


def is_in_app(filename: str) -> bool:
    """A frame of the application's own code (not the stdlib, a package or msatrace)."""
    known = _in_app.get(filename)
    if known is not None:
        return known
    if not filename or filename.startswith("<"):
        return False
    path = os.path.abspath(filename)
    if any(f"{os.sep}{d}{os.sep}" in path for d in ("site-packages", "dist-packages")):
        answer = False
    else:
        answer = not any(path.startswith(prefix) for prefix in _library_prefixes())
    # Decided once per file: a relative name depends on the working directory, so is not kept.
    if os.path.isabs(filename) and len(_in_app) < _IN_APP_FILES:
        _in_app[filename] = answer
    return answer


_IN_APP_FILES = 4096
_in_app: dict[str, bool] = {}


def fingerprint(exc: BaseException) -> str:
    """32 hex digits naming the bug ``exc`` is an occurrence of."""
    parts: list[str] = []
    for link in chain(exc):
        kind = type(link)
        parts.append(f"{kind.__module__}.{kind.__qualname__}")
        parts.append(normalise(str(link)))
        stack = list(frames(link.__traceback__))
        in_app = [f"{m}:{fn}" for file, m, fn, _ in stack if is_in_app(file)]
        parts.extend(in_app or [f"{m}:{fn}" for _, m, fn, _ in stack[-FALLBACK_FRAMES:]])
    return hashlib.sha256("\n".join(parts).encode("utf-8", "replace")).hexdigest()[:32]


_prefixes: tuple[str, ...] | None = None


def _library_prefixes() -> tuple[str, ...]:
    global _prefixes
    if _prefixes is None:
        paths = sysconfig.get_paths()
        found = {paths[k] for k in ("stdlib", "platstdlib", "purelib", "platlib") if k in paths}
        found.add(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
        _prefixes = tuple(sorted(os.path.join(os.path.abspath(p), "") for p in found))
    return _prefixes
