"""Percent-encoded text read decoded: where its characters came from, and the spans it shows.

A query string, a path or a request's repr carries values encoded (``kim%40example.com``); the
rules run on the decoded text too, and each match becomes a span of the text as written.

Imports: the standard library only.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Callable

Spans = list[tuple[int, int, str, str]]

# A percent-encoded byte (``%40``): text holding one is also scanned decoded.
ESCAPE = re.compile(r"%[0-9A-Fa-f]{2}")
# The escapes whose decoding can change the first look: an ASCII character, or a non-ASCII one
# in a name before ``=`` or ``:``. Other non-ASCII characters (a Korean search term in a path)
# map to the class of neither digits nor letters, as their escapes do: decoded, they make no
# substring the look tests for (the per-field path still decodes them: they may end a word).
REVEALING = re.compile(r"%[0-7][0-9A-Fa-f]|%[89A-Fa-f][0-9A-Fa-f][^\s&;,?#=:]{0,64}[ \t]*[=:]")
_RUN = re.compile(r"(?:%[0-9A-Fa-f]{2})+")


def decode(s: str) -> tuple[str, list[int], list[int]]:
    """``s`` percent-decoded (UTF-8, errors replaced), and for each decoded character the start
    and end in ``s`` of the characters it came from."""
    parts: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    pos = 0
    for m in _RUN.finditer(s):
        a = m.start()
        parts.append(s[pos:a])
        starts.extend(range(pos, a))
        ends.extend(range(pos + 1, a + 1))
        decoder = codecs.getincrementaldecoder("utf-8")("replace")
        begin = a
        raw = bytes.fromhex(m.group().replace("%", ""))
        for i in range(len(raw)):
            chars = decoder.decode(raw[i : i + 1], final=i == len(raw) - 1)
            if chars:
                end = a + 3 * (i + 1)
                parts.append(chars)
                starts.extend([begin] * len(chars))
                ends.extend([end] * len(chars))
                begin = end
        pos = m.end()
    parts.append(s[pos:])
    starts.extend(range(pos, len(s)))
    ends.extend(range(pos + 1, len(s) + 1))
    return "".join(parts), starts, ends


def with_decoded(
    s: str, found: Spans, spans_of: Callable[[str], list[tuple[int, int, str]]], escaped: bool
) -> Spans:
    """``found`` (spans of ``s`` as written, ``(start, end, kind, value)``) and the spans
    ``spans_of`` finds in ``s`` decoded, as spans of ``s``, in order, without overlaps.

    The decoded text is read with a ``+`` as written as itself and as a blank (a form-encoded
    space; ``%2B`` is always a plus); without an escape (``escaped`` false: a form query such as
    ``q=call+010-1234-5678``) only with its ``+`` as blanks. Each match covers the encoded
    characters it came from, and its value is the decoded one (the keyed hash is that of the
    value). One list for both, earliest then longest first, so that a match in the text as
    written never cuts a longer one that only decoding shows (a card with one digit encoded).
    """
    texts = [s] if escaped else []
    if "+" in s:
        texts.append(s.replace("+", " "))
    for text in texts:
        plain, starts, ends = decode(text)
        found = found + [
            (starts[a], ends[b - 1], kind, plain[a:b]) for a, b, kind in spans_of(plain)
        ]
    found.sort(key=lambda x: (x[0], x[0] - x[1]))
    keep: Spans = []
    pos = 0
    for span in found:
        if span[0] >= pos:
            keep.append(span)
            pos = span[1]
    return keep
