"""Full-text search plumbing: the FTS5 table, its triggers, and the user's query → MATCH.

The index is an *external-content* FTS5 table over ``photos`` (caption, tags, file
name, folder name): the text lives once, in ``photos``, and three triggers keep the
index in step with every insert, delete and update of those four columns (updates of
anything else, such as ``status`` or ``mtime_ns``, do not touch the index). The porter
stemmer makes "dogs" find "dog"; ``remove_diacritics 2`` makes "cafe" find "café".

The DDL lives, frozen, in migration ``0002_search_index`` (``op.execute``); the table
is hidden from autogenerate by :func:`is_fts_table`. Keep the names here in step with it.

Query language (what a person types without thinking)::

    red car            both words must match (stemmed)
    "red car"          the phrase
    car*               prefix
    -truck  -"fire truck"   exclusion
    dog OR cat         either (an upper-case OR between two terms)

Every term is passed to FTS5 as a double-quoted string, so AND/NOT/NEAR, parentheses,
colons, ``^`` and SQL fragments are just text; characters that cannot be part of a
token (punctuation, emoji) are dropped. :func:`parse_query` never raises.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

FTS_TABLE = "photo_fts"
# the text people search; tags_broader: the tags' WordNet hypernyms (migration 0004)
FTS_COLUMNS = ("caption", "tags_text", "name", "folder_name", "tags_broader")
FACETS_COLUMN = "facets"  # filters as words (migration 0003); never matched by what people type
# bm25 weights, in index column order: the caption counts most, then tags, then names, then
# the tags' broader words (a photo that says "animal" before one tagged "Egyptian cat"); facets 0
BM25_WEIGHTS = (10.0, 4.0, 2.0, 1.5, 1.0, 0.0)
TOKENIZER = "porter unicode61 remove_diacritics 2"  # as in migration 0002: snippets must tokenise alike

# integrity-check with rank=1 compares the index against the content table
INTEGRITY_SQL = f"INSERT INTO {FTS_TABLE}({FTS_TABLE}, rank) VALUES ('integrity-check', 1)"


def is_fts_table(name: str | None) -> bool:
    """The FTS table and its shadow tables (``photo_fts_data`` ...): not for autogenerate."""
    return bool(name) and (name == FTS_TABLE or name.startswith(FTS_TABLE + "_"))


@dataclass(frozen=True)
class FtsQuery:
    """``match``: FTS5 expression the rows must match (None: no positive terms).
    ``exclude``: FTS5 expression the rows must not match (None: nothing excluded)."""

    match: str | None
    exclude: str | None

    @property
    def empty(self) -> bool:
        return self.match is None and self.exclude is None


# a term: optional '-', then a quoted phrase (maybe unterminated) or a bare word; optional '*'
_TERM = re.compile(r'(-?)(?:"([^"]*)"?|([^\s"]+))(\*?)')


def _has_token_char(text: str) -> bool:
    return any(ch.isalnum() for ch in text)


def _quote(text: str, prefix: bool) -> str:
    text = " ".join(text.split())
    return '"' + text.replace('"', '""') + '"' + (" *" if prefix else "")


def parse_query(text: str) -> FtsQuery:
    """Turn whatever the user typed into a safe :class:`FtsQuery` (never raises)."""
    text = (text or "").replace("\x00", " ")
    groups: list[list[str]] = []  # AND of OR-groups
    excluded: list[str] = []
    pending_or = False
    for m in _TERM.finditer(text):
        neg, phrase, word, star = m.groups()
        raw = phrase if phrase is not None else word
        if word is not None and word.endswith("*"):
            raw, star = word.rstrip("*"), "*"
        if phrase is None and raw == "OR" and not neg:
            pending_or = bool(groups)
            continue
        if not _has_token_char(raw):
            continue
        term = _quote(raw, bool(star))
        if neg:
            excluded.append(term)
        elif pending_or and groups:
            groups[-1].append(term)
        else:
            groups.append([term])
        pending_or = False
    match = " AND ".join(g[0] if len(g) == 1 else "(" + " OR ".join(g) + ")" for g in groups) or None
    exclude = " OR ".join(excluded) or None
    return FtsQuery(match, exclude)


# the words schema.FACETS_SQL writes, besides "f12", "y2015" and "m201503"
_FACET_WORDS = ("review", "stok", "stmissing", "sterror", "srcuser", "srcmodel", "srctags", "srcimported",
                "srcnone")
_NUMBERED = re.compile(r"[fym]\d*")
_QUOTED = re.compile(r'"((?:[^"]|"")*)"( \*)?')


def could_match_facets(expr: str) -> bool:
    """Whether some term of ``expr`` (a :func:`parse_query` string) could match a facet word.

    Limiting a match to the text columns costs 10-25% on a broad query, so it is done only
    when needed: for words like "review(s)", "stok", "f12", "y2015" and for prefixes of them
    ("re*", "s*", "f*"). Conservative: a false "yes" only costs that little time.
    """
    for body, star in _QUOTED.findall(expr):
        words = re.findall(r"\w+", body.lower())
        for word in words:
            if _NUMBERED.fullmatch(word) or any(word.startswith(f) for f in _FACET_WORDS):
                return True
        if star and words and (_NUMBERED.fullmatch(words[-1]) or any(f.startswith(words[-1]) for f in _FACET_WORDS)):
            return True
    return False


def text_only(expr: str) -> str:
    """``expr`` restricted to the text columns, so "review" typed by a person is not a facet."""
    return "{" + " ".join(FTS_COLUMNS) + "} : (" + expr + ")"


def combined_match(q: FtsQuery, facets: list[str] | None = None) -> str | None:
    """One MATCH string for queries with a positive part: ``text: (pos NOT (neg...)) AND facets``."""
    if q.match is None:
        return None
    expr = q.match if q.exclude is None else f"{q.match} NOT ({q.exclude})"
    if facets or could_match_facets(expr):
        expr = text_only(expr)
    for facet in facets or ():
        expr += " AND {" + FACETS_COLUMN + "} : (" + facet + ")"
    return expr
