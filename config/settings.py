"""问政 Live settings: one file, driven by the environment (see README, "Configuration")."""

from __future__ import annotations

import ipaddress
import os
import secrets
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value else default


def env_list(name: str, default: list[str]) -> list[str]:
    value = os.environ.get(name)
    if not value:
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


DEBUG = env_bool("DEBUG", False)


def _local_secret_key() -> str:
    """A key made once for this checkout (not committed); production sets SECRET_KEY."""
    path = BASE_DIR / ".secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = env_str("SECRET_KEY") or _local_secret_key()

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

HTTPS = env_bool("HTTPS", not DEBUG)
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SECURE_SSL_REDIRECT = HTTPS and env_bool("SECURE_SSL_REDIRECT", True)
SECURE_HSTS_SECONDS = 31536000 if HTTPS else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS
SECURE_HSTS_PRELOAD = HTTPS
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
# A request body (forms, the REST API) larger than this is refused (files uploaded are not counted).
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("DATA_UPLOAD_MAX_MEMORY_SIZE", 2_621_440)

# Content-Security-Policy and Permissions-Policy on every response (core/security.py). Nothing of
# ours runs inline script or loads anything from another host, except the livestream, whose
# (HLS) address each hearing sets and is usually a CDN's. Inline style *attributes* stay allowed
# (style-src-attr): the server draws bars and meters as style="width: n%", and an attribute
# cannot load anything or select other elements; <style> elements are refused (style-src).
# connect-src gets ws:// and wss:// of the request's own host added (older Safari does not let
# 'self' match a WebSocket).
CONTENT_SECURITY_POLICY: dict[str, list[str]] = {
    "default-src": ["'self'"],
    "script-src": ["'self'"],
    "style-src": ["'self'"],
    "style-src-attr": ["'unsafe-inline'"],
    "img-src": ["'self'", "data:"],  # data: SVG icons in the admin's and the API docs' CSS
    "font-src": ["'self'"],
    "connect-src": ["'self'"],
    "media-src": ["'self'", "https:"] + ([] if HTTPS else ["http:"]),
    "object-src": ["'none'"],
    "frame-src": ["'none'"],
    "base-uri": ["'self'"],
    "form-action": ["'self'"],
    "frame-ancestors": ["'none'"],
}
PERMISSIONS_POLICY = (
    "camera=(), microphone=(), geolocation=(), payment=(), usb=(), serial=(), hid=(), "
    "display-capture=(), accelerometer=(), gyroscope=(), magnetometer=(), midi=(), fullscreen=(self)"
)

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "channels",
    "django_htmx",
    "hearings",
    "voting",
    "live",
    "chamber",
    "realtime",
    "console",
    "demo",
    "assignments",
    "projects",
    "audit",
    "reports",
    "office",
    "outbound",
    "audience",
    "axes",
    # Serves the API docs' Swagger UI from our static files (django-ninja's pinned copy), not a CDN.
    "ninja",
    # Django's Tasks API (the backport of what Django 6 ships) and its database backend: webhooks,
    # e-mail and reminders leave the process through `manage.py db_worker`. After our apps, so
    # chamber's db_worker (the worker plus the periodic schedule) is the one manage.py runs.
    "django_tasks",
    "django_tasks_db",
]

MIDDLEWARE = [
    # First: times the whole of every request (docs/metrics.md).
    "config.metrics.RequestMetricsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "core.security.SecurityHeadersMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # A tablet logged in by a seat code reaches its own hearing's tablet only (console/seat.py).
    "console.seat.SeatSessionMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Last: turns a locked-out login into its refusal (django-axes).
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "core.limits.context",
                "office.access.context",
            ],
        },
    },
]

# Database: SQLite (WAL) in the project by default, PostgreSQL through DATABASE_URL.
DATABASE_URL = env_str("DATABASE_URL")
if DATABASE_URL:
    DATABASES = {
        "default": dj_database_url.parse(
            # No per-request health check: it costs a round trip on every socket action.
            DATABASE_URL,
            conn_max_age=env_int("DB_CONN_MAX_AGE", 60),
            conn_health_checks=env_bool("DB_CONN_HEALTH_CHECKS", False),
        )
    }
    if env_str("DATABASE_TEST_NAME"):  # lets two test runs share one server
        DATABASES["default"]["TEST"] = {"NAME": env_str("DATABASE_TEST_NAME")}

