"""Settings of the GMI Video Portal site: maps the environment (README, "Configuration") onto Django and GENERATIONS."""
from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DJANGO_DEBUG", False)
HTTPS = env_bool("DJANGO_HTTPS", False)


def secret_key() -> str:
    """DJANGO_SECRET_KEY, else (outside DEBUG) a random key kept in a private file next to
    the database, so a one-machine deployment is safe without configuration and every
    process of the site shares the same key."""
    value = os.environ.get("DJANGO_SECRET_KEY", "")
    if value:
        return value
    if DEBUG:
        return "dev-only-key-never-used-in-production-7f3a9c1e5b2d8f4a6c0e1b3d5f7a9c2e4b6d8f0a"
    path = Path(os.environ.get("DJANGO_SECRET_KEY_FILE", BASE_DIR / ".secret_key"))
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        import secrets

        key = secrets.token_urlsafe(64)
        try:
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process won the race; use its key
            return path.read_text().strip()
        with os.fdopen(descriptor, "w") as handle:
            handle.write(key)
        return key
    except OSError as exc:
        raise ImproperlyConfigured(f"Set DJANGO_SECRET_KEY: cannot read or create {path} ({exc}).") from exc


SECRET_KEY = secret_key()

# Outside DEBUG only the local names answer until DJANGO_ALLOWED_HOSTS says otherwise.
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_q",
    "generations",
    # Accounts (README, "Accounts and sign-in"): allauth for sign-up, log-in, e-mail, two-factor,
    # sessions and single sign-on; axes for the lock-out; the project's glue last so its
    # templates and receivers sit on top of allauth's.
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "allauth.usersessions",
    "allauth.socialaccount",
    "allauth.socialaccount.providers.openid_connect",
    "axes",
    "gmi_project.accounts",
    # Only for `manage.py gmi_simulator`: the fake GMI that `make run` and the tests use.
    "gmi_simulator",
]

MIDDLEWARE = [
    # First: everything after it (and every log line) sees the request id and client address.
    "generations.middleware.RequestContextMiddleware",
    "generations.access_log.AccessLogMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "gmi_project.csp.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    # Before the CSRF check, which reads the form of every POST: bodies over the cap are never read.
    "generations.request_limits.RequestBodyLimitMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    # Idle timeout, and the session list's activity (in place of allauth's UserSessionsMiddleware,
    # which writes on every request).
    "gmi_project.accounts.middleware.IdleSessionMiddleware",
    "gmi_project.accounts.middleware.StaffTwoFactorMiddleware",
    # Last: it turns a locked-out log-in (flagged by the axes backend) into the cool-off page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "gmi_project.urls"

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
                "generations.context_processors.generations",
                "gmi_project.accounts.context_processors.accounts_context",
            ],
        },
    },
]

WSGI_APPLICATION = "gmi_project.wsgi.application"

# SQLite is the embedded default and must take concurrent writers (web + several
# qcluster workers): WAL lets readers run beside the writer, IMMEDIATE takes the
# write lock at BEGIN so two writers queue on the busy timeout instead of failing
# with "database is locked" when one upgrades a read lock.
DATABASES = {"default": dj_database_url.parse(os.environ.get("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}"))}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 30,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=30000;",
    }
    # A file (not :memory:) so threads and worker processes in tests share it; one per
    # test run so parallel runs never trample each other.
    DATABASES["default"]["TEST"] = {
        "NAME": os.environ.get("SQLITE_TEST_NAME", f"/tmp/gmi-portal-test-{os.getpid()}.sqlite3")
    }
