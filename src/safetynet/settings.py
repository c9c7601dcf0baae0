"""Django settings, read from SAFETYNET_* environment variables with safe defaults."""

from __future__ import annotations

import os
from pathlib import Path

import dj_database_url

from safetynet import conf

BASE_DIR = Path(__file__).resolve().parent
# Everything this process writes (the SQLite database, the lake's Parquet, photos, uploads, exports,
# keys, archives) is readable by the service account only: files 0600, folders 0700. Set before the
# data folder is first made. SAFETYNET_UMASK=022 opens them to the machine's other accounts again.
os.umask(int(os.environ.get("SAFETYNET_UMASK", "077"), 8))
DATA_DIR = conf.data_dir()

SECRET_KEY = conf.secret("django_secret_key")
DEBUG = os.environ.get("SAFETYNET_DEBUG", "") == "1"
ALLOWED_HOSTS = [h for h in os.environ.get("SAFETYNET_ALLOWED_HOSTS", "127.0.0.1,localhost").split(",") if h]

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "ninja",  # serves Swagger UI from its own static files instead of a CDN
    "django_q",  # the job queue's transport, worker processes and timers (safetynet.jobs)
    "safetynet.regions",
    "safetynet.access",
    "safetynet.jobs",
    "safetynet.registry",
    "safetynet.lake",
    "safetynet.screening",
    "safetynet.linkage",
    "safetynet.cases",
    "safetynet.leads",
    "safetynet.policies",
    "safetynet.campaigns",
    "safetynet.reports",  # last: its subscribers run after the cases app has landed each lead
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "safetynet.logs.RequestLogMiddleware",  # after sessions: it names the signed-in user
    "safetynet.middleware.ChineseFirstLocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "safetynet.middleware.SecondFactorMiddleware",
    "safetynet.middleware.IdempotencyMiddleware",
    "safetynet.middleware.PrivatePagesMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "safetynet.badges.forget_after_changes",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes requires: it turns a locked-out login into a 429 page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "safetynet.urls"
WSGI_APPLICATION = "safetynet.wsgi.application"

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
                "safetynet.badges.badges",  # what waits for the user, beside the menu
            ],
        },
    },
]