# How long a SQLite write waits for the one writer's lock before `database is locked`.
SQLITE_BUSY_TIMEOUT_MS = env_int("SQLITE_BUSY_TIMEOUT_MS", 20_000)
if not DATABASE_URL:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": env_str("SQLITE_PATH", str(BASE_DIR / "db.sqlite3")),
            "OPTIONS": {
                # WAL lets readers run beside the one writer; IMMEDIATE makes a write
                # transaction take the lock up front (waiting up to the busy timeout for it)
                # instead of failing late; secure_delete zeroes what a write frees, so no
                # earlier version of a row (a secret poll's counts) lingers in the file.
                # Django runs each ;-separated statement of init_command.
                "init_command": (
                    "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA secure_delete=ON; "
                    f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS};"
                ),
                "transaction_mode": "IMMEDIATE",
            },
            # A file (threads and test servers share it), one per test process.
            "TEST": {"NAME": env_str("SQLITE_TEST_PATH", f"/tmp/wenzheng-test-{os.getpid()}.sqlite3")},
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Channel layer and cache: in-memory by default, Redis through REDIS_URL.
REDIS_URL = env_str("REDIS_URL")
REDIS_PREFIX = env_str("REDIS_PREFIX", "wenzheng")
if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {"hosts": [REDIS_URL], "prefix": REDIS_PREFIX},
        }
    }
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": REDIS_PREFIX,
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer", "CONFIG": {"capacity": 10_000}}}
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/"
# Client addresses (core/clientaddr.py): X-Forwarded-For is believed only from these proxies
# (addresses or CIDR networks, comma-separated); by default from none.
TRUSTED_PROXIES = env_list("TRUSTED_PROXIES", [])
for _proxy in TRUSTED_PROXIES:
    ipaddress.ip_network(_proxy, strict=False)  # a typo fails at start, not at the first request
# GET /metrics (docs/metrics.md): open to loopback clients; from elsewhere only with
# "Authorization: Bearer <METRICS_TOKEN>". Empty: loopback only (others get a 404).
METRICS_TOKEN = env_str("METRICS_TOKEN", "")

# Login attempts (django-axes, core/logins.py): after LOGIN_FAILURE_LIMIT wrong passwords for one
# username from one address, that pair is refused (429), right password or not, for the cool-off
# time; after LOGIN_ADDRESS_FAILURE_LIMIT wrong passwords from one address, whatever the
# usernames, that address is. A successful login clears its own pair's failures only.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_HANDLER = "core.logins.LoginLimitHandler"
AXES_CLIENT_IP_CALLABLE = "core.clientaddr.axes_client_ip"
AXES_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5)
LOGIN_ADDRESS_FAILURE_LIMIT = env_int("LOGIN_ADDRESS_FAILURE_LIMIT", 30)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("LOGIN_COOLOFF_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"], ["ip_address"]]  # the order core/logins.py reads
AXES_RESET_ON_SUCCESS = True
AXES_COOLOFF_MESSAGE = _("登录失败次数过多，已暂时锁定，请稍后再试。")
# Tablet seat logins (console/seat.py): a client address that tries this many seat codes that do
# not exist, were used or were revoked within a clock hour is refused (429) until the next hour.
SEAT_LOGIN_FAILURES_PER_HOUR = env_int("SEAT_LOGIN_FAILURES_PER_HOUR", 30)

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("简体中文")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
# Dates and numbers as each language writes them (config/formats/<locale>/formats.py, over Django's).
FORMAT_MODULE_PATH = "config.formats"
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(BASE_DIR / "media")))  # reply attachments
MEDIA_URL = "/media/"
EMAIL_BACKEND = env_str(
    "EMAIL_BACKEND",
    "django.core.mail.backends.console.EmailBackend" if DEBUG else "django.core.mail.backends.smtp.EmailBackend",
)
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "wenzheng@localhost")
# The site's address as mail links it ("https://wz.example.cn"); unset: the first ALLOWED_HOSTS.
SITE_URL = env_str("SITE_URL", "")
# The daily reminders (due soon, overdue, 回头看): the worker's schedule runs them at this local time.
REMINDERS_AT = env_str("REMINDERS_AT", "08:30")
# The nightly housekeeping (chamber/housekeeping.py): local time; finished tasks (which hold e-mail
# addresses and bodies) kept this many days; a task left running this long by a worker that died
# is run again (every task the worker runs is safe to repeat: webhook deliveries keep their id).
HOUSEKEEPING_AT = env_str("HOUSEKEEPING_AT", "03:30")
TASK_RESULTS_KEEP_DAYS = env_int("TASK_RESULTS_KEEP_DAYS", 30)
TASK_STALE_MINUTES = env_int("TASK_STALE_MINUTES", 30)