else:
    DATABASES["default"]["CONN_MAX_AGE"] = int(os.environ.get("DATABASE_CONN_MAX_AGE", "60"))
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# --------------------------------------------------------------------------- accounts
# django-allauth does sign-up, log-in (by username or e-mail), e-mail verification and
# change, password change and reset, two-factor (TOTP, recovery codes, WebAuthn), the
# session list and single sign-on; django-axes locks an account or an address out for
# a while after GMI_LOGIN_LOCKOUT failed log-ins. The glue is in gmi_project/accounts/.
AUTHENTICATION_BACKENDS = [
    # First: refuses every password check of a locked-out account or address.
    "axes.backends.AxesStandaloneBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# The client's address (lock-out, rate limits, the session list) follows GENERATIONS["TRUSTED_PROXY_COUNT"]
# through the account adapter's get_client_ip and AXES_CLIENT_IP_CALLABLE.

ACCOUNT_ADAPTER = "gmi_project.accounts.adapters.AccountAdapter"
SOCIALACCOUNT_ADAPTER = "gmi_project.accounts.adapters.SocialAccountAdapter"
ACCOUNT_FORMS = {"signup": "gmi_project.accounts.forms.SignupForm", "login": "gmi_project.accounts.forms.LoginForm"}
ACCOUNT_LOGIN_METHODS = {"username", "email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "username*", "password1*", "password2*"]
ACCOUNT_UNIQUE_EMAIL = True
# "optional": a new member is logged in at once and may look around; the submit policy
# (gmi_project.accounts.policies) refuses every submission until the address is confirmed.
ACCOUNT_EMAIL_VERIFICATION = "optional"
ACCOUNT_CONFIRM_EMAIL_ON_GET = False
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
ACCOUNT_CHANGE_EMAIL = True
ACCOUNT_EMAIL_SUBJECT_PREFIX = "[Video Portal] "
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False  # this session stays; the others end (accounts/receivers.py)
ACCOUNT_LOGIN_BY_CODE_ENABLED = False
ACCOUNT_REAUTHENTICATION_TIMEOUT = 300
ACCOUNT_RATE_LIMITS = {
    "signup": "10/m/ip,50/h/ip",
    "reset_password": "10/m/ip,3/m/key,10/h/key",
    "reset_password_from_key": "20/m/ip",
    # Per address; per account (and a longer cool-off) is django-axes' job.
    "login_failed": "30/m/ip",
    "login": "60/m/ip",
    "confirm_email": "1/3m/key",
    "change_password": "5/m/user",
    "manage_email": "10/m/user",
    "reauthenticate": "10/m/user",
}
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes", "webauthn"]
MFA_TOTP_ISSUER = os.environ.get("MFA_TOTP_ISSUER", "GMI Video Portal")
MFA_PASSKEY_LOGIN_ENABLED = False
# Browsers offer WebAuthn only over HTTPS (and on localhost): plain http elsewhere only in DEBUG.
MFA_WEBAUTHN_ALLOW_INSECURE_ORIGIN = DEBUG
# 1: staff must have a second factor before any admin page (default on in production).
GMI_STAFF_MFA = env_bool("GMI_STAFF_MFA", not DEBUG)
USERSESSIONS_TRACK_ACTIVITY = False  # IdleSessionMiddleware records activity, at most once a minute per session
# Sessions end after this long without a request, and after SESSION_COOKIE_AGE in any case.
GMI_SESSION_IDLE_SECONDS = int(os.environ.get("GMI_SESSION_IDLE_MINUTES", "120")) * 60
SESSION_COOKIE_AGE = int(os.environ.get("GMI_SESSION_MAX_HOURS", "72")) * 3600

# Single sign-on through one OpenID Connect provider (Keycloak, Entra ID, Google, ...).
OIDC_ISSUER = os.environ.get("OIDC_ISSUER", "").rstrip("/")
SOCIALACCOUNT_PROVIDERS: dict[str, dict] = {}
if OIDC_ISSUER:
    SOCIALACCOUNT_PROVIDERS["openid_connect"] = {
        "OAUTH_PKCE_ENABLED": True,
        "APPS": [{
            "provider_id": "sso",
            "name": os.environ.get("OIDC_NAME", "") or "Single sign-on",
            "client_id": os.environ.get("OIDC_CLIENT_ID", ""),
            "secret": os.environ.get("OIDC_CLIENT_SECRET", ""),
            "settings": {"server_url": OIDC_ISSUER, "scope": ["openid", "profile", "email"]},
        }],
    }
SOCIALACCOUNT_LOGIN_ON_GET = False  # the sign-in button is a POST form, so no site can start one for you
SOCIALACCOUNT_AUTO_SIGNUP = True
SOCIALACCOUNT_EMAIL_AUTHENTICATION = True  # a later sign-in with a verified address finds the account
SOCIALACCOUNT_EMAIL_AUTHENTICATION_AUTO_CONNECT = True
SOCIALACCOUNT_STORE_TOKENS = False

# Lock-out: after GMI_LOGIN_LOCKOUT failures for one account, or from one address, every
# log-in there is refused until GMI_LOGIN_COOLOFF_MINUTES after the last failure.
AXES_FAILURE_LIMIT = int(os.environ.get("GMI_LOGIN_LOCKOUT", "10"))
AXES_COOLOFF_TIME = timedelta(minutes=int(os.environ.get("GMI_LOGIN_COOLOFF_MINUTES", "15")))
AXES_LOCKOUT_PARAMETERS = ["ip_address", "username"]
AXES_RESET_ON_SUCCESS = True
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_HTTP_RESPONSE_CODE = 429
AXES_USERNAME_CALLABLE = "gmi_project.accounts.lockout.username_for_lockout"
AXES_CLIENT_IP_CALLABLE = "gmi_project.accounts.lockout.client_ip"
AXES_LOCKOUT_CALLABLE = "gmi_project.accounts.lockout.lockout_response"
AXES_VERBOSE = False

LANGUAGE_CODE = "en-us"
TIME_ZONE = os.environ.get("DJANGO_TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(os.environ.get("DJANGO_MEDIA_ROOT", BASE_DIR / "media"))

# What a request may make the site hold. The body caps (GENERATIONS["MAX_REQUEST_BYTES"],
# larger only for the views that take files) refuse a body before it is read; within them,
# form fields and JSON take at most 2.5 MB of memory (the body cap), and a file over 1 MB is
# spooled to FILE_UPLOAD_TEMP_DIR (the system's temporary directory unless DJANGO_FILE_UPLOAD_TEMP_DIR).
DATA_UPLOAD_MAX_MEMORY_SIZE = 2560 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 1024 * 1024
DATA_UPLOAD_MAX_NUMBER_FILES = 20
FILE_UPLOAD_TEMP_DIR = os.environ.get("DJANGO_FILE_UPLOAD_TEMP_DIR") or None

LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "generations:gallery"
LOGOUT_REDIRECT_URL = "account_login"
EMAIL_BACKEND = os.environ.get("DJANGO_EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = os.environ.get("DJANGO_DEFAULT_FROM_EMAIL", "portal@localhost")
# With DJANGO_EMAIL_BACKEND=django.core.mail.backends.smtp.EmailBackend: the notifications' SMTP server.
EMAIL_HOST = os.environ.get("DJANGO_EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("DJANGO_EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("DJANGO_EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("DJANGO_EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("DJANGO_EMAIL_USE_TLS", False)
EMAIL_TIMEOUT = 10

# Mirrored videos live under the "generations" alias: local disk by default, S3
# when a bucket is configured. Private files are never served by a public URL:
# the app streams local files itself and redirects to short-lived signed S3 URLs.
if os.environ.get("AWS_STORAGE_BUCKET_NAME"):
    from boto3.s3.transfer import TransferConfig

    # Uploads and downloads move 8 MB parts, 4 at a time (boto3's default is 10). Memory is bounded by
    # what waits besides: an upload from a file object reads parts ahead into memory, 10 by default
    # (80 MB of parts whenever the network is slower than the disk), and a download queues up to
    # 100 blocks of 256 KB for its writer thread; both are held to what the 4 transfers use.
    _S3_TRANSFER = TransferConfig(max_concurrency=4, multipart_chunksize=8 * 1024 * 1024, max_io_queue=16)
    _S3_TRANSFER.max_in_memory_upload_chunks = 4  # not among boto3's keyword arguments; s3transfer's setting
    GENERATIONS_STORAGE = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": os.environ["AWS_STORAGE_BUCKET_NAME"],
            "endpoint_url": os.environ.get("AWS_S3_ENDPOINT_URL") or None,
            "access_key": os.environ.get("AWS_ACCESS_KEY_ID") or None,
            "secret_key": os.environ.get("AWS_SECRET_ACCESS_KEY") or None,
            "region_name": os.environ.get("AWS_S3_REGION_NAME") or None,
            "default_acl": None,
            "querystring_auth": True,
            "querystring_expire": 300,
            "signature_version": "s3v4",
            "addressing_style": os.environ.get("AWS_S3_ADDRESSING_STYLE", "path"),
            "file_overwrite": False,
            # Memory per transfer stays bounded whatever a file weighs: a read spills to a temporary
            # file after 8 MB (django-storages' default, 0, keeps a whole object in memory).
            "max_memory_size": 8 * 1024 * 1024,
            "transfer_config": _S3_TRANSFER,
        },
    }
else:
    GENERATIONS_STORAGE = {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": MEDIA_ROOT / "generations", "base_url": None},
    }

STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
    "generations": GENERATIONS_STORAGE,
}

# django-q2: the ORM broker needs nothing else; REDIS_URL switches to Redis. The
# truth about a generation lives in its row, so a lost task costs latency, not a
# job (the sweeper moves it on). retry must exceed timeout.
Q_CLUSTER = {
    "name": os.environ.get("Q_CLUSTER_NAME", "gmi_portal"),
    "workers": int(os.environ.get("Q_WORKERS", "4")),
    "timeout": 900,  # above MIRROR_DEADLINE (600 s): a long download is never killed mid-copy
    "retry": 960,
    "max_attempts": 3,
    "catch_up": False,
    "ack_failures": True,
    "save_limit": 500,
    "label": "Tasks",
}
if os.environ.get("REDIS_URL"):
    Q_CLUSTER["redis"] = os.environ["REDIS_URL"]
else:
    Q_CLUSTER["orm"] = "default"
    Q_CLUSTER["poll"] = 0.2

# The cache every process shares: API throttling counts calls in it. Redis when REDIS_URL is set,
# else a database table (created by the app's migrations, so `migrate` is the only set-up step).
CACHES: dict[str, dict[str, Any]]
if os.environ.get("REDIS_URL"):
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": os.environ["REDIS_URL"],
            "KEY_PREFIX": "gmi",
        }
    }
else:
    # Throttle counts are one row per member or address and window: room for many before culling.
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "gmi_cache",
            "OPTIONS": {"MAX_ENTRIES": 100_000},
        }
    }

