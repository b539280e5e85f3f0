"""Signing in and out, the login rate limit, and the language of the login page."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from jiaoyun.accounts.models import AuditEvent, LoginAttempt

pytestmark = pytest.mark.django_db

PASSWORD = "jiaoyun-demo"
LOGIN = "/accounts/login/"


def post_login(client: Client, username: str, password: str, **extra: str) -> object:
    return client.post(LOGIN, {"username": username, "password": password, **extra})


@pytest.mark.parametrize(
    "username", ["district_admin", "district_staff", "school_admin", "teacher", "student", "parent"]
)
def test_every_role_signs_in_and_lands_on_home(demo, username):
    client = Client()
    response = post_login(client, username, PASSWORD)
    assert response.status_code == 302 and response["Location"] == "/"
    home = client.get("/")
    assert home.status_code == 200
    assert str(demo.user(username)) in home.content.decode()


def test_wrong_password_is_refused_counted_and_audited(demo):
    client = Client()
    response = post_login(client, "teacher", "wrong")
    assert response.status_code == 400
    assert "用户名或密码错误" in response.content.decode()
    assert "_auth_user_id" not in client.session
    assert list(LoginAttempt.objects.values_list("username", "ip")) == [("teacher", "127.0.0.1")]
    event = AuditEvent.objects.get()
    assert (event.action, event.target, event.user) == ("login_failed", "teacher", None)


def test_login_is_locked_after_the_limit_even_with_the_right_password(demo):
    limit = settings.LOGIN_RATE_LIMIT
    client = Client()
    for _ in range(limit):
        assert post_login(client, "Teacher", "wrong").status_code == 400
    locked = post_login(client, "teacher", PASSWORD)
    assert locked.status_code == 429
    assert "登录失败次数过多" in locked.content.decode()
    assert "_auth_user_id" not in client.session
    # A locked attempt is not counted again, and other accounts are not locked by it.
    assert LoginAttempt.objects.count() == limit
    assert post_login(Client(), "school_admin", PASSWORD).status_code == 302


def test_one_address_is_locked_after_trying_many_usernames(demo):
    limit = settings.LOGIN_RATE_LIMIT
    client = Client()
    for i in range(limit * 4):
        assert post_login(client, f"guess{i}", "wrong").status_code == 400
    assert post_login(client, "teacher", PASSWORD).status_code == 429
    # The same user from another address is not locked.
    assert post_login(Client(REMOTE_ADDR="10.0.0.9"), "teacher", PASSWORD).status_code == 302


def test_a_successful_login_clears_the_failures(demo):
    client = Client()
    for _ in range(settings.LOGIN_RATE_LIMIT - 1):
        post_login(client, "teacher", "wrong")
    assert post_login(client, "teacher", PASSWORD).status_code == 302
    assert LoginAttempt.objects.filter(username="teacher").count() == 0


def test_next_is_followed_only_within_the_site(demo):
    target = reverse("core:school_list")
    response = post_login(Client(), "district_admin", PASSWORD, next=target)
    assert response["Location"] == target
    response = post_login(Client(), "district_admin", PASSWORD, next="https://evil.example/")
    assert response["Location"] == "/"
    # The page a visitor was sent from survives a mistyped password.
    client = Client()
    form = client.get(LOGIN + "?next=" + target).content.decode()
    assert f'name="next" value="{target}"' in form
    retry = post_login(client, "district_admin", "wrong", next=target).content.decode()
    assert f'name="next" value="{target}"' in retry


def test_long_usernames_are_refused_cleanly(demo):
    assert post_login(Client(), "x" * 500, "wrong").status_code == 400


def test_sign_out_needs_a_post(demo):
    client = demo.client("teacher")
    assert client.get("/accounts/logout/").status_code == 405
    response = client.post("/accounts/logout/")
    assert response.status_code == 302 and response["Location"] == LOGIN
    assert client.get("/").status_code == 302


def test_login_page_speaks_chinese_by_default_and_english_when_asked(demo):
    body = Client().get(LOGIN).content.decode()
    assert "登录" in body and "用户名" in body and "教云" in body
    body = Client().get(LOGIN, headers={"Accept-Language": "en"}).content.decode()
    assert "Sign in" in body and "Username" in body
    client = Client()
    client.post(reverse("set_language"), {"language": "en", "next": LOGIN})
    assert "Password" in client.get(LOGIN).content.decode()


def test_a_signed_in_user_is_sent_home_from_the_login_page(demo):
    response = demo.client("parent").get(LOGIN)
    assert response.status_code == 302 and response["Location"] == "/"
