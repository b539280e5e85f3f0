from urllib.parse import urlencode

from django import template

register = template.Library()


@register.simple_tag
def sort_query(params: dict[str, str], key: str, current: str) -> str:
    """The query string that sorts by `key`, descending when it is already ascending."""
    direction = f"-{key}" if current == key else key
    return urlencode({**params, "sort": direction})