TRUSTED_PROXY_COUNT = int(os.environ.get("TRUSTED_PROXY_COUNT", "0") or 0)

REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    # For DRF's own throttles, should a view use them: the same proxies as the app's request context.
    "NUM_PROXIES": TRUSTED_PROXY_COUNT,
}

SPECTACULAR_SETTINGS = {
    # One name for the webhook event types, used by endpoints and by submissions alike.
    "ENUM_NAME_OVERRIDES": {"WebhookEventEnum": "generations.api.serializers.WEBHOOK_EVENTS"},
    "TITLE": "GMI Video Portal API",
    "DESCRIPTION": "Generate videos with GMI Cloud models under per-user and per-team quotas.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "generations.api.openapi.add_model_payloads",
        "generations.api.openapi.document_throttling",
    ],
}

GMI_API = os.environ.get("GMI_API", "requestqueue")

GENERATIONS = {
    "API": GMI_API,
    "API_KEY": os.environ.get("GMI_API_KEY", ""),
    "ORG_ID": os.environ.get("GMI_ORG_ID", ""),
    "BASE_URL": os.environ.get("GMI_BASE_URL") or None,
    "MODELS_URL": os.environ.get("GMI_MODELS_URL") or None,
    "MIRROR_ALLOWED_HOSTS": env_list(
        "GMI_MIRROR_ALLOWED_HOSTS", "storage.googleapis.com,.gmi-serving.com,.gmicloud.ai"
    ),
    "WEBHOOK_ALLOWED_HOSTS": env_list("GMI_WEBHOOK_ALLOWED_HOSTS", ""),
    "SITE_URL": os.environ.get("GMI_SITE_URL", "http://127.0.0.1:8000"),
    "POLL_INTERVAL": float(os.environ.get("GMI_POLL_INTERVAL", "5")),
    "MAX_IN_FLIGHT": int(os.environ.get("GMI_MAX_IN_FLIGHT", "20")),
    "UPSTREAM_CONCURRENCY": int(os.environ.get("GMI_UPSTREAM_CONCURRENCY", "32")),
    "MIRROR_CONCURRENCY": int(os.environ.get("GMI_MIRROR_CONCURRENCY", "16")),
    "POLL_BY_LIST": env_bool("GMI_POLL_BY_LIST", True),
    "MODERATION": os.environ.get("GMI_MODERATION", "post"),
    "SIGNUP": os.environ.get("GMI_SIGNUP", "open"),
    "NEW_MODELS_ENABLED": env_bool("GMI_NEW_MODELS_ENABLED", True),
    "METRICS_TOKEN": os.environ.get("GMI_METRICS_TOKEN", ""),
    "RETENTION_DAYS": int(os.environ["GMI_RETENTION_DAYS"]) if os.environ.get("GMI_RETENTION_DAYS") else None,
    "TRUSTED_PROXY_COUNT": TRUSTED_PROXY_COUNT,
    "THROTTLE": env_bool("GMI_THROTTLE", True),
    # "scope=rate,..." overrides single rates (README, "Throttling"); the others keep their defaults.
    "THROTTLE_RATES": dict(item.split("=", 1) for item in env_list("GMI_THROTTLE_RATES") if "=" in item),
    "SHARE_LINKS": env_bool("GMI_SHARE_LINKS", True),
    # Submissions need a confirmed e-mail address (accounts that staff create count as confirmed).
    "SUBMIT_POLICY": "gmi_project.accounts.policies.VerifiedEmailSubmitPolicy",
    # E-mails go only to confirmed addresses.
    "NOTIFICATION_POLICY": "gmi_project.accounts.policies.VerifiedEmailNotificationPolicy",
}

