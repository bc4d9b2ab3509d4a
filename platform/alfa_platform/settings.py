"""Settings, all read from the environment; the defaults give the embedded SQLite + filesystem-broker setup."""

import os
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import dj_database_url
from csp.constants import NONCE, NONE, SELF, UNSAFE_INLINE

from alfa_platform.secretfiles import check_secret, read_or_create_secret, secret_from_environment

BASE_DIR = Path(__file__).resolve().parents[2]
VAR_DIR = Path(os.environ.get("ALFA_VAR_DIR", BASE_DIR / "var"))
VAR_DIR.mkdir(parents=True, exist_ok=True)


def env_bool(name: str, default: bool = False) -> bool:
    return os.environ.get(name, str(default)).strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DJANGO_DEBUG")
# Per-installation secrets under var/ (created 0600) so the embedded default needs no setup; with DEBUG off a
# placeholder or short key from the environment stops the start (alfa_platform.secretfiles).
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY") or read_or_create_secret(VAR_DIR / "secret_key")
# Keyed hash for forum usernames; rotating it changes every pseudonym, so it is separate from SECRET_KEY.
PSEUDONYM_KEY = os.environ.get("ALFA_PSEUDONYM_KEY") or read_or_create_secret(VAR_DIR / "pseudonym_key")
check_secret("DJANGO_SECRET_KEY", SECRET_KEY, DEBUG)
check_secret("ALFA_PSEUDONYM_KEY", PSEUDONYM_KEY, DEBUG)
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost,testserver")
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_results",
    "axes",
    "auditlog",
    "alfa_platform",
    "audit",
    "jobs",
    "corpus",
    "synthesis",
    "annotation",
    "dataversions",
    "training",
    "evaluation",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "audit.context.AuditContextMiddleware",  # who the audit trail's records name
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "alfa_platform.uploads.UploadLimitMiddleware",
    "alfa_platform.jsonbody.InputLimitsMiddleware",  # too deep JSON, NUL in the URL: 400, not a 500
    # Last, as django-axes asks: it turns a locked-out login into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "alfa_platform.urls"
WSGI_APPLICATION = "alfa_platform.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "alfa_platform.roles.roles_context",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{VAR_DIR / 'db.sqlite3'}"), conn_max_age=60
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the web process read while the worker writes; IMMEDIATE avoids lock-upgrade deadlocks.
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    # A file, not memory, so a real worker process in the tests sees the test database; per-process name
    # so concurrent test runs never share one.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / f"test-{os.getpid()}.sqlite3")}
