"""manage.py gmi_token USERNAME [--scope read|read+submit] [--expires DAYS|DATE]: create a personal API token and
print its key, once."""
from __future__ import annotations

from datetime import datetime, time, timedelta

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from ...exceptions import GenerationError
from ...services import tokens


class Command(BaseCommand):
    requires_system_checks: list[str] = []  # a clear message of its own beats a wall of check warnings
    help = "Create a personal API token for a user and print its key (it cannot be shown again)."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--name", default="API token", help="A label for the token (default: %(default)s).")
        parser.add_argument("--scope", default="read+submit", choices=tokens.SCOPES,
                            help="read: GET requests only; read+submit: everything (default: %(default)s).")
        parser.add_argument("--expires", default="", metavar="DAYS|DATE",
                            help="Expire after DAYS days, or at DATE (YYYY-MM-DD or an ISO time). Default: never.")

    def handle(self, *args, username: str, name: str, scope: str, expires: str, **options):
        expires_at = _expiry(expires)
        User = get_user_model()
        try:
            user = User._default_manager.get_by_natural_key(username)
        except User.DoesNotExist:
            raise CommandError(f"There is no user {username!r}.") from None
        if not user.is_active:
            raise CommandError(f"The user {username!r} is inactive; a token would not work.")
        try:
            token, key = tokens.create_token(user=user, name=name, scope=scope, expires_at=expires_at)
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        except GenerationError as exc:  # waiting for approval, too many tokens
            raise CommandError(f"No token for {username!r}: {exc.message}") from None
        # The key alone on stdout, so scripts can capture it; the explanation goes to stderr.
        self.stdout.write(key)
        until = f"until {token.expires_at.isoformat()}" if token.expires_at else "until revoked"
        self.stderr.write(
            f"Created token {token.name!r} ({token.prefix}…, {token.scope}, {until}) for {username}. "
            "Store the key now: it is not kept and cannot be shown again."
        )


def _expiry(value: str) -> datetime | None:
    """``--expires``: a number of days from now, a date (its end, in the site's time zone) or a time."""
    value = (value or "").strip()
    if not value:
        return None
    if value.isdigit():
        if int(value) < 1:
            raise CommandError("--expires needs at least 1 day.")
        return timezone.now() + timedelta(days=int(value))
    moment = parse_datetime(value)
    if moment is None:
        day = parse_date(value)
        if day is None:
            raise CommandError(f"--expires {value!r}: give a number of days, a date (YYYY-MM-DD) or an ISO time.")
        moment = datetime.combine(day, time.max)
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment)
    return moment
