"""Run the test OpenID Connect provider: ``python -m tests.oidc_provider.serve CLIENT_ID SECRET REDIRECT_URI``.

Creates its database, one confidential client (authorization code, RS256, no consent screen)
and the users given as USER:PASSWORD:EMAIL in OIDC_PROVIDER_USERS, then serves on 127.0.0.1 on
a free port and prints ``PORT <n>`` once it listens.
"""
from __future__ import annotations

import os
import sys
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server


class QuietHandler(WSGIRequestHandler):
    def log_message(self, format, *args):
        pass


class ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


def main() -> None:
    client_id, secret, redirect_uri = sys.argv[1:4]
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.oidc_provider.settings")
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.core.wsgi import get_wsgi_application
    from oauth2_provider.models import Application

    call_command("migrate", verbosity=0)
    User = get_user_model()
    for spec in filter(None, os.environ.get("OIDC_PROVIDER_USERS", "").split(",")):
        username, password, email = spec.split(":")
        User.objects.create_user(username=username, password=password, email=email)
    Application.objects.create(
        name="Video Portal", client_id=client_id, client_secret=secret, redirect_uris=redirect_uri,
        client_type=Application.CLIENT_CONFIDENTIAL, authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE,
        algorithm=Application.RS256_ALGORITHM, skip_authorization=True)
    server = make_server("127.0.0.1", 0, get_wsgi_application(), server_class=ThreadingServer,
                         handler_class=QuietHandler)
    print(f"PORT {server.server_port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
