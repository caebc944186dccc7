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
token (punctuation, emoji) are dropped. :func:`parse_query` never raises, on any ``str``:
bytes that reached us surrogate-escaped (a command-line argument that is not UTF-8) are
read as UTF-8 or else Latin-1, other lone surrogates and control characters are spaces.

The cost of a search is bounded by the query's shape, not by luck (a query box is open to
anyone, and search-as-you-type runs every keystroke of a paste):

* repeated terms count once (``dog dog``, ``dog OR dog``, ``Dog dog``);
* only the first ``MAX_QUERY_CHARS`` characters are read;
* at most ``MAX_WORDS`` words are searched, counting each word of a phrase and each
  exclusion (every word is one more list of rows for FTS5 to read);
* at most ``MAX_PREFIXES`` terms are prefixes; later ones are searched as whole words;
* short prefixes (1-3 letters, what search-as-you-type sends first) are answered from
  FTS5's prefix index (migration 0004) instead of merging every word they start.

When any of these shortened the query, :attr:`FtsQuery.notes` says so in words, for the
CLI and the window to show.
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
    return name is not None and (name == FTS_TABLE or name.startswith(FTS_TABLE + "_"))


MAX_QUERY_CHARS = 1000
MAX_WORDS = 16
MAX_PREFIXES = 4


@dataclass(frozen=True)
class FtsQuery:
    """``match``: FTS5 expression the rows must match (None: no positive terms).
    ``exclude``: FTS5 expression the rows must not match (None: nothing excluded).
    ``notes``: how the query was shortened to keep it cheap, in words for people (usually empty)."""

    match: str | None
    exclude: str | None
    notes: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        return self.match is None and self.exclude is None


# a term: optional '-', then a quoted phrase (maybe unterminated) or a bare word; optional '*'
_TERM = re.compile(r'(-?)(?:"([^"]*)"?|([^\s"]+))(\*?)')
_ESCAPED_BYTES = re.compile("[\udc80-\udcff]+")
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")  # control characters, lone surrogates
_TOKENS = re.compile(r"[^\W_]+")  # what the tokenizer makes words of, roughly


def _bytes_as_text(m: re.Match[str]) -> str:
    raw = bytes(ord(ch) - 0xDC00 for ch in m.group())
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")  # a Latin-1 terminal or file name: "caf\xe9" is "café"


def clean_text(text: str) -> str:
    """Any ``str`` as text SQLite and FTS5 accept: never raises (see the module doc)."""
    text = _ESCAPED_BYTES.sub(_bytes_as_text, text)
    return _UNSAFE.sub(" ", text)


def _has_token_char(text: str) -> bool:
    return any(ch.isalnum() for ch in text)


def _quote(text: str, prefix: bool) -> str:
    return '"' + text.replace('"', '""') + '"' + (" *" if prefix else "")


_Term = tuple[str, bool]  # (text, prefix)


def _key(term: _Term) -> _Term:
    return term[0].lower(), term[1]  # the index folds case


class _Budget:
    """What a query may still cost; remembers what had to go."""

    def __init__(self) -> None:
        self.words, self.prefixes = MAX_WORDS, MAX_PREFIXES
        self.dropped_words = self.unprefixed = False

    def take(self, term: _Term) -> _Term | None:
        """The term to search for, maybe shortened; None when no words are left."""
        text, prefix = term
        words = _TOKENS.findall(text) or [text]
        if self.words <= 0:
            self.dropped_words = True
            return None
        if len(words) > self.words:
            text, prefix, self.dropped_words = " ".join(words[: self.words]), False, True
            words = words[: self.words]
        self.words -= len(words)
        if prefix and self.prefixes <= 0:
            prefix, self.unprefixed = False, True
        elif prefix:
            self.prefixes -= 1
        return text, prefix

    def notes(self) -> list[str]:
        out = []
        if self.dropped_words:
            out.append(f"Only the first {MAX_WORDS} words of the search were used.")
        if self.unprefixed:
            out.append(
                f"Only the first {MAX_PREFIXES} words ending in * were searched as beginnings of words; "
                "the others as whole words."
            )
        return out


def _terms(text: str) -> tuple[list[list[_Term]], list[_Term]]:
    """The query's OR-groups (all must match) and excluded terms, each without repeats."""
    groups: list[list[_Term]] = []
    excluded: list[_Term] = []
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
        term = (" ".join(raw.split()), bool(star))
        into = excluded if neg else groups[-1] if pending_or and groups else None
        if into is None:
            groups.append([term])
        elif _key(term) not in map(_key, into):
            into.append(term)
        pending_or = False
    unique: dict[frozenset[_Term], list[_Term]] = {}
    for group in groups:
        unique.setdefault(frozenset(map(_key, group)), group)
    return list(unique.values()), excluded


def parse_query(text: str) -> FtsQuery:
    """Turn whatever the user typed into a safe :class:`FtsQuery` (never raises, bounded cost)."""
    text = clean_text(text or "")
    notes = []
    if len(text) > MAX_QUERY_CHARS:
        text = text[:MAX_QUERY_CHARS]
        notes.append(f"Only the first {MAX_QUERY_CHARS:,} characters of the search were used.")
    groups, excluded = _terms(text)
    budget = _Budget()
    kept_groups = []
    for group in groups:
        kept = [t for t in map(budget.take, group) if t is not None]
        if kept:
            kept_groups.append(" OR ".join(_quote(*t) for t in kept))
            kept_groups[-1] = f"({kept_groups[-1]})" if len(kept) > 1 else kept_groups[-1]
    kept_excluded = [_quote(*t) for t in map(budget.take, excluded) if t is not None]
    match = " AND ".join(kept_groups) or None
    exclude = " OR ".join(kept_excluded) or None
    return FtsQuery(match, exclude, tuple(notes + budget.notes()))


# the words schema.FACETS_SQL writes, besides "f12", "y2015" and "m201503"
_FACET_WORDS = ("review", "stok", "stmissing", "sterror", "srcuser", "srcmodel", "srctags", "srcimported", "srcnone")
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
