"""Who is signed in, read from the session cookie in plain statements: for the hot paths
where thousands of devices arrive within seconds (the electives rush endpoint, live
classroom handshakes).

Django's own path (`request.user`, `django.contrib.auth.get_user`) is two ORM queries, the
session row and then the user, about 1.5 ms of CPU per request between them. Here the session
row is one plain statement (`session_claim`), and the caller reads the user's password hash
and active flag in the same statement as whatever else it needs (the student, the live
session), then checks them with `user_matches`, exactly as `get_user` checks them: the session
not expired, its backend still configured, the user active, the session's hash that of the
user's password with the secret key or one of its fallbacks.

This holds for the project's configuration (database sessions, ModelBackend). For any other
session engine, or a session signed in through another backend, `session_claim` answers
`GENERAL` and the caller takes Django's path. Unlike `get_user`, a session whose hash does not
match is refused here but not flushed: the next page the device loads flushes it.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any, Final, Literal

from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model
from django.core.exceptions import ValidationError
from django.db import connection
from django.utils import timezone
from django.utils.crypto import constant_time_compare

DB_SESSIONS: Final = "django.contrib.sessions.backends.db"
MODEL_BACKEND: Final = "django.contrib.auth.backends.ModelBackend"
# "Ask Django": a configuration or a session this module does not read itself.
GENERAL: Final = "general"


@dataclass(frozen=True, slots=True)
class SessionClaim:
    """Who a session says is signed in; believe it only after `user_matches`."""

    user_id: Any
    session_hash: str


def session_claim(key: str | None) -> SessionClaim | None | Literal["general"]:
    """The claim of the session whose cookie is `key`: None for no live session (nobody is
    signed in), `GENERAL` when Django's own path must decide."""
    if settings.SESSION_ENGINE != DB_SESSIONS or MODEL_BACKEND not in settings.AUTHENTICATION_BACKENDS:
        return GENERAL
    session = session_data(key)
    if session is None or SESSION_KEY not in session:
        return None
    if session.get(BACKEND_SESSION_KEY) != MODEL_BACKEND:
        return GENERAL
    try:
        user_id = get_user_model()._meta.pk.to_python(session[SESSION_KEY])  # type: ignore[union-attr]
    except ValidationError:
        return None
    return SessionClaim(user_id=user_id, session_hash=session.get(HASH_SESSION_KEY) or "")


def session_data(key: str | None) -> dict[str, Any] | None:
    """What `SessionStore(key).load()` of the database engine returns, in one statement
    without the ORM; None for a missing, malformed or expired session."""
    from django.contrib.sessions.backends.db import SessionStore

    store = SessionStore(key)  # refuses a malformed key
    if store.session_key is None:
        return None
    with connection.cursor() as cursor:
        cursor.execute(
            _session_sql(), [store.session_key, connection.ops.adapt_datetimefield_value(timezone.now())]
        )
        row = cursor.fetchone()
    return store.decode(row[0]) if row else None


def user_matches(claim: SessionClaim, *, password: str, is_active: bool) -> bool:
    """Whether the claimed user, whose password hash and active flag the caller read, is
    signed in by this session (`ModelBackend.user_can_authenticate` and the session hash)."""
    if not is_active or not claim.session_hash:
        return False
    user = get_user_model()(pk=claim.user_id, password=password)
    wanted = claim.session_hash
    return constant_time_compare(wanted, user.get_session_auth_hash()) or any(
        constant_time_compare(wanted, fallback) for fallback in user.get_session_auth_fallback_hash()
    )


@functools.cache
def _session_sql() -> str:
    from django.contrib.sessions.models import Session

    quote = connection.ops.quote_name
    return (
        f"SELECT {quote('session_data')} FROM {quote(Session._meta.db_table)} "
        f"WHERE {quote('session_key')} = %s AND {quote('expire_date')} > %s"
    )
