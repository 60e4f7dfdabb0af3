"""Management commands of SPEC §3.3: gmi_sync_models, gmi_token, gmi_blocked_terms, gmi_quota."""
from __future__ import annotations

import io
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from generations.models import (
    ApiToken,
    BlockedTerm,
    Team,
    UsageCounter,
    UserProfile,
    VideoModel,
)
from generations.selectors.quotas import period_for
from generations.services import moderation, tokens
from tests.helpers.factories import (
    MembershipFactory,
    ProfileFactory,
    TeamFactory,
    UserFactory,
    VideoModelFactory,
)
from tests.helpers.settings import override_generations

ROOT = Path(__file__).resolve().parents[2]


def run(*args, **options) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command(*args, stdout=out, stderr=err, **options)
    return out.getvalue(), err.getvalue()


# --------------------------------------------------------------------------- gmi_sync_models


def test_sync_models_fills_the_catalogue_and_reports_progress(gmi, db):
    out, _ = run("gmi_sync_models")

    assert VideoModel.objects.filter(pk="Veo3", enabled=True, available=True).exists()
    assert "GMI lists" in out
    assert "Veo3: added" in out
    assert "Catalogue synced:" in out


def test_sync_models_keeps_staff_settings_of_known_models(gmi, db):
    VideoModelFactory(id="Veo3", enabled=False, price_credits=Decimal("42"), position=1)

    out, _ = run("gmi_sync_models")

    veo = VideoModel.objects.get(pk="Veo3")
    assert (veo.enabled, veo.price_credits, veo.position) == (False, Decimal("42"), 1)
    assert "Veo3: updated" in out


def test_sync_models_when_gmi_cannot_be_reached_is_a_clear_command_error(db, settings):
    settings.GENERATIONS = {
        "API_KEY": "sk-test", "BASE_URL": "http://127.0.0.1:9/api/v1/ie/requestqueue/apikey",
        "CONNECT_TIMEOUT": 0.5, "READ_TIMEOUT": 0.5,
    }

    with pytest.raises(CommandError, match="Could not read the model list from GMI"):
        run("gmi_sync_models")


def test_sync_models_when_gmi_keeps_failing_is_a_command_error_and_changes_nothing(gmi, db):
    gmi.set_fault("server_error", count=50, status=503)

    with pytest.raises(CommandError, match="Could not read the model list from GMI"):
        run("gmi_sync_models")
    assert not VideoModel.objects.exists()


def test_sync_models_without_a_key_exits_non_zero_without_a_traceback(tmp_path):
    env = {
        **os.environ, "DJANGO_DEBUG": "1", "GMI_API_KEY": "", "DJANGO_SETTINGS_MODULE": "gmi_project.settings",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "gmi_sync_models"], cwd=ROOT, env=env, capture_output=True, text=True,
        timeout=60,
    )

    assert result.returncode == 1
    assert "GMI is not configured" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


# --------------------------------------------------------------------------- gmi_token


def test_token_prints_the_key_once_and_stores_only_its_hash(db):
    alice = UserFactory(username="alice")

    out, err = run("gmi_token", "alice", "--name", "CI")

    key = out.strip()
    token = ApiToken.objects.get(user=alice)
    assert token.name == "CI"
    assert key.startswith(token.prefix)
    assert token.key_hash == tokens.hash_key(key) != key
    assert tokens.authenticate_key(key) == token
    assert "cannot be shown again" in err
    assert key not in err


def test_token_for_an_unknown_user_is_a_command_error(db):
    with pytest.raises(CommandError, match="no user 'ghost'"):
        run("gmi_token", "ghost")
    assert not ApiToken.objects.exists()


# --------------------------------------------------------------------------- gmi_blocked_terms


def test_blocked_terms_add_list_remove_round_trip(db):
    out, _ = run("gmi_blocked_terms", "add", "Violence", "gore", "v1olence")
    assert "Added 2 terms." in out
    assert "1 was already blocked." in out
    assert set(BlockedTerm.objects.values_list("normalized", flat=True)) == {"violence", "gore"}
    assert moderation.blocked_term_in("so much VIOLENCE here") == "violence"

    out, _ = run("gmi_blocked_terms", "list")
    assert out.splitlines() == ["gore", "Violence\t(matches 'violence')"]

    out, _ = run("gmi_blocked_terms", "remove", "VIOLENCE", "unknown")
    assert "Removed 1 term." in out
    assert "1 was not on the list." in out
    assert list(BlockedTerm.objects.values_list("normalized", flat=True)) == ["gore"]


def test_blocked_terms_list_when_empty_and_add_without_terms(db):
    out, _ = run("gmi_blocked_terms", "list")
    assert out.strip() == "No blocked terms."
    with pytest.raises(CommandError, match="at least one term"):
        run("gmi_blocked_terms", "add")
    with pytest.raises(CommandError, match="no letters or digits"):
        run("gmi_blocked_terms", "add", "...")


