"""Shared test fixtures: one tiny demo district (the demo generator at TINY scale) built
once per test database, and a handle on its schools and demo users."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import pytest
from django.conf import settings
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings

# Hashing demo passwords with PBKDF2 would cost seconds per test database.
settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}

hypothesis_settings.register_profile(
    "ci", deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True
)
hypothesis_settings.register_profile("dev", deadline=None)
hypothesis_settings.load_profile("ci" if os.environ.get("CI") else "dev")

DEMO_SEED = 1


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup: Any, django_db_blocker: Any) -> None:
    from jiaoyun.core.demo import TINY, build_district
    from jiaoyun.core.models import District

    with django_db_blocker.unblock():
        if not District.objects.exists():
            build_district(seed=DEMO_SEED, scale=TINY)


@dataclass
class Demo:
    """The tiny district: schools A and B are two junior schools, each with a school
    administrator, a head teacher, one of that teacher's students and that student's
    parent as demo users (usernames with the suffix `_b` belong to school B)."""

    users: dict[str, Any]
    school_a: Any
    school_b: Any

    def user(self, name: str) -> Any:
        return self.users[name]

    def client(self, name: str) -> Any:
        from django.test import Client

        client = Client()
        client.force_login(self.users[name])
        return client


@pytest.fixture
def demo(db: Any) -> Demo:
    from django.contrib.auth import get_user_model

    from jiaoyun.core.demo import TINY, build_district
    from jiaoyun.core.models import District

    if not District.objects.exists():  # a transactional test flushed the database
        build_district(seed=DEMO_SEED, scale=TINY)
    users = {u.username: u for u in get_user_model().objects.all()}
    school_a = users["school_admin"].grants.get().school
    school_b = users["school_admin_b"].grants.get().school
    return Demo(users=users, school_a=school_a, school_b=school_b)