elif DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # psycopg prepares a statement once it ran this often on a connection (Django's default, None, never does). Only
    # server-side-binding cursors prepare: the ORM's client-side-binding cursors are unaffected. The annotation hot
    # path uses such cursors (alfa_platform.sql.prepared.prepared_cursor) over persistent connections (conn_max_age).
    DATABASES["default"].setdefault("OPTIONS", {})["prepare_threshold"] = 5

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
# django-axes first: it refuses a locked-out account or address before the password is checked (login page, admin
# and /api/token/). A lock lasts AXES_COOLOFF_TIME; `manage.py axes_reset_username NAME` lifts it early.
# The password backend answers only while ALFA_LOCAL_LOGIN is on; the OpenID Connect one only for an SSO callback.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "alfa_platform.oidc.LocalPasswordBackend",
    "alfa_platform.oidc.OIDCBackend",
]
AXES_FAILURE_LIMIT = int(os.environ.get("ALFA_LOGIN_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = timedelta(minutes=int(os.environ.get("ALFA_LOGIN_LOCKOUT_MINUTES", "15")))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]  # each on its own: an account from anywhere, an address for any
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "alfa_platform.tokens.lockout_response"
AXES_HTTP_RESPONSE_CODE = 429
AXES_VERBOSE = False
# API tokens stop working this many days after they were issued (alfa_platform.tokens).
ALFA_API_TOKEN_TTL_DAYS = int(os.environ.get("ALFA_API_TOKEN_TTL_DAYS", "30"))
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Single sign-on with OpenID Connect (alfa_platform.oidc, on mozilla-django-oidc): on when ALFA_OIDC_ISSUER is set.
# Endpoints come from the issuer's discovery document unless ALFA_OIDC_<NAME>_ENDPOINT names them; roles come from
# the ALFA_OIDC_ROLES_CLAIM claim through ALFA_OIDC_ROLE_MAP ("physicians=annotator,leads=lead") at every login.
ALFA_OIDC_ISSUER = os.environ.get("ALFA_OIDC_ISSUER", "")
ALFA_OIDC_ENDPOINTS = {
    name: os.environ.get(f"ALFA_OIDC_{name.upper()}_ENDPOINT", "")
    for name in ("authorization", "token", "userinfo", "jwks", "end_session")
}
ALFA_OIDC_PROVIDER_NAME = os.environ.get("ALFA_OIDC_PROVIDER_NAME", "single sign-on")
ALFA_OIDC_ROLES_CLAIM = os.environ.get("ALFA_OIDC_ROLES_CLAIM", "groups")
ALFA_OIDC_ROLE_MAP = os.environ.get("ALFA_OIDC_ROLE_MAP", "")
# Off: the login page offers only single sign-on, and passwords are refused there, in the admin and on /api/token/.
ALFA_LOCAL_LOGIN = env_bool("ALFA_LOCAL_LOGIN", True)
OIDC_RP_CLIENT_ID = os.environ.get("ALFA_OIDC_CLIENT_ID", "")
OIDC_RP_CLIENT_SECRET = secret_from_environment("ALFA_OIDC_CLIENT_SECRET")
OIDC_RP_SCOPES = os.environ.get("ALFA_OIDC_SCOPES", "openid profile email")
OIDC_RP_SIGN_ALGO = os.environ.get("ALFA_OIDC_SIGN_ALGO", "RS256")
OIDC_USE_PKCE = True
OIDC_STORE_ID_TOKEN = True  # the id_token_hint the provider's end_session endpoint asks for at logout
OIDC_OP_LOGOUT_URL_METHOD = "alfa_platform.oidc.provider_logout_url"
OIDC_TIMEOUT = int(os.environ.get("ALFA_OIDC_TIMEOUT_SECONDS", "10"))

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "staticfiles"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
MEDIA_ROOT = VAR_DIR / "media"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
# Serve straight from the app folders when collectstatic has not run (make run, tests).
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False  # the keyboard-first pages read it to post with fetch()
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
if env_bool("DJANGO_SECURE_COOKIES"):
    SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = True
# HSTS: browsers keep to HTTPS for a year once they saw it over HTTPS (SecurityMiddleware sends it only there).
SECURE_HSTS_SECONDS = 0 if DEBUG else int(os.environ.get("DJANGO_HSTS_SECONDS", str(365 * 24 * 3600)))
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("DJANGO_HSTS_INCLUDE_SUBDOMAINS")

DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
# Uploads (alfa_platform.uploads): a request body over ALFA_UPLOAD_MAX_BYTES answers 413 (a page, or JSON under /api/);
# gzip is inflated as it is read and stops past ALFA_GZIP_MAX_BYTES or a compression ratio over ALFA_GZIP_MAX_RATIO
# (checked once ALFA_GZIP_RATIO_AFTER_BYTES are out: small files of repeated lines compress well and are no bomb).
ALFA_UPLOAD_MAX_BYTES = int(os.environ.get("ALFA_UPLOAD_MAX_BYTES", str(512 * 1024 * 1024)))
ALFA_GZIP_MAX_BYTES = int(os.environ.get("ALFA_GZIP_MAX_BYTES", str(4 * 1024 * 1024 * 1024)))
ALFA_GZIP_MAX_RATIO = int(os.environ.get("ALFA_GZIP_MAX_RATIO", "100"))
ALFA_GZIP_RATIO_AFTER_BYTES = int(os.environ.get("ALFA_GZIP_RATIO_AFTER_BYTES", str(16 * 1024 * 1024)))
# Raw uploads (they hold forum usernames) are kept 0600 and deleted this many days after their import finished
# (manage.py purge_uploads, run daily by beat); the import report keeps their sha256.
ALFA_UPLOAD_RETENTION_DAYS = int(os.environ.get("ALFA_UPLOAD_RETENTION_DAYS", "30"))

# Content-Security-Policy (django-csp): scripts only from this site or inline with the request's nonce
# (request.csp_nonce); inline styles stay allowed (htmx and Swagger UI set them), so no nonce in style-src.
CONTENT_SECURITY_POLICY: dict[str, dict[str, list[Any]]] = {  # sources: strings and csp.constants.NONCE
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF, UNSAFE_INLINE],
        "img-src": [SELF, "data:"],
        "font-src": [SELF, "data:"],
        "worker-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}


def provider_origins(*urls: str) -> list[str]:
    """Return the origins (scheme://host:port) of the given URLs, skipping empty ones."""
    return sorted({f"{part.scheme}://{part.netloc}" for part in map(urlsplit, filter(None, urls))})


# Logging out posts to /logout/, which then redirects to the provider's end_session endpoint: browsers hold that
# redirect to form-action too, so the provider's origin joins it.
CONTENT_SECURITY_POLICY["DIRECTIVES"]["form-action"] += provider_origins(
    ALFA_OIDC_ISSUER, ALFA_OIDC_ENDPOINTS["end_session"]
)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "alfa_platform.authentication.TokenAuthenticationWithRoles",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # JSON bodies must be objects without NUL characters (alfa_platform.jsonbody): 400, never a 500 further on.
    "DEFAULT_PARSER_CLASSES": [
        "alfa_platform.jsonbody.JSONObjectParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "ALFA platform API",
    "DESCRIPTION": "Corpus, jobs, synthesis and annotation for clinical follow-up question alignment.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["alfa_platform.roles.IsAnnotator"],  # any role: a signed-in stranger sees no schema either
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {
        "CampaignStatusEnum": "annotation.models.CampaignStatus",
        "GoldStatusEnum": "annotation.models.GoldStatus",
        "JobStatusEnum": "jobs.models.JobStatus",
        "EvaluationRunKindEnum": "evaluation.models.RunKind",
        "ModelKindEnum": "training.models.ModelKind",
        "QuestionTypeEnum": "corpus.models.QuestionType",  # question_type, and a synthesis job's question_types
        "AnswerLetterEnum": ["A", "B", "C", "D"],
        "DatasetKindEnum": "dataversions.models.DatasetKind",
        "PairTypeEnum": "synthesis.models.PairType",  # pair_type, and a dataset version's pair_types
        "VerdictEnum": "synthesis.models.Verdict",
        "ChoiceEnum": "annotation.models.Choice",  # a judgment's choice, an item's gold answer
        "DatasetVerdictEnum": ["filtered", "unfiltered"],  # a dataset version's filter on the judge's verdict
    },
}

# Celery: a filesystem broker under var/ by default (no server), Redis or RabbitMQ when configured.
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "filesystem://")
if CELERY_BROKER_URL.startswith("filesystem://"):
    BROKER_DIR = Path(os.environ.get("ALFA_BROKER_DIR", VAR_DIR / "celery-broker"))
    for sub in ("queue", "processed", "control"):
        (BROKER_DIR / sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "control_folder": str(BROKER_DIR / "control"),
        "data_folder_in": str(BROKER_DIR / "queue"),
        "data_folder_out": str(BROKER_DIR / "queue"),
        "processed_folder": str(BROKER_DIR / "processed"),
        "store_processed": False,
        "polling_interval": 0.2,
    }
else:
    # Must exceed the longest job, or Redis redelivers a running task (the job claim still stops it).
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 6 * 3600}
CELERY_RESULT_BACKEND = "django-db"
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER")
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BEAT_SCHEDULE = {
    "requeue-stale-jobs": {"task": "jobs.tasks.requeue_stale_jobs", "schedule": 30.0},
    "purge-uploads": {"task": "corpus.tasks.purge_uploads", "schedule": 24 * 3600.0},
    "purge-deleted": {"task": "audit.tasks.purge_deleted", "schedule": 24 * 3600.0},  # soft deletes past retention
}
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")

