"""A few hundred fuzzed queries against a real library: search never raises, whatever is typed.

The alphabet leans on what the FTS5 query language treats specially (quotes, stars,
minus, parentheses, colons, carets, NEAR/AND/OR/NOT), plus NUL, emoji, accents and lone
surrogates (a query from a command line with bytes that are not UTF-8).
"""

from __future__ import annotations

import datetime as _dt

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from photocap.ingest import scan
from photocap.library import PhotoFilter, open_library
from photocap.library.fts import parse_query
from tests.hostile.corpus import encoded, photo

pytestmark = pytest.mark.timeout(600)

SPECIAL = [
    *list("abcdeé🐈 \"'*-+()^:{}[]\\/.,;!?\x00\t\n"),
    "�",
    "�",
    "OR",
    "AND",
    "NOT",
    "NEAR",
    "NEAR(",
    "caption:",
    "dog",
    "boat",
    "--",
    "**",
    '""',
]
QUERIES = st.one_of(
    st.lists(st.sampled_from(SPECIAL), max_size=25).map("".join),
    st.text(max_size=60),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=40),
    st.lists(st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF) | st.sampled_from(SPECIAL), max_size=12).map(
        "".join
    ),
)
FILTERS = st.builds(
    PhotoFilter,
    sources=st.none() | st.sampled_from([("user",), ("tags", "model"), ("none",)]),
    needs_review=st.sampled_from([None, True]),
    taken_from=st.none() | st.dates(min_value=_dt.date(1900, 1, 1), max_value=_dt.date(2100, 1, 1)),
    include_missing=st.booleans(),
)


@pytest.fixture(scope="module")
def library(tmp_path_factory):
    root = tmp_path_factory.mktemp("fuzz")
    folder = root / "Pictures"
    folder.mkdir()
    for i in range(12):
        (folder / f"boat_{i}.jpg").write_bytes(encoded(photo(i), "JPEG"))
    with open_library(root / "library.sqlite") as lib:
        scan(lib, lib.add_folder(folder).id)
        for n, pid in enumerate(lib.list_photo_ids()):
            if n % 2:
                lib.set_user_caption(pid, f"a dog on the boat number {n}")
            else:
                lib.record_caption(pid, f"a cat near the sea {n}", "tags", "tags:x", tags=[("cat", 0.9)])
        yield lib


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(query=QUERIES, filters=FILTERS | st.none())
def test_search_never_raises(library, query, filters):
    hits = library.search(query, filters, limit=10)
    assert isinstance(hits, list) and all(h.photo_id > 0 for h in hits)
    parse_query(query)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(query=QUERIES)
def test_search_with_paging_never_raises(library, query):
    assert isinstance(library.search(query, limit=3, offset=2), list)
