"""One settings file; every knob from the environment, with defaults that run locally."""

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent.parent


def envbool(name: str, default: str) -> bool:
    value = os.environ.get(name, default)
    if value not in ("True", "False"):
        raise ValueError(f"{name} must be True or False, not {value!r}")
    return value == "True"


def envint(name: str, default: str) -> int:
    return int(os.environ.get(name, default))


def envsecret(name: str, default: str = "") -> str:
    """A secret from NAME, or from the file named by NAME_FILE (Docker secrets)."""
    path = os.environ.get(f"{name}_FILE")
    if path:
        return Path(path).read_text().strip()
    return os.environ.get(name, default)


DEBUG = envbool("DEBUG", "False")


def local_secret_key(path: Path) -> str:
    """For a checkout with no SECRET_KEY: one random key, made once, kept in var/ (not in git)."""
    if not path.exists():
        import secrets

        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(secrets.token_urlsafe(50))
    return path.read_text().strip()


# Secrets come from the environment only. Production (docker-compose.yml) sets
# LABGRADER_REQUIRE_SECRET=True, so a missing key stops the service instead of
# falling back to a local one.
SECRET_KEY = envsecret("SECRET_KEY")
if not SECRET_KEY:
    if envbool("LABGRADER_REQUIRE_SECRET", "False"):
        raise RuntimeError("SECRET_KEY (or SECRET_KEY_FILE) must be set")
    SECRET_KEY = local_secret_key(BASE_DIR / "var" / "secret_key")
ALLOWED_HOSTS = os.environ.get("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1],testserver").split(",")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "axes",
    "submissions",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # CSP and private caching on every answer Django makes, the 413 page included.
    "grader.middleware.SecurityHeadersMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    # Before CSRF (its check parses the whole body of any POST, request.POST) and
    # after authentication, which reads no body, so the 413 page shows who is logged in.
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "grader.middleware.RequestSizeLimitMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes asks: turns a refused login into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "grader.urls"
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
            ]
        },
    }
]
WSGI_APPLICATION = "grader.wsgi.application"

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{BASE_DIR / 'var' / 'db.sqlite3'}"), conn_max_age=60
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The demo's SQLite: a transaction takes the write lock when it begins, so the
    # submission limits' count-then-insert is serialized as PostgreSQL's row lock
    # serializes it (SQLite has no SELECT ... FOR UPDATE).
    DATABASES["default"].setdefault("OPTIONS", {})["transaction_mode"] = "IMMEDIATE"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

LANGUAGE_CODE = "en-us"
TIME_ZONE = os.environ.get("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "var" / "static"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Logins: django-axes counts failures per username and per client address and, past
# the limit, refuses before the password is hashed (its backend comes first), so a
# guesser neither gets more tries nor keeps the web workers busy hashing.
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "django.contrib.auth.backends.ModelBackend"]
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_FAILURE_LIMIT = envint("LOGIN_FAILURE_LIMIT", "10")
AXES_COOLOFF_TIME = timedelta(minutes=envint("LOGIN_COOLOFF_MINUTES", "15"))
# A success does not wipe the failures: axes would wipe those of the whole address,
# so a student could guess at someone else's password without end by logging in as
# themselves between rounds. Failures expire after the cool-off instead.
AXES_RESET_ON_SUCCESS = False
# A refused attempt writes nothing: no row growing with every try, no reset of the
# cool-off (a guesser gets AXES_FAILURE_LIMIT guesses per cool-off period).
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_CLIENT_IP_CALLABLE = "grader.client_address.client_address"
# How many proxies in front append to X-Forwarded-For (compose: the TLS proxy, 1);
# 0 trusts no header and counts the connection's address.
TRUSTED_PROXY_COUNT = envint("TRUSTED_PROXY_COUNT", "0")
# The password check itself runs at idle CPU priority (grader/passwords.py); the
# other hashers only read hashes made elsewhere.
PASSWORD_HASHERS = [
    "grader.passwords.IdlePriorityPBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.BCryptSHA256PasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
]
# For passwords set through Django (admin, createsuperuser, changepassword); the
# demo seed sets 'demo' directly and is not held to them.
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Errors to stderr (gunicorn's and the containers' log): without this, Django sends
# a 500's traceback only to mail_admins, i.e. nowhere.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"line": {"format": "[{asctime}] [{process}] {levelname} {name}: {message}", "style": "{"}},
    "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "line"}},
    "root": {"handlers": ["stderr"], "level": "WARNING"},
    "loggers": {"django": {"handlers": ["stderr"], "level": "WARNING", "propagate": False}},
}

