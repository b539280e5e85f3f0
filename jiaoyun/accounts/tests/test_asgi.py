"""The site as it is served in production, through Django's ASGI handler: the viewer's
scope (`request.viewer`) must not collide with the ASGI `request.scope` dict."""

from __future__ import annotations

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from django.test import AsyncClient

from jiaoyun.core.demo import DEMO_PASSWORD

pytestmark = pytest.mark.django_db(transaction=True)


def test_login_and_pages_through_the_asgi_handler(demo):
    async_to_sync(_scenario)(demo.school_b.pk)


async def _scenario(school_b: int) -> None:
    client = AsyncClient(enforce_csrf_checks=True)
    page = await client.get("/accounts/login/")
    assert page.status_code == 200
    token = page.cookies["csrftoken"].value
    response = await client.post(
        "/accounts/login/",
        {"username": "school_admin", "password": DEMO_PASSWORD, "csrfmiddlewaretoken": token},
    )
    assert response.status_code == 302 and response["Location"] == "/"
    home = await client.get("/register/students/")
    assert home.status_code == 200
    assert (await client.get(f"/register/schools/{school_b}/")).status_code == 404
    count = await sync_to_async(lambda: home.context["page"].paginator.count)()
    assert count > 0
