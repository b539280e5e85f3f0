"""The value parsers on their own: what schools type, and what they must not."""

from __future__ import annotations

import datetime as dt

import pytest

from jiaoyun.exchange.values import (
    GENDERS,
    BadValue,
    chinese_number,
    number_lost_digits,
    parse_choice,
    parse_class_number,
    parse_date,
    parse_phone,
    parse_year,
    text,
)


@pytest.mark.parametrize(
    "raw",
    [
        "2012-09-01", "2012/9/1", "2012.9.1", "2012年9月1日", "20120901", "2012-9-1 00:00:00", " 2012-09-01 ",
        "２０１２－０９－０１", 41153, 41153.0, "41153", dt.date(2012, 9, 1), dt.datetime(2012, 9, 1, 8, 30),
        41153.75,
    ],
)  # fmt: skip
def test_dates_in_every_common_form(raw):
    assert parse_date(raw) == dt.date(2012, 9, 1)


@pytest.mark.parametrize(
    ("raw", "code"),
    [("2012-13-01", "impossible_date"), ("20120230", "impossible_date"), ("next monday", "bad_date"),
     ("2012-09", "bad_date"), (12, "bad_date"), ("99999999", "impossible_date"), (3_000_000, "bad_date")],
)  # fmt: skip
def test_bad_dates(raw, code):
    with pytest.raises(BadValue) as caught:
        parse_date(raw)
    assert caught.value.code == code


def test_years():
    assert [
        parse_year(v) for v in ("2023", "2023年", "2023级", 2023.0, "2023-09-01", dt.date(2023, 9, 1))
    ] == [2023] * 6
    with pytest.raises(BadValue) as caught:
        parse_year("1900")
    assert caught.value.code == "year_out_of_range"
    with pytest.raises(BadValue) as caught:
        parse_year("明年")
    assert caught.value.code == "bad_year"


@pytest.mark.parametrize(
    ("raw", "number"),
    [("3", 3), ("03", 3), (3.0, 3), ("3班", 3), ("(3)班", 3), ("（3）班", 3), ("七年级(3)班", 3), ("初一3班", 3),
     ("三班", 3), ("十二班", 12), ("Class 3", 3), ("２班", 2)],
)  # fmt: skip
def test_class_numbers(raw, number):
    assert parse_class_number(raw) == number


@pytest.mark.parametrize("raw", ["甲班", "0", "100", "班", "3.5"])
def test_bad_class_numbers(raw):
    with pytest.raises(BadValue):
        parse_class_number(raw)


def test_chinese_numbers():
    assert [chinese_number(v) for v in ("一", "十", "十一", "二十", "二十三", "九十九")] == [
        1,
        10,
        11,
        20,
        23,
        99,
    ]
    assert chinese_number("一百") is None and chinese_number("") is None


@pytest.mark.parametrize(
    ("raw", "phone"),
    [("13800138000", "13800138000"), (13800138000.0, "13800138000"), ("138 0013 8000", "13800138000"),
     ("+86 138-0013-8000", "13800138000"), ("020-83001234", "020-83001234"), ("02083001234", "02083001234")],
)  # fmt: skip
def test_phones(raw, phone):
    assert parse_phone(raw) == phone


@pytest.mark.parametrize("raw", ["12800138000", "1380013800", "83001234", "phone"])
def test_bad_phones(raw):
    with pytest.raises(BadValue) as caught:
        parse_phone(raw)
    assert caught.value.code == "bad_phone"


def test_genders_and_choices():
    assert [parse_choice(v, GENDERS) for v in ("男", " 女 ", "M", "female", "1", "2", 1.0)] == [
        "male", "female", "male", "female", "male", "female", "male",
    ]  # fmt: skip
    with pytest.raises(BadValue) as caught:
        parse_choice("未知", GENDERS)
    assert caught.value.code == "bad_choice"


def test_text_of_cells():
    assert text(None) == "" and text(3.0) == "3" and text(2.5) == "2.5" and text(" ａ１ ") == "a1"
    assert text(dt.datetime(2012, 9, 1)) == "2012-09-01"


def test_numbers_that_lost_digits():
    assert number_lost_digits(4.40104201209010e17, length=18)
    assert not number_lost_digits("440104201209010012", length=18)
    assert not number_lost_digits(13800138000.0, length=18)