# LOG_FORMAT=json: one JSON object per line (README, "Operating"); "text" otherwise.
LOG_FORMAT = os.environ.get("LOG_FORMAT", "text").strip().lower()
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {"()": "generations.logformat.JsonFormatter"},
    },
    # Every handler carries the key filter: defence in depth behind the gmi layer's own redaction.
    "filters": {
        "redact_gmi_key": {"()": "generations.logfilters.RedactGMIKey"},
        "add_context": {"()": "generations.logfilters.AddContext"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "json" if LOG_FORMAT == "json" else "plain",
                             "filters": ["redact_gmi_key", "add_context"]}},
    "loggers": {
        "generations": {"handlers": ["console"], "level": os.environ.get("GMI_LOG_LEVEL", "INFO")},
        "django-q": {"handlers": ["console"], "level": os.environ.get("Q_LOG_LEVEL", "WARNING"), "propagate": False},
    },
}

if HTTPS:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = True
    # Load balancers probe over plain HTTP inside the network: a redirect would read as "down".
    SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = int(os.environ.get("DJANGO_HSTS_SECONDS", "31536000"))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    CSRF_TRUSTED_ORIGINS = [
        f"https://*{host}" if host.startswith(".") else f"https://{host}" for host in ALLOWED_HOSTS if host != "*"
    ]
