"""Django settings, read from the environment (see the README for every variable).

Production-safe by default: DEBUG is off, SECRET_KEY and DMS_ENCRYPTION_KEY are
required, cookies are secure when DMS_HTTPS is on.
"""

from __future__ import annotations

from pathlib import Path

from .env import env_bool, env_database, env_fernet_key, env_int, env_list, env_redis_url, env_str

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = env_bool("DEBUG", False)
SECRET_KEY = env_str("SECRET_KEY")
DMS_ENCRYPTION_KEY = env_fernet_key("DMS_ENCRYPTION_KEY")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

DATABASES = {"default": env_database("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Several processes (web, worker, beat) share the file: wait for locks instead of failing at once.
    DATABASES["default"].setdefault("OPTIONS", {})["timeout"] = 30
    # BEGIN IMMEDIATE: a transaction that reads then writes takes the write lock up front, so two
    # processes never deadlock upgrading read locks (SQLite answers that with an immediate "locked").
    DATABASES["default"]["OPTIONS"]["transaction_mode"] = "IMMEDIATE"
    DATABASES["default"]["CONN_MAX_AGE"] = 0
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env_redis_url("REDIS_URL", "redis://127.0.0.1:6379/0")

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_htmx",
    "template_partials",
    "channels",
    "dmsconsole",
    "endpoints",
    "tasks",
    "monitoring",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "dmsconsole.middleware.RoleRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "dmsconsole.urls"
ASGI_APPLICATION = "dmsconsole.asgi.application"
WSGI_APPLICATION = "dmsconsole.wsgi.application"

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
                "dmsconsole.roles.role_context",
            ],
        },
    }
]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / ".staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]

# HTTPS: secure cookies, HSTS and redirects only when the deployment says it serves HTTPS.
DMS_HTTPS = env_bool("DMS_HTTPS", False)
SESSION_COOKIE_SECURE = DMS_HTTPS
CSRF_COOKIE_SECURE = DMS_HTTPS
SECURE_SSL_REDIRECT = DMS_HTTPS and env_bool("DMS_SSL_REDIRECT", True)
SECURE_HSTS_SECONDS = 3600 if DMS_HTTPS else 0
DMS_BEHIND_PROXY = env_bool("DMS_BEHIND_PROXY", False)  # also: client IPs come from X-Forwarded-For
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if DMS_BEHIND_PROXY else None
SESSION_COOKIE_HTTPONLY = True
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

# Celery: one queue per replication instance ("dms.instance.<identifier>"); see tasks/queues.py.
CELERY_BROKER_URL = REDIS_URL
CELERY_RESULT_BACKEND = REDIS_URL
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": env_int("DMS_VISIBILITY_TIMEOUT", 3600)}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# The scheduler (`python manage.py dms scheduler`: celery beat and a worker for this queue) runs the
# lease sweep there; replication-instance workers never consume it.
DMS_CONTROL_QUEUE = env_str("DMS_CONTROL_QUEUE", "dms.control")
CELERY_TASK_DEFAULT_QUEUE = DMS_CONTROL_QUEUE

# Replication task runners (tasks/running.py): one runner per task, held by a lease in this database.
DMS_LEASE_SECONDS = env_int("DMS_LEASE_SECONDS", 20)  # a runner silent this long has lost its task
DMS_LEASE_RENEW_SECONDS = env_int("DMS_LEASE_RENEW_SECONDS", 4)  # how often the holder renews it
DMS_SWEEP_SECONDS = env_int("DMS_SWEEP_SECONDS", 5)  # how often the scheduler looks for expired leases
DMS_TASK_LOG_KEEP = env_int("DMS_TASK_LOG_KEEP", 20000)  # newest log lines kept per task
# Full-load units as Celery jobs on the instance's queue: "auto" (when more than one worker is online),
# "always" or "never" (a local process pool in the runner's worker).
DMS_REMOTE_SEGMENTS = env_str("DMS_REMOTE_SEGMENTS", "auto")
CELERY_BEAT_SCHEDULE = {
    "dms-sweep": {"task": "dms.tasks.sweep", "schedule": float(DMS_SWEEP_SECONDS),
                  "options": {"queue": DMS_CONTROL_QUEUE, "expires": float(DMS_SWEEP_SECONDS) * 3}},
    # Metric samples: downsampled and dropped past DMS_METRICS_RETENTION_DAYS (monitoring/samples.py).
    "dms-compact-metrics": {"task": "dms.monitoring.compact_metrics", "schedule": 300.0,
                            "options": {"queue": DMS_CONTROL_QUEUE, "expires": 600.0}},
}

CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        # No client read timeout: redis-py 8 defaults socket_timeout to 5 s, which cuts channels_redis's
        # blocking BZPOPMIN (its own server-side timeout is 5 s) and tears every idle consumer down
        # (django/channels_redis#422, redis/redis-py#4091).
        "CONFIG": {"hosts": [{"address": REDIS_URL, "socket_timeout": None}],
                   "prefix": env_str("DMS_CHANNELS_PREFIX", "dms")},
    }
}

# Where workers keep their change spools (bounded per task by the instance's allocated storage).
DMS_SPOOL_DIR = Path(env_str("DMS_SPOOL_DIR", str(BASE_DIR / ".spool")))
# /metrics (Prometheus) answers only `Authorization: Bearer <DMS_METRICS_TOKEN>`; unset, it answers no one.
DMS_METRICS_TOKEN = env_str("DMS_METRICS_TOKEN", "")
# Running tasks sample their metrics this often (seconds); samples are kept, downsampled, this many days.
DMS_METRICS_INTERVAL = env_int("DMS_METRICS_INTERVAL", 5)
DMS_METRICS_RETENTION_DAYS = env_int("DMS_METRICS_RETENTION_DAYS", 14)
# Live pages: task changes pushed over websockets (monitoring/broadcast.py). The test settings turn it off.
DMS_LIVE_PUSH = env_bool("DMS_LIVE_PUSH", True)
# Workers write a heartbeat this often; a worker silent for three beats is offline.
DMS_HEARTBEAT_SECONDS = env_int("DMS_HEARTBEAT_SECONDS", 5)
# Test connection: seconds a worker of the chosen instance has to pick the test up.
DMS_TEST_CONNECTION_TIMEOUT = env_int("DMS_TEST_CONNECTION_TIMEOUT", 20)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("DMS_LOG_LEVEL", "INFO")},
}
