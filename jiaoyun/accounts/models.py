"""Users, the roles they hold, external systems with API tokens, and the audit log."""

from __future__ import annotations

import hashlib
import secrets

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _


class User(AbstractUser):
    """A person who signs in. What they may see comes from their role grants and from the
    register records linked to them (Teacher.user, Student.user, Guardian.user)."""

    display_name = models.CharField(_("display name"), max_length=50, blank=True)

    def __str__(self) -> str:
        return self.display_name or self.username


class Role(models.TextChoices):
    DISTRICT_ADMIN = "district_admin", _("District administrator")
    DISTRICT_STAFF = "district_staff", _("District staff")
    SCHOOL_ADMIN = "school_admin", _("School administrator")
    TEACHER = "teacher", _("Teacher")
    STUDENT = "student", _("Student")
    PARENT = "parent", _("Parent")


class RoleGrant(models.Model):
    """A role held by a user. District roles have no school; a school administrator's
    grant names the school. Teacher, student and parent roles take their reach from the
    register records linked to the user."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="grants")
    role = models.CharField(_("role"), max_length=20, choices=Role.choices)
    school = models.ForeignKey("core.School", on_delete=models.CASCADE, null=True, blank=True)

    class Meta:
        verbose_name = _("role grant")
        constraints = [
            models.UniqueConstraint(fields=["user", "role", "school"], name="grant_unique"),
            models.UniqueConstraint(
                fields=["user", "role"],
                condition=models.Q(school__isnull=True),
                name="grant_unique_no_school",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} {self.get_role_display()}"


class ExternalSystem(models.Model):
    """Another government system that reads or writes the register through the API, with
    its own scope: the whole district, or one school."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    school = models.ForeignKey(
        "core.School",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        help_text=_("Leave empty for the whole district"),
    )
    can_write = models.BooleanField(_("may write"), default=False)
    may_unmask = models.BooleanField(_("may read unmasked personal data"), default=False)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("external system")

    def __str__(self) -> str:
        return self.name


class ApiToken(models.Model):
    """A bearer token of an external system. Only a hash is stored; the key is shown once."""

    system = models.ForeignKey(ExternalSystem, on_delete=models.CASCADE, related_name="tokens")
    prefix = models.CharField(max_length=8, db_index=True)
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked = models.BooleanField(default=False)

    @staticmethod
    def hash_key(key: str) -> str:
        return hashlib.sha256(key.encode()).hexdigest()

    @classmethod
    def issue(cls, system: ExternalSystem) -> tuple[ApiToken, str]:
        key = "jy_" + secrets.token_urlsafe(32)
        token = cls.objects.create(system=system, prefix=key[:8], key_hash=cls.hash_key(key))
        return token, key


class AuditEvent(models.Model):
    """Who saw or took what personal data, and when."""

    class Action(models.TextChoices):
        UNMASK = "unmask", _("Viewed unmasked personal data")
        EXPORT = "export", _("Exported data")
        IMPORT = "import", _("Imported data")
        API_READ = "api_read", _("Read personal data through the API")
        API_WRITE = "api_write", _("Wrote through the API")
        LOGIN_FAILED = "login_failed", _("Failed login")

    at = models.DateTimeField(auto_now_add=True, db_index=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True)
    system = models.ForeignKey(ExternalSystem, on_delete=models.SET_NULL, null=True, blank=True)
    action = models.CharField(_("action"), max_length=16, choices=Action.choices)
    target = models.CharField(_("target"), max_length=200)
    detail = models.JSONField(default=dict, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        verbose_name = _("audit event")
        ordering = ["-at"]


class LoginAttempt(models.Model):
    """Failed logins, counted per username and per address for rate limiting."""

    at = models.DateTimeField(auto_now_add=True, db_index=True)
    username = models.CharField(max_length=150, db_index=True)
    ip = models.GenericIPAddressField(null=True, blank=True, db_index=True)