# Everything that leaves the process (webhooks, e-mail, reminders) is a task in the database,
# run by `python manage.py db_worker`.
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
# The first wait before a failed e-mail or webhook delivery is tried again; it doubles each time.
OUTBOUND_RETRY_SECONDS = env_int("OUTBOUND_RETRY_SECONDS", 30)
# Hosts (host or host:port) webhooks may be aimed at; empty: any (check --deploy warns).
WEBHOOK_ALLOWED_HOSTS = env_list("WEBHOOK_ALLOWED_HOSTS", [])

STATIC_URL = "/static/"
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(BASE_DIR / "staticfiles")))  # collectstatic target; nginx serves it
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    # Seat codes in request paths are masked in every line (core/logs.py).
    "filters": {"seat_codes": {"()": "core.logs.RedactSeatCodes"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "filters": ["seat_codes"]}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

# A report's PDF is typeset once per version of its content and kept this long (seconds).
REPORT_PDF_CACHE_SECONDS = env_int("REPORT_PDF_CACHE_SECONDS", 24 * 3600)
# Who issues the question list (问题清单 / 交办单) and stamps it: the last line of the document.
QUESTION_LIST_ISSUER = env_str("QUESTION_LIST_ISSUER", "县人大常委会办公室")
# A deputy's duty record (/deputies/<id>/) is seen by the deputy and office staff; with this on,
# anyone else sees its public version too (counts, points, public questions and their outcomes).
DUTY_RECORD_PUBLIC = env_bool("DUTY_RECORD_PUBLIC", False)

# Live core tunables (see live/).
LIVE = {
    "HISTORY": env_int("LIVE_HISTORY", 1000),  # events kept per stream for `resume`
    "TICK_MS": env_int("LIVE_TICK_MS", 250),  # counter frames at most this often
    "ASK_PER_MINUTE": env_int("LIVE_ASK_PER_MINUTE", 3),
    "LIKES_PER_SECOND": env_int("LIVE_LIKES_PER_SECOND", 10),
    # Per client address (core/clientaddr.py), over all its viewers: floods, not crowds. Thousands
    # of phones can share one address (carrier NAT, a hall's Wi-Fi), so these let 300 viewers a
    # minute in from one address, each liking and asking at its own limits.
    "VIEWERS_PER_MINUTE": env_int("LIVE_ADDRESS_VIEWERS_PER_MINUTE", 600),  # new viewer cookies
    "ADDRESS_LIKES_PER_SECOND": env_int("LIVE_ADDRESS_LIKES_PER_SECOND", 3000),
    "ADDRESS_ASK_PER_MINUTE": env_int("LIVE_ADDRESS_ASK_PER_MINUTE", 900),
    # `resume` per socket: a resume can cost up to a snapshot; a flaky phone's few quick ones
    # pass within the burst.
    "RESUMES_PER_MINUTE": env_int("LIVE_RESUMES_PER_MINUTE", 20),
    "RESUME_BURST": env_int("LIVE_RESUME_BURST", 5),
    # A deputy's or moderator's socket re-checks its role this often (seconds): a role removed
    # (or an account deactivated) mid-session closes the socket with 4403.
    "ROLE_CHECK_SECONDS": env_int("LIVE_ROLE_CHECK_SECONDS", 5),
}

# Audience figures (audience/, docs/reports.md): a hearing's live room samples the online count and
# the totals once a period, and writes the viewer ids its public sockets brought at most this often.
AUDIENCE = {
    "SAMPLE_SECONDS": env_int("AUDIENCE_SAMPLE_SECONDS", 60),
    "FLUSH_SECONDS": env_int("AUDIENCE_FLUSH_SECONDS", 10),
}

# The collection page (/hearings/<id>/collect/, hearings/services/collection.py): questions per
# viewer (or deputy) and per client address a minute, counted in the cache (shared by every
# process when it is Redis). The address limit stops floods, not crowds: a county's phones can
# share one carrier address.
COLLECT = {
    "PER_MINUTE": env_int("COLLECT_PER_MINUTE", 3),
    "ADDRESS_PER_MINUTE": env_int("COLLECT_ADDRESS_PER_MINUTE", 900),
}
# A collected question's contact (phone or e-mail, staff only) is erased this many days after its
# hearing ended (`manage.py purge_contacts`).
QUESTION_CONTACT_DAYS = env_int("QUESTION_CONTACT_DAYS", 90)

# The control panel shows each list of questions (pending, waiting, answered) this many cards at
# a time, paged; its merge search answers with at most this many matches.
CONTROL_PAGE_SIZE = env_int("CONTROL_PAGE_SIZE", 50)
CONTROL_MERGE_MATCHES = env_int("CONTROL_MERGE_MATCHES", 20)
