"""gunicorn settings for the portal's web machines (README, "Deployment"): `gunicorn gmi_project.wsgi` reads this file.

gunicorn has no cap on a request body: the site refuses bodies over its caps before reading them
(generations.request_limits), and the reverse proxy in front caps them first (client_max_body_size).
These limits bound what gunicorn itself reads before Django sees a request.
"""
import os

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8001")
workers = int(os.environ.get("WEB_CONCURRENCY", "4"))
# The request line (method, path and query) and the headers: a URL of the portal is far below
# 4 KB, a header (cookies included) below 8 KB; more is refused with 400 before any view runs.
limit_request_line = 4094
limit_request_fields = 64
limit_request_field_size = 8190
# A worker stuck on one request this long is restarted; behind a buffering proxy a body
# arrives whole, so only a slow view ever comes near it.
timeout = 60
graceful_timeout = 30
keepalive = 5
# Recycle workers now and then, so a slow leak in any library never grows without bound.
max_requests = 2000
max_requests_jitter = 200
# The heartbeat file in memory: a busy or slow disk cannot make the arbiter kill healthy workers.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None
# Only the local proxy may say which scheme and address a client used.
forwarded_allow_ips = os.environ.get("GUNICORN_FORWARDED_ALLOW_IPS", "127.0.0.1")
accesslog = os.environ.get("GUNICORN_ACCESS_LOG") or None
