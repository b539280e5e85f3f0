"""The api_token command: a token it prints opens the API with the system's scope, and a
revoked one does not."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command

from jiaoyun.accounts.models import ApiToken, ExternalSystem
from jiaoyun.core.models import Student

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    out = io.StringIO()
    call_command("api_token", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue().strip()


def test_create_prints_a_working_scoped_token_once(demo, client):
    key = run("create", "学籍系统", "--school", demo.school_a.code, "--write")
    system = ExternalSystem.objects.get(name="学籍系统")
    assert (system.school, system.can_write, system.may_unmask) == (demo.school_a, True, False)
    token = system.tokens.get()
    assert (token.prefix, token.key_hash) == (key[:8], ApiToken.hash_key(key))
    assert key not in str(ApiToken.objects.values_list())

    response = client.get("/api/register/students", {"limit": 1}, HTTP_AUTHORIZATION=f"Bearer {key}")
    assert response.json()["count"] == Student.objects.filter(school=demo.school_a).count()

    second = run("issue", "学籍系统")
    assert second != key and system.tokens.count() == 2
    assert run("revoke", "学籍系统", "--prefix", key[:8]) == "Revoked 1 token(s) of 学籍系统."
    assert client.get("/api/register/students", HTTP_AUTHORIZATION=f"Bearer {key}").status_code == 401
    assert client.get("/api/register/students", HTTP_AUTHORIZATION=f"Bearer {second}").status_code == 200
    assert run("revoke", "学籍系统") == "Revoked 1 token(s) of 学籍系统."
    assert client.get("/api/register/students", HTTP_AUTHORIZATION=f"Bearer {second}").status_code == 401
    listing = run("list").splitlines()
    assert listing[0] == f"学籍系统\t{demo.school_a.code}\twrite"
    assert [line.split("\t")[1] for line in listing[1:]] == ["revoked", "revoked"]


def test_command_errors(demo):
    run("create", "人事系统")
    with pytest.raises(CommandError, match="exists already"):
        run("create", "人事系统")
    with pytest.raises(CommandError, match="No school has the code"):
        run("create", "其他系统", "--school", "0000")
    with pytest.raises(CommandError, match="No external system"):
        run("issue", "无此系统")
    with pytest.raises(CommandError, match="no live token"):
        run("revoke", "人事系统", "--prefix", "jy_zzzzz")
    assert not ExternalSystem.objects.filter(name="其他系统").exists()