# A running job whose heartbeat is older than this is considered lost and re-queued by the watchdog.
JOB_STALE_AFTER_SECONDS = int(os.environ.get("ALFA_JOB_STALE_AFTER_SECONDS", "300"))
JOB_MAX_ATTEMPTS = int(os.environ.get("ALFA_JOB_MAX_ATTEMPTS", "3"))

# Where local models (SmolLM2 for the demo, trained checkpoints) live.
MODELS_DIR = Path(os.environ.get("ALFA_MODELS_DIR", VAR_DIR / "models"))
# Where the shared AskDocs/MediQ files are (tests and benchmarks read them; never copied in).
# Model endpoints: a key's variable must carry this prefix (so no server secret can be named), and only admins may
# point an endpoint at a host outside this list (loopback and the docker-compose vLLM service by default).
LLM_KEY_ENV_PREFIX = "ALFA_LLM_KEY_"
ENDPOINT_ALLOWED_HOSTS = env_list("ALFA_ENDPOINT_ALLOWED_HOSTS", "127.0.0.1,localhost,::1,vllm")
# Where a worker serves a registered model (training's model page, "Serve it"): loopback unless a deployment says.
MODEL_SERVE_HOST = os.environ.get("ALFA_MODEL_SERVE_HOST", "127.0.0.1")
SHARED_DATA_DIR = Path(os.environ.get("ALFA_SHARED_DATA_DIR", BASE_DIR.parent / "shared" / "data"))

# The audit trail (the audit app, on django-auditlog): records form a hash chain that verify_audit checks.
# ALFA_AUDIT=0 turns recording off, for the benchmark's side-by-side figures only.
AUDIT_ENABLED = env_bool("ALFA_AUDIT", default=True)
AUDITLOG_LOGENTRY_MODEL = "audit.AuditRecord"
AUDITLOG_STORE_JSON_CHANGES = True  # typed values before and after, not their str()
AUDITLOG_DISABLE_ON_RAW_SAVE = True  # loading a fixture or a serialized database is no change to record
# auditlog's own model is swapped out; its migrations would still create its table, unused, which blocks flushes.
MIGRATION_MODULES = {"auditlog": None}
# A deleted campaign or dataset version can be restored this many days; then purge_deleted removes it for good.
ALFA_SOFT_DELETE_RETENTION_DAYS = int(os.environ.get("ALFA_SOFT_DELETE_RETENTION_DAYS", "30"))

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("ALFA_LOG_LEVEL", "INFO")},
}
