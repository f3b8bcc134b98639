"""Unit tests for include.firestore_to_mongo.util.quoting: values and free text kept short in messages."""

from __future__ import annotations

import pytest

from include.firestore_to_mongo.util.quoting import quote, shorten

# --- quote ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "limit", "expected"),
    [
        # Short enough: the plain repr.
        pytest.param("abc", 200, "'abc'", id="short-string"),
        pytest.param("", 200, "''", id="empty-string"),
        pytest.param("it's", 200, '"it\'s"', id="quote-inside"),
        pytest.param(5, 200, "5", id="int"),
        pytest.param(None, 200, "None", id="none"),
        pytest.param({"a": 1}, 200, "{'a': 1}", id="dict"),
        pytest.param("abc", 5, "'abc'", id="repr-exactly-at-limit"),
        # Longer: the first `limit` characters of the repr, then the length of the string...
        pytest.param("abcdef", 5, "'abcd… (6 characters)", id="string-cut"),
        pytest.param("abcd", 5, "'abcd… (4 characters)", id="string-cut-by-its-quotes"),
        pytest.param("a\nb", 4, "'a\\n… (3 characters)", id="escapes-count-in-repr-not-in-length"),
        pytest.param("x" * 900_000, 10, "'xxxxxxxxx… (900000 characters)", id="900-kb-string"),
        pytest.param("x" * 300, 0, "… (300 characters)", id="limit-zero"),
        # ...or, for anything else, the length of the whole repr.
        pytest.param(list(range(10)), 10, "[0, 1, 2, … (30 characters)", id="list-cut"),
        pytest.param(b"y" * 300, 5, "b'yyy… (303 characters)", id="bytes-cut"),
    ],
)
def test_quote(value: object, limit: int, expected: str) -> None:
    assert quote(value, limit) == expected


def test_quote_default_limit_is_200() -> None:
    assert quote("x" * 198) == repr("x" * 198)
    assert quote("x" * 199) == "'" + "x" * 199 + "… (199 characters)"


class _NoFullRepr(str):
    """A string whose own repr fails: quote must only ever repr a slice of it."""

    __slots__ = ()

    def __repr__(self) -> str:
        raise AssertionError("repr of the whole string")


def test_quote_never_builds_the_repr_of_the_whole_string() -> None:
    assert quote(_NoFullRepr("z" * 900_000), 8) == "'zzzzzzz… (900000 characters)"
    assert quote(_NoFullRepr("short")) == "'short'"


# --- shorten -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "limit", "expected"),
    [
        pytest.param("", 500, "", id="empty"),
        pytest.param("day is out of range", 500, "day is out of range", id="short"),
        pytest.param("abc", 3, "abc", id="exactly-at-limit"),
        pytest.param("abcdef", 3, "abc… (6 characters)", id="cut"),
        pytest.param("a\nb\nc", 3, "a\nb… (5 characters)", id="free-text-not-escaped"),
        pytest.param("x" * 900_000, 4, "xxxx… (900000 characters)", id="900-kb"),
    ],
)
def test_shorten(text: str, limit: int, expected: str) -> None:
    assert shorten(text, limit) == expected


def test_shorten_default_limit_is_500() -> None:
    assert shorten("x" * 500) == "x" * 500
    assert shorten("x" * 501) == "x" * 500 + "… (501 characters)"