# Celery: see docs/service.md for why each of these is set.
REDIS_URL = os.environ.get("REDIS_URL", "")
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_TASK_SOFT_TIME_LIMIT = envint("GRADING_SOFT_TIME_LIMIT", "120")
CELERY_TASK_TIME_LIMIT = envint("GRADING_TIME_LIMIT", "150")
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    # Far above the hard time limit: an unacknowledged task is re-delivered after this.
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": envint("CELERY_VISIBILITY_TIMEOUT", "3600")}
else:
    # No broker server to install for a single-machine demo: kombu's filesystem
    # transport keeps messages as files in var/broker. Production sets REDIS_URL.
    # Every folder is named here: kombu's defaults are relative to the working
    # directory (control_folder, its exchange table, would be ./control).
    _BROKER_DIR = Path(os.environ.get("BROKER_DIR", BASE_DIR / "var" / "broker"))
    for _folder in ("queue", "processed", "control"):
        (_BROKER_DIR / _folder).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_BROKER_DIR / "queue"),
        "data_folder_out": str(_BROKER_DIR / "queue"),
        "processed_folder": str(_BROKER_DIR / "processed"),
        "control_folder": str(_BROKER_DIR / "control"),
        "store_processed": False,
        "polling_interval": 0.2,
    }
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_DEFAULT_QUEUE = "grading"
# Admin re-runs have a queue of their own so that live submissions are not starved.
CELERY_TASK_ROUTES = {
    "submissions.tasks.recheck_submissions": {"queue": "admin"},
    "submissions.tasks.recheck_submission": {"queue": "admin"},
    "submissions.tasks.reexecute_submission": {"queue": "admin"},
    "submissions.tasks.validate_package": {"queue": "admin"},
}
CELERY_BEAT_SCHEDULE = {
    "sweep-stuck-submissions": {"task": "submissions.tasks.sweep_stuck", "schedule": envint("SWEEP_EVERY_S", "60")},
}
GRADING_LEASE_MARGIN_S = envint("GRADING_LEASE_MARGIN_S", "30")
GRADING_MAX_INFRA_RETRIES = envint("GRADING_MAX_INFRA_RETRIES", "3")
GRADING_RETRY_DELAY_S = envint("GRADING_RETRY_DELAY_S", "10")
# Claims of one submission before it is given up as not gradable, whatever failed: a bug,
# a soft time limit, a worker killed each time (counted by the sweep). Re-execution resets it.
GRADING_MAX_ATTEMPTS = envint("GRADING_MAX_ATTEMPTS", "5")
# Bulk re-checks: submissions per message, and per batch (one read, one transaction of
# writes, one step of the job's progress).
RECHECK_TASK_SIZE = envint("RECHECK_TASK_SIZE", "500")
RECHECK_BATCH_SIZE = envint("RECHECK_BATCH_SIZE", "250")
# Validating an uploaded assignment package: its scripts graded at once, and the task's
# time limit (a lab's 25 scripts take about 15 s; the hard limit comes 30 s later).
PACKAGE_VALIDATION_JOBS = envint("PACKAGE_VALIDATION_JOBS", "2")
PACKAGE_VALIDATION_SOFT_TIME_LIMIT = envint("PACKAGE_VALIDATION_SOFT_TIME_LIMIT", "900")

# Uploads: the engine enforces per-file and total limits with clear messages;
# Django's own limits sit just above them so those messages get a chance.
DATA_UPLOAD_MAX_MEMORY_SIZE = 6 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 6 * 1024 * 1024
DATA_UPLOAD_MAX_NUMBER_FILES = 60
# A request body larger than this is refused before anything reads it
# (grader/middleware.py); no page of the site takes more.
MAX_UPLOAD_REQUEST_BYTES = 6 * 1024 * 1024

SESSION_COOKIE_SECURE = envbool("SECURE_COOKIES", "False")
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
CSRF_TRUSTED_ORIGINS = [o for o in os.environ.get("CSRF_TRUSTED_ORIGINS", "").split(",") if o]
X_FRAME_OPTIONS = "DENY"
# HSTS on https answers; compose turns it on (docs/deploy.md). Off by default: a
# browser that saw it for a host refuses plain http there for that long.
SECURE_HSTS_SECONDS = envint("SECURE_HSTS_SECONDS", "0")
SECURE_HSTS_INCLUDE_SUBDOMAINS = envbool("SECURE_HSTS_INCLUDE_SUBDOMAINS", "False")
SECURE_HSTS_PRELOAD = envbool("SECURE_HSTS_PRELOAD", "False")
# Pages load only the site's own script and stylesheet; no inline script or style
# (tests/service/test_security_headers.py reads the templates for it).
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
