"""Settings for the test suite: the site's settings with tasks run synchronously."""
import os

os.environ.setdefault("DJANGO_DEBUG", "1")

from gmi_project.settings import *  # noqa: F403

# django-q2 reads Q_CLUSTER once at import time, so the test settings decide it.
# In sync mode async_task runs the task inline, in the caller's thread.
Q_CLUSTER = {**Q_CLUSTER, "sync": True}  # noqa: F405
if "redis" not in Q_CLUSTER:
    Q_CLUSTER["orm"] = "default"

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGES = {
    **STORAGES,  # noqa: F405
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# Each test process counts throttled calls in its own memory (no cache queries in pinned query
# counts); tests/conftest.py clears it before every test so counts never leak between tests.
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "gmi-tests"}}
