"""An existing Django site that adopts the generations app with the few lines the README shows."""
import os
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
TMP = Path(os.environ.get("HOST_SITE_TMP", tempfile.mkdtemp(prefix="host-site-")))

SECRET_KEY = "host-site-test-key-0123456789-abcdefghijklmnopqrstuvwxyz"
DEBUG = False
ALLOWED_HOSTS = ["testserver", "localhost", "127.0.0.1"]
INSTALLED_APPS = [
    "django.contrib.admin", "django.contrib.auth", "django.contrib.contenttypes", "django.contrib.sessions",
    "django.contrib.messages", "django.contrib.staticfiles",
    "tests.embedding_site.hostaccounts",
    # What the README asks of a host:
    "rest_framework", "django_q", "generations",
]
MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]
ROOT_URLCONF = "tests.embedding_site.urls"
TEMPLATES = [{
    "BACKEND": "django.template.backends.django.DjangoTemplates",
    "DIRS": [HERE / "templates"],
    "APP_DIRS": True,
    "OPTIONS": {"context_processors": [
        "django.template.context_processors.request",
        "django.contrib.auth.context_processors.auth",
        "django.contrib.messages.context_processors.messages",
    ]},
}]
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": str(TMP / "host.sqlite3"),
                         "TEST": {"NAME": str(TMP / "host-test.sqlite3")}}}
AUTH_USER_MODEL = "hostaccounts.Member"
LOGIN_URL = "/signin/"
USE_TZ = True
TIME_ZONE = "Europe/Berlin"
STATIC_URL = "/assets/"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    "generations": {"BACKEND": "django.core.files.storage.FileSystemStorage",
                    "OPTIONS": {"location": str(TMP / "private-videos")}},
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

GENERATIONS = {"API_KEY": "host-site-key", "BASE_TEMPLATE": "host/base.html"}
Q_CLUSTER = {"orm": "default", "sync": True}
