"""manage.py gmi_token USERNAME: create a personal API token and print its key, once."""
from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from ...exceptions import GenerationError
from ...services import tokens


class Command(BaseCommand):
    requires_system_checks: list[str] = []  # a clear message of its own beats a wall of check warnings
    help = "Create a personal API token for a user and print its key (it cannot be shown again)."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--name", default="API token", help="A label for the token (default: %(default)s).")

    def handle(self, *args, username: str, name: str, **options):
        User = get_user_model()
        try:
            user = User._default_manager.get_by_natural_key(username)
        except User.DoesNotExist:
            raise CommandError(f"There is no user {username!r}.") from None
        if not user.is_active:
            raise CommandError(f"The user {username!r} is inactive; a token would not work.")
        try:
            token, key = tokens.create_token(user=user, name=name)
        except GenerationError as exc:  # waiting for approval, too many tokens
            raise CommandError(f"No token for {username!r}: {exc.message}") from None
        # The key alone on stdout, so scripts can capture it; the explanation goes to stderr.
        self.stdout.write(key)
        self.stderr.write(
            f"Created token {token.name!r} ({token.prefix}…) for {username}. "
            "Store the key now: it is not kept and cannot be shown again."
        )