# Reused connections are checked before each request, so a PostgreSQL restart costs no one a 500.
DATABASES = {"default": dj_database_url.parse(conf.database_url(), conn_max_age=60, conn_health_checks=True)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The embedded database is encrypted at rest (SQLCipher, see `safetynet.sqlcipher`). "off" exists only
    # to measure what encryption costs (benchmarks/encryption.py); a bureau keeps the default.
    if os.environ.get("SAFETYNET_DATABASE_ENCRYPTION", "on") != "off":
        DATABASES["default"]["ENGINE"] = "safetynet.sqlcipher"
    # The embedded default under ordinary use (dozens of staff at once): readers never wait for a writer
    # (WAL), a write takes the lock when its transaction begins instead of failing half-way (IMMEDIATE),
    # and a writer waits its turn for up to 30 s instead of answering "database is locked". Each
    # connection may cache up to 64 MiB of (decrypted) pages: SQLCipher's default of 2,000 pages makes a
    # city-sized database decrypt the same index pages again on every query.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=30000; "
        "PRAGMA cache_size=-65536;",
    }
    # Tests use a file as production does (an in-memory database has no WAL and locks differently).
    DATABASES["default"]["TEST"] = {"NAME": str(DATA_DIR / f"test-{os.getpid()}.sqlite3")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "access.User"

PASSWORD_HASHERS = ["django.contrib.auth.hashers.Argon2PasswordHasher"]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "safetynet.access.validators.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = int(os.environ.get("SAFETYNET_LOGIN_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = 0.5  # hours
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "access/locked_out.html"

# The data lake: a local folder under the data folder by default; s3://… or hdfs://… in production.
SAFETYNET_LAKE_URL = os.environ.get("SAFETYNET_LAKE_URL", "")
SAFETYNET_MAX_PUSH_BYTES = int(os.environ.get("SAFETYNET_MAX_PUSH_BYTES", str(1 << 30)))
# Background jobs (safetynet.jobs): django-q2 keeps its queue in the database (the ORM broker: nothing to
# install for the embedded default; SAFETYNET_JOBS_REDIS=redis://host:6379/0 moves it to Redis). A job may
# run for SAFETYNET_JOB_TIMEOUT seconds; the broker hands a task out again only after a longer lease, but a
# dead worker's job is retried at once by safetynet.jobs.services.recover. SAFETYNET_JOBS_INLINE=1 runs
# jobs inside the process that asks (tests, a one-off command) instead of on `safetynet worker`.
SAFETYNET_JOBS_INLINE = os.environ.get("SAFETYNET_JOBS_INLINE", "") == "1"
SAFETYNET_JOB_TIMEOUT = int(os.environ.get("SAFETYNET_JOB_TIMEOUT", str(6 * 3600)))
Q_CLUSTER = {
    "name": "safetynet",
    "workers": int(os.environ.get("SAFETYNET_WORKERS", "2")),
    "timeout": SAFETYNET_JOB_TIMEOUT,
    "retry": SAFETYNET_JOB_TIMEOUT + 600,
    "max_attempts": 1,  # retries are safetynet.jobs' own (delays, a record of each attempt)
    "ack_failures": True,
    "save_limit": 500,
    "poll": 0.5,
    "catch_up": False,  # a missed minute of the tick is not run again: the next tick covers it
    "label": "后台任务",
}
if os.environ.get("SAFETYNET_JOBS_REDIS"):
    import urllib.parse

    _redis = urllib.parse.urlsplit(os.environ["SAFETYNET_JOBS_REDIS"])
    Q_CLUSTER["redis"] = {
        "host": _redis.hostname or "127.0.0.1",
        "port": _redis.port or 6379,
        "db": int((_redis.path or "/0").lstrip("/") or 0),
        "password": _redis.password,
    }
else:
    Q_CLUSTER["orm"] = "default"

# Screening engines. DuckDB spills to the data folder beyond its memory limit; Spark runs in local mode
# unless a master URL names a cluster.
SAFETYNET_SCREENING_ENGINE = os.environ.get("SAFETYNET_SCREENING_ENGINE", "duckdb")
SAFETYNET_DUCKDB_MEMORY = os.environ.get("SAFETYNET_DUCKDB_MEMORY", "4GB")
SAFETYNET_SPARK_MASTER = os.environ.get("SAFETYNET_SPARK_MASTER", "local[2]")
SAFETYNET_SPARK_MEMORY = os.environ.get("SAFETYNET_SPARK_MEMORY", "4g")
SAFETYNET_SPARK_PARTITIONS = int(os.environ.get("SAFETYNET_SPARK_PARTITIONS", "8"))

# TrueType fonts embedded in the notification letter, tried in order for each character: the first
# covers common text, the others rare name characters (生僻字) of CJK extensions A–G. Debian packages
# fonts-hanazono and fonts-babelstone-han install the defaults; without any, the letter falls back to
# the readers' built-in STSong (not embedded, and without the rare characters).
SAFETYNET_LETTER_FONTS = [
    path
    for path in os.environ.get(
        "SAFETYNET_LETTER_FONTS",
        "/usr/share/fonts/truetype/hanazono/HanaMinA.ttf:/usr/share/fonts/truetype/hanazono/HanaMinB.ttf:"
        "/usr/share/fonts/truetype/babelstone/BabelStoneHan.ttf",
    ).split(":")
    if path
]

LOGIN_URL = "access:login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "access:login"

# Roles that must confirm a sign-in with a TOTP code (an authenticator app) before any page or API answers.
SAFETYNET_SECOND_FACTOR_ROLES = tuple(
    r for r in os.environ.get("SAFETYNET_SECOND_FACTOR_ROLES", "county_admin,auditor").split(",") if r
)
OTP_TOTP_ISSUER = "safetynet"

SESSION_COOKIE_HTTPONLY = True
# Signed out after 30 idle minutes (every request renews the session), whatever the browser does.
SESSION_COOKIE_AGE = int(os.environ.get("SAFETYNET_IDLE_MINUTES", "30")) * 60
SESSION_SAVE_EVERY_REQUEST = True
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SAFETYNET_MAX_SESSIONS = int(os.environ.get("SAFETYNET_MAX_SESSIONS", "3"))  # per account; the oldest go
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
# Behind a TLS-terminating proxy (SAFETYNET_HTTPS=1): the proxy says the request was HTTPS
# (X-Forwarded-Proto), cookies are Secure, browsers are told to come back only over HTTPS (HSTS), a plain
# HTTP request (one that went round the proxy) is only ever redirected to HTTPS, and the CSRF origin check
# accepts the site's own https:// origins.
HTTPS = os.environ.get("SAFETYNET_HTTPS", "") == "1"
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = HTTPS
if HTTPS:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = True
    SECURE_HSTS_SECONDS = 31_536_000
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
CSRF_TRUSTED_ORIGINS = [
    f"{scheme}://{host.lstrip('.')}" for host in ALLOWED_HOSTS if host != "*" for scheme in ("https",)
] + [o for o in os.environ.get("SAFETYNET_TRUSTED_ORIGINS", "").split(",") if o]
# No script, style or frame from anywhere but the site itself (bureau networks have no internet anyway).
SAFETYNET_CSP = "default-src 'self'; img-src 'self' data:; object-src 'none'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'"

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "static"
# Uploads larger than memory allows go to the data folder, not the system's temporary folder, so the files
# a killed server leaves behind are swept (lake.storage.sweep_spool).
FILE_UPLOAD_PERMISSIONS = 0o600  # Django's default (0644) would open stored uploads to every account
FILE_UPLOAD_DIRECTORY_PERMISSIONS = 0o700
FILE_UPLOAD_TEMP_DIR = DATA_DIR / "tmp" / "uploads"
FILE_UPLOAD_TEMP_DIR.mkdir(parents=True, exist_ok=True, mode=0o700)
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT.mkdir(exist_ok=True)
WHITENOISE_USE_FINDERS = True  # serve app static files straight from the package: no collectstatic step

# Structured logs (safetynet/logs.py): JSON lines on stderr and in DATA_DIR/logs/safetynet.log (10 MB × 10
# files, owner-only); a line per request at INFO. SAFETYNET_LOG_LEVEL=WARNING keeps only problems.
(DATA_DIR / "logs").mkdir(exist_ok=True, mode=0o700)
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": "safetynet.logs.JsonFormatter"}},
    "handlers": {
        "console": {"class": "safetynet.logs.StderrHandler", "formatter": "json"},
        "file": {
            "class": "logging.handlers.RotatingFileHandler",
            "filename": str(DATA_DIR / "logs" / "safetynet.log"),
            "maxBytes": 10 << 20,
            "backupCount": 10,
            "encoding": "utf-8",
            "formatter": "json",
        },
    },
    "root": {"handlers": ["console", "file"], "level": os.environ.get("SAFETYNET_LOG_LEVEL", "WARNING")},
    "loggers": {
        "safetynet.requests": {
            "level": os.environ.get("SAFETYNET_REQUEST_LOG_LEVEL", "INFO"),
            "propagate": False,
            "handlers": ["file"],
        },
        # a line per command (file only: a clerk at the terminal reads the command's own output) and per
        # job (also to stderr: the worker's service log)
        "safetynet.commands": {"level": "INFO", "propagate": False, "handlers": ["file"]},
        "safetynet.jobs": {"level": "INFO", "propagate": False, "handlers": ["console", "file"]},
    },
}
