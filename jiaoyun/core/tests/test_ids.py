"""Keys that arrive from outside: `row_id` and the `<id:...>` URL converter. A key beyond a
bigint, or digits Python's `int()` refuses (superscripts), must be refused or ignored,
never reach the database or an Arrow filter and answer 500."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from hypothesis import given
from hypothesis import strategies as st

from jiaoyun.core.ids import MAX_ROW_ID, row_id

BEYOND = str(MAX_ROW_ID + 1)


@given(st.one_of(st.text(max_size=25), st.integers(), st.floats(), st.booleans(), st.none()))
def test_row_id_is_a_key_or_none(value: Any) -> None:
    key = row_id(value)
    if key is not None:
        assert type(key) is int and 0 < key <= MAX_ROW_ID
        assert str(key) == (value.lstrip("0") if isinstance(value, str) else str(value))


@pytest.mark.parametrize("value", ["1", "0042", 7, MAX_ROW_ID, str(MAX_ROW_ID)])
def test_row_id_takes_keys(value: Any) -> None:
    assert row_id(value) == int(value)


@pytest.mark.parametrize(
    "value", ["", "0", "-1", "²", "１２", "1.0", " 1", BEYOND, MAX_ROW_ID + 1, True, 1.0, None]
)
def test_row_id_refuses_what_cannot_be_a_key(value: Any) -> None:
    assert row_id(value) is None


def _routes(patterns: list[Any], prefix: str = "") -> list[str]:
    routes = []
    for entry in patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            routes += _routes(entry.url_patterns, route)
        elif isinstance(entry, URLPattern):
            routes.append(route)
    return routes


ID_ROUTES = [route for route in _routes(get_resolver().url_patterns) if "<id:" in route]


def _path(route: str, key: str) -> str:
    path = re.sub(r"<id:\w+>", key, route)
    return "/" + re.sub(r"<\w+:\w+>", "x", path).lstrip("^").rstrip("$")


def test_every_key_in_a_url_is_an_id() -> None:
    """No route takes a key with Django's `<int:...>`, which matches any run of digits."""
    assert len(ID_ROUTES) > 50
    assert not [route for route in _routes(get_resolver().url_patterns) if "<int:" in route]


@pytest.mark.django_db
@pytest.mark.parametrize("route", ID_ROUTES)
def test_a_key_beyond_a_bigint_finds_nothing(demo: Any, route: str) -> None:
    client = demo.client("district_admin")
    assert client.get(_path(route, BEYOND)).status_code == 404
    assert client.get(_path(route, "1" * 40)).status_code == 404
    assert client.get(_path(route, str(MAX_ROW_ID))).status_code in (302, 403, 404, 405)


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["/exchange/imports/?school={}", "/exchange/imports/new/?school={}"])
@pytest.mark.parametrize("school", [BEYOND, "1" * 40, "²", "-1", "abc"])
def test_a_school_parameter_that_is_no_key_is_ignored(demo: Any, url: str, school: str) -> None:
    assert demo.client("district_admin").get(url.format(school)).status_code == 200
