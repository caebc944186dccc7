"""Small text helpers for the views: query words, highlight runs, sizes and dates."""

from __future__ import annotations

import datetime as _dt
import html

from photocap.text import WORD, stem

_OPERATORS = {"and", "or", "not", "near"}


def query_terms(query: str) -> tuple[str, ...]:
    """The words a search highlights: lower-case, no operators, no excluded (-word) terms."""
    terms = []
    for raw in query.split():
        if raw.startswith("-"):
            continue
        for word in WORD.findall(raw.lower()):
            if word not in _OPERATORS and word not in terms:
                terms.append(word)
    return tuple(terms)


def word_matches(word: str, terms: tuple[str, ...]) -> bool:
    """Prefix match, also on the stems the index keeps, so "dogs" highlights "dog" and
    "running" highlights "runs"."""
    w = word.lower()
    return any(w.startswith(t) or stem(w).startswith(stem(t)) for t in terms)


def search_query(typed: str) -> str:
    """What to send while the user types: the last word, still being typed, as a prefix."""
    text = typed.strip()
    if not text or typed.endswith((" ", '"')) or text.endswith(("*", '"')):
        return text
    last = text.split()[-1]
    if last.startswith("-") or last.upper() == "OR" or not any(ch.isalnum() for ch in last):
        return text
    return text + "*"


def highlight_runs(text: str, terms: tuple[str, ...]) -> list[tuple[str, bool]]:
    """Split ``text`` into (piece, matched) runs; a word matches when it starts with a term
    (the search matches prefixes, so "bea" finds and highlights "beach")."""
    if not terms:
        return [(text, False)] if text else []
    runs: list[tuple[str, bool]] = []
    pos = 0
    for m in WORD.finditer(text):
        if word_matches(m.group(0), terms):
            if m.start() > pos:
                runs.append((text[pos : m.start()], False))
            runs.append((m.group(0), True))
            pos = m.end()
    if pos < len(text):
        runs.append((text[pos:], False))
    return runs


def marked_runs(snippet: str, marks: tuple[str, str] = ("[", "]")) -> list[tuple[str, bool]]:
    """The library's snippet (matched words between ``marks``) as (piece, matched) runs."""
    out, rest = [], snippet
    while rest:
        a = rest.find(marks[0])
        b = rest.find(marks[1], a + 1) if a >= 0 else -1
        if a < 0 or b < 0:
            out.append((rest, False))
            break
        if a:
            out.append((rest[:a], False))
        out.append((rest[a + 1 : b], True))
        rest = rest[b + 1 :]
    return out


def plain_tooltip(text: str) -> str:
    """``text`` for a tooltip, shown as typed: Qt guesses rich text in tooltips, so a caption
    or file name like ``<b>x`` would render bold (and ``<img src=...>`` would load)."""
    return "<p style='white-space:pre-wrap'>" + html.escape(text) + "</p>" if text else ""


def shorten(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters with an ellipsis (a pasted query can be 20,000)."""
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def human_size(n: int | None) -> str:
    if n is None:
        return "—"
    size: float = n
    for unit in ("bytes", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{n:,} {unit}" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1024
    return ""


def human_date(value: _dt.datetime | None) -> str:
    if value is None:
        return "—"
    return f"{value.day} {value:%B %Y, %H:%M}" if hasattr(value, "strftime") else str(value)
