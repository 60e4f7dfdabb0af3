"""Settings for bench/web.py only: the portal's settings plus bare floor views, never used by the product."""
from gmi_project.settings import *  # noqa: F403
from gmi_project.settings import STORAGES

ROOT_URLCONF = "bench.web_urls"
# Plain static storage: the bench serves pages without running collectstatic first.
STORAGES = {**STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}
