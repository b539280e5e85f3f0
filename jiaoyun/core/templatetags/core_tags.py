from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

from django import template

from jiaoyun.core.identity import mask_student_no

register = template.Library()


@register.simple_tag
def sort_query(params: Mapping[str, str], key: str, current: str) -> str:
    """The query string that sorts by `key`, descending when it is already ascending."""
    direction = f"-{key}" if current == key else key
    return urlencode({**params, "sort": direction})


@register.simple_tag
def query_with(params: Mapping[str, str], **changes: Any) -> str:
    """The list's query string with some parameters replaced (e.g. page=3)."""
    return urlencode({**params, **{k: v for k, v in changes.items() if v is not None}})


@register.filter
def sort_state(current: str, key: str) -> str:
    """'ascending', 'descending' or '' for a column header (the aria-sort value)."""
    if current == key:
        return "ascending"
    if current == f"-{key}":
        return "descending"
    return ""


@register.filter
def masked_student_no(value: str) -> str:
    """Lists and rosters show the ID number inside a national student number masked."""
    return mask_student_no(value)
