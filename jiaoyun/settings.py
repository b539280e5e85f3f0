"""Jiaoyun settings: one module, every knob from the environment (JIAOYUN_*).

Defaults are embedded and make `make run` work with nothing configured: an SQLite file
under var/, the lake under var/lake/, the in-memory channel layer and the database task
backend.
"""

from __future__ import annotations

import os
from pathlib import Path

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("JIAOYUN_VAR_DIR", BASE_DIR / "var"))


def env(name: str, default: str = "") -> str:
    return os.environ.get(f"JIAOYUN_{name}", default)


def env_bool(name: str, default: bool = False) -> bool:
    raw = env(name)
    if not raw:
        return default
    return raw.lower() in {"1", "true", "yes", "on"}


DEBUG = env_bool("DEBUG", False)
SECRET_KEY = env("SECRET_KEY", "insecure-dev-key-change-me-in-production-0123456789abcdef")
ALLOWED_HOSTS = [h for h in env("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver").split(",") if h]
CSRF_TRUSTED_ORIGINS = [o for o in env("CSRF_TRUSTED_ORIGINS", "").split(",") if o]

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_tasks_db",
    "channels",
    "jiaoyun.core",
    "jiaoyun.accounts",
    "jiaoyun.exchange",
    "jiaoyun.assessment",
    "jiaoyun.admissions",
    "jiaoyun.dashboard",
    "jiaoyun.electives",
    "jiaoyun.classroom",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "jiaoyun.accounts.middleware.ScopeMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "jiaoyun.urls"
WSGI_APPLICATION = None
ASGI_APPLICATION = "jiaoyun.asgi.application"
# Threads per server process that run requests (`jiaoyun.serving`); each holds at most one
# database connection.
ASGI_THREADS = int(env("THREADS", "8"))
# Requests one keep-alive HTTP connection carries before the answer asks the client to
# reconnect (`jiaoyun.serving`; 0: never). The server's processes share connections as they
# accept them, and a whole school connecting at once can leave one process with most of them.
KEEPALIVE_REQUESTS = int(env("KEEPALIVE_REQUESTS", "20"))

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "jiaoyun" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.template.context_processors.csp",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "jiaoyun.accounts.context_processors.navigation",
            ],
        },
    }
]

VAR_DIR.mkdir(parents=True, exist_ok=True)
DATABASES = {
    "default": dj_database_url.parse(
        env("DATABASE_URL", f"sqlite:///{VAR_DIR / 'jiaoyun.sqlite3'}"),
        conn_max_age=int(env("DB_CONN_MAX_AGE", "0")),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Server-side parameter binding: psycopg prepares a statement the fifth time a
    # connection runs it, and PostgreSQL then skips parsing and planning it. In the
    # registration-rush benchmark that took the server's CPU per request from 5.8 to 4.9 ms
    # and throughput from 168 to 231 requests/s. JIAOYUN_DB_SERVER_BINDING=0 turns it off.
    DATABASES["default"]["OPTIONS"] = {"server_side_binding": env_bool("DB_SERVER_BINDING", True)}
    if env_bool("DB_POOL"):
        # A pool per process instead of a kept connection per thread (JIAOYUN_DB_CONN_MAX_AGE,
        # which `scripts/serve` sets: its request threads are long-lived, `jiaoyun.serving`).
        DATABASES["default"]["CONN_MAX_AGE"] = 0
        DATABASES["default"]["OPTIONS"]["pool"] = {
            "min_size": 2,
            "max_size": int(env("DB_POOL_SIZE", "20")),
            "timeout": 10,
        }
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets readers proceed while a writer (an import, the task worker) holds the lock;
    # IMMEDIATE transactions take the write lock up front so concurrent writers queue
    # instead of failing with "database is locked" half-way through.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    DATABASES["default"]["TEST"] = {"NAME": env("TEST_SQLITE_NAME", "") or None}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "accounts:login"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
PASSWORD_HASHERS = (
    ["django.contrib.auth.hashers.MD5PasswordHasher"]
    if env_bool("FAST_PASSWORD_HASHER")
    else ["django.contrib.auth.hashers.PBKDF2PasswordHasher"]
)
# Login attempts allowed per username and per client address in the window below.
LOGIN_RATE_LIMIT = int(env("LOGIN_RATE_LIMIT", "5"))
LOGIN_RATE_WINDOW_SECONDS = int(env("LOGIN_RATE_WINDOW_SECONDS", "300"))

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "jiaoyun" / "locale"]
TIME_ZONE = env("TIME_ZONE", "Asia/Shanghai")
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)  # WhiteNoise warns on every request when it is missing
STATICFILES_DIRS = [BASE_DIR / "jiaoyun" / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True
MEDIA_ROOT = VAR_DIR / "media"
MEDIA_URL = "/media/"
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 50 * 1024 * 1024

# The lake: where Parquet facts live (any fsspec URL in production).
LAKE_URL = env("LAKE_URL", str(VAR_DIR / "lake"))
ANALYTICS_BACKEND = env("ANALYTICS_BACKEND", "duckdb")

TASKS = {
    "default": {
        "BACKEND": env("TASKS_BACKEND", "django_tasks_db.DatabaseBackend"),
    }
}

_redis_url = env("REDIS_URL")
if _redis_url and "socket_timeout" not in _redis_url:
    # redis-py's default 5 s read timeout equals channels-redis' 5 s blocking receive on an
    # idle channel, so idle consumers would crash with "Timeout reading"; and its pool of 100
    # connections refuses a classroom's burst of handshakes.
    _redis_url += ("&" if "?" in _redis_url else "?") + "socket_timeout=30&max_connections=2000"
CHANNEL_LAYERS = {
    "default": (
        # capacity: channels-redis silently drops past 100 queued messages per channel; a
        # district's classrooms asking at once overflow that (see docs/classroom.md).
        {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [_redis_url], "capacity": 2000},
        }
        if _redis_url
        else {"BACKEND": "channels.layers.InMemoryChannelLayer"}
    )
}

CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.db.DatabaseCache",
        "LOCATION": "jiaoyun_cache",
    }
}

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", False)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

from django.utils.csp import CSP  # noqa: E402

SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF, CSP.NONCE],
    "img-src": [CSP.SELF, "data:"],
    "connect-src": [CSP.SELF, "ws:", "wss:"],
    "frame-ancestors": [CSP.NONE],
    "form-action": [CSP.SELF],
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", "WARNING")},
}