def test_blocked_terms_refuses_an_unknown_action(db):
    with pytest.raises(CommandError):
        run("gmi_blocked_terms", "purge")


# --------------------------------------------------------------------------- gmi_quota


def test_quota_without_options_prints_effective_limits_and_current_usage(db):
    alice = UserFactory(username="alice")
    ProfileFactory(user=alice, daily_jobs=7)
    UsageCounter.objects.create(user=alice, metric="daily_jobs", period=period_for("daily_jobs"), used=3)

    with override_generations(DEFAULT_LIMITS={"monthly_credits": 500}):
        out, _ = run("gmi_quota", "alice")

    lines = {line.split()[0]: line for line in out.splitlines()[2:]}
    assert "7 (override)" in lines["daily_jobs"] and " 3 " in lines["daily_jobs"] and " 4 " in lines["daily_jobs"]
    assert "3 (default)" in lines["concurrent_jobs"]
    assert "500 (default)" in lines["monthly_credits"]


def test_quota_sets_and_clears_user_overrides(db):
    alice = UserFactory(username="alice")
    ProfileFactory(user=alice, monthly_credits=100)

    out, _ = run("gmi_quota", "alice", "--daily-jobs", "5", "--concurrent-jobs", "0",
                 "--monthly-video-seconds", "600", "--monthly-credits", "none")

    profile = UserProfile.objects.get(user=alice)
    assert (profile.daily_jobs, profile.concurrent_jobs, profile.monthly_video_seconds, profile.monthly_credits) == (
        5, 0, 600, None)
    assert "Updated the limits of alice." in out
    assert "5 (override)" in out


def test_quota_creates_the_profile_of_a_user_who_has_none(db):
    bob = UserFactory(username="bob")

    run("gmi_quota", "bob", "--daily-jobs", "2")

    assert UserProfile.objects.get(user=bob).daily_jobs == 2


def test_quota_for_a_user_also_shows_their_team_pools(db):
    alice = UserFactory(username="alice")
    MembershipFactory(user=alice, team=TeamFactory(name="Studio", slug="studio", monthly_credits=900))

    out, _ = run("gmi_quota", "alice")

    assert "Team Studio (studio), shared pools" in out
    assert "900" in out


def test_quota_sets_and_clears_team_pools(db):
    team = TeamFactory(slug="studio", monthly_credits=50)

    out, _ = run("gmi_quota", "--team", "studio", "--monthly-video-seconds", "1200", "--monthly-credits", "none")

    team.refresh_from_db()
    assert (team.monthly_video_seconds, team.monthly_credits) == (1200, None)
    assert "1200 (override)" in out
    assert "unlimited (default)" in out


def test_quota_refuses_user_only_limits_for_a_team(db):
    TeamFactory(slug="studio")

    with pytest.raises(CommandError, match="--daily-jobs"):
        run("gmi_quota", "--team", "studio", "--daily-jobs", "3")


@pytest.mark.parametrize("args, message", [
    (("ghost",), "no user 'ghost'"),
    (("--team", "ghosts"), "no team 'ghosts'"),
    ((), "Give a username"),
])
def test_quota_for_unknown_subjects_is_a_command_error(db, args, message):
    with pytest.raises(CommandError, match=message):
        run("gmi_quota", *args)
    assert not Team.objects.exists()


@pytest.mark.parametrize("value", ["x", "-1", "1.5"])
def test_quota_refuses_values_that_are_not_whole_numbers_or_none(db, value):
    UserFactory(username="alice")

    with pytest.raises(CommandError):
        run("gmi_quota", "alice", "--daily-jobs", value)
    assert not UserProfile.objects.filter(daily_jobs__isnull=False).exists()


def test_quota_for_an_unknown_user_exits_non_zero_without_a_traceback(tmp_path):
    env = {
        **os.environ, "DJANGO_DEBUG": "1", "DJANGO_SETTINGS_MODULE": "gmi_project.settings",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
    }
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True, timeout=120)
    result = subprocess.run(
        [sys.executable, "manage.py", "gmi_quota", "ghost"], cwd=ROOT, env=env, capture_output=True, text=True,
        timeout=60,
    )

    assert result.returncode == 1
    assert "There is no user 'ghost'." in result.stderr
    assert "Traceback" not in result.stderr


def test_token_for_an_account_waiting_for_approval_is_a_command_error(db):
    UserFactory(username="newbie", awaiting_approval=True)

    with pytest.raises(CommandError, match="waiting for approval"):
        run("gmi_token", "newbie")
    assert not ApiToken.objects.exists()
