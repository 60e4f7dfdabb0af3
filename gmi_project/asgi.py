"""ASGI entry point; the site is deployed under gunicorn (WSGI), and bodies are capped here too."""
import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gmi_project.settings")
django_application = get_asgi_application()

from generations.request_limits import ASGIBodyLimit  # noqa: E402  (needs the settings set up above)
from generations.services.uploads import upload_request_max_bytes  # noqa: E402

# No view accepts more than a file upload does; Django's ASGI handler would spool any body whole.
application = ASGIBodyLimit(django_application, upload_request_max_bytes)
