"""manage.py gmi_quota: show or set a user's quota limits, or a team's pools (``none`` clears an override)."""
from __future__ import annotations

import argparse
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from ...metrics import TEAM_METRICS, USER_METRICS
from ...models import Team
from ...selectors import quotas as quota_reads
from ...services import accounts, staff

CLEAR = object()  # "none" on the command line: remove the override, back to the site default


def limit_value(text: str) -> Any:
    if text.strip().lower() in ("none", "default", "clear"):
        return CLEAR
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number or 'none', got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError("limits cannot be negative")
    return value


class Command(BaseCommand):
    requires_system_checks: list[str] = []  # a clear message of its own beats a wall of check warnings
    help = (
        "Show a user's effective limits and current usage, or set their overrides "
        "(``none`` clears one). With --team SLUG, the same for a team's pools."
    )

    def add_arguments(self, parser):
        parser.add_argument("username", nargs="?", help="The user (leave out with --team).")
        parser.add_argument("--team", metavar="SLUG", help="Show or set this team's pools instead.")
        for name in USER_METRICS:
            parser.add_argument(f"--{name.replace('_', '-')}", dest=name, type=limit_value, metavar="N|none")

    def handle(self, *args, username: str | None, team: str | None, **options):
        changes = {name: options[name] for name in USER_METRICS if options.get(name) is not None}
        if team and username:
            raise CommandError("Give a username or --team SLUG, not both.")
        if team:
            self._team(team, changes)
        elif username:
            self._user(username, changes)
        else:
            raise CommandError("Give a username, or --team SLUG.")

    def _user(self, username: str, changes: dict[str, Any]) -> None:
        User = get_user_model()
        try:
            user = User._default_manager.get_by_natural_key(username)
        except User.DoesNotExist:
            raise CommandError(f"There is no user {username!r}.") from None
        profile = accounts.profile_for(user)
        if changes:
            profile = staff.set_user_limits(
                user=user, limits={name: None if value is CLEAR else value for name, value in changes.items()}
            )
            self.stdout.write(self.style.SUCCESS(f"Updated the limits of {username}."))
        overrides = {name: getattr(profile, name) for name in USER_METRICS}
        user.gmi_profile = profile  # the policy reads overrides from here
        usage = quota_reads.usage_for_user(user)
        self._print(f"Quota of {username}", usage, overrides)
        for pool in usage.get("teams", []):
            self.stdout.write("")
            self._print(f"Team {pool['name']} ({pool['team']}), shared pools", pool, None)

    def _team(self, slug: str, changes: dict[str, Any]) -> None:
        team = Team.objects.filter(slug=slug).first()
        if team is None:
            raise CommandError(f"There is no team {slug!r}.")
        wrong = sorted(set(changes) - set(TEAM_METRICS))
        if wrong:
            raise CommandError("Teams have only --monthly-video-seconds and --monthly-credits pools, not "
                               + ", ".join("--" + name.replace("_", "-") for name in wrong) + ".")
        if changes:
            staff.set_team_limits(
                team=team, limits={name: None if value is CLEAR else value for name, value in changes.items()}
            )
            self.stdout.write(self.style.SUCCESS(f"Updated the pools of team {slug}."))
        overrides = {name: getattr(team, name) for name in TEAM_METRICS}
        self._print(f"Team {team.name} ({slug})", quota_reads.usage_for_team(team), overrides)

    def _print(self, heading: str, usage: dict[str, Any], overrides: dict[str, Any] | None) -> None:
        self.stdout.write(heading)
        rows = [("limit", "effective", "used", "remaining", "resets at")]
        for name, limit in usage["limits"].items():
            effective = "unlimited" if limit is None else str(limit)
            if overrides is not None:
                effective += " (override)" if overrides.get(name) is not None else " (default)"
            remaining = usage["remaining"].get(name)
            rows.append((
                name, effective, str(usage["used"].get(name, 0)), "—" if remaining is None else str(remaining),
                usage["resets_at"].get(name) or "—",
            ))
        widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
        for row in rows:
            self.stdout.write("  " + "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip())