# Every page: no inline scripts or styles anywhere (the API docs load their init script
# as a file), media from this site or, with S3, from the bucket the signed redirects go to.
_STORAGE_ORIGINS: list[str] = []
if os.environ.get("AWS_STORAGE_BUCKET_NAME"):
    _endpoint = urlsplit(os.environ.get("AWS_S3_ENDPOINT_URL") or "")
    _STORAGE_ORIGINS = (
        [f"{_endpoint.scheme}://{_endpoint.netloc}"]
        if _endpoint.netloc
        else [f"https://{os.environ['AWS_STORAGE_BUCKET_NAME']}.s3.amazonaws.com", "https://*.s3.amazonaws.com"]
    )
CONTENT_SECURITY_POLICY: dict[str, list[str]] = {
    "default-src": ["'self'"],
    "script-src": ["'self'"],
    "style-src": ["'self'"],
    "img-src": ["'self'", "data:", "blob:", *_STORAGE_ORIGINS],
    "media-src": ["'self'", "blob:", *_STORAGE_ORIGINS],
    "font-src": ["'self'", "data:"],
    "connect-src": ["'self'"],
    "object-src": ["'none'"],
    "base-uri": ["'self'"],
    "form-action": ["'self'"],
    "frame-ancestors": ["'none'"],
}
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
