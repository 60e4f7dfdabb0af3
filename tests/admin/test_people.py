"""Teams, profiles on the user's page, account approval and API tokens in the admin."""
from __future__ import annotations

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.auth import get_user_model
from django.urls import reverse

from generations.selectors import quotas as quota_reads
from generations.services import tokens
from tests.admin.helpers import change, changelist, messages_of
from tests.helpers.factories import MembershipFactory, ProfileFactory, TeamFactory, UserFactory

pytestmark = pytest.mark.django_db


# --------------------------------------------------------------------------- teams, profiles, users


def test_team_page_has_members_inline_and_its_pools(staff_client):
    team = TeamFactory(name="Studio", monthly_credits=500)
    MembershipFactory(team=team, user=UserFactory(username="erin"))

    html = staff_client.get(change(team)).content.decode()

    assert "memberships-0-user" in html
    assert 'name="monthly_credits"' in html and 'value="500"' in html
    assert "Usage this month" in html


def test_approve_accounts_action_approves_waiting_profiles(staff_client):
    waiting = ProfileFactory(user=UserFactory(username="newbie"), approved=False)
    already = ProfileFactory(user=UserFactory(username="old"), approved=True)

    response = staff_client.post(changelist("userprofile"), {
        "action": "approve_accounts", ACTION_CHECKBOX_NAME: [waiting.pk, already.pk]}, follow=True)

    waiting.refresh_from_db()
    assert waiting.approved
    message = messages_of(response)[0]
    assert "Approved 1 account." in message and "already approved (old)" in message


def test_user_admin_page_carries_the_quota_overrides(staff_client):
    member = UserFactory(username="frank")
    ProfileFactory(user=member, daily_jobs=9)
    User = get_user_model()
    url = reverse(f"admin:{User._meta.app_label}_{User._meta.model_name}_change", args=[member.pk])

    html = staff_client.get(url).content.decode()

    assert "video portal profile" in html.lower()
    assert 'name="gmi_profile-0-daily_jobs"' in html and 'value="9"' in html


def test_profile_override_saved_from_the_user_page_changes_the_limits(staff_client):
    member = UserFactory(username="gina")
    profile = ProfileFactory(user=member)

    staff_client.post(change(profile), {
        "approved": "on", "daily_jobs": "4", "concurrent_jobs": "", "monthly_video_seconds": "",
        "monthly_credits": "", "current_team": "",
    })

    profile.refresh_from_db()
    assert profile.daily_jobs == 4
    assert quota_reads.usage_for_user(member)["limits"]["daily_jobs"] == 4


def test_tokens_show_only_their_prefix_and_can_be_revoked(staff_client, user):
    token, key = tokens.create_token(user=user, name="laptop")

    listing = staff_client.get(changelist("apitoken")).content.decode()
    page = staff_client.get(change(token)).content.decode()
    assert token.prefix in listing
    for html in (listing, page):
        assert key not in html and token.key_hash not in html and key[12:] not in html

    response = staff_client.post(changelist("apitoken"), {
        "action": "revoke_tokens", ACTION_CHECKBOX_NAME: [token.pk]}, follow=True)

    token.refresh_from_db()
    assert token.revoked_at is not None
    assert tokens.authenticate_key(key) is None
    assert "Revoked 1 token." in messages_of(response)[0]


def test_team_admin_refuses_to_remove_the_last_owner(staff_client):
    from generations.models import Membership

    team = TeamFactory(slug="lonely")
    owner = MembershipFactory(team=team, role="owner")
    url = reverse("admin:generations_team_change", args=[team.pk])
    data = {
        "name": team.name, "slug": team.slug, "monthly_video_seconds": "", "monthly_credits": "",
        "memberships-TOTAL_FORMS": "1", "memberships-INITIAL_FORMS": "1", "memberships-MIN_NUM_FORMS": "0",
        "memberships-MAX_NUM_FORMS": "1000", "memberships-0-id": str(owner.pk), "memberships-0-team": str(team.pk),
        "memberships-0-user": str(owner.user_id), "memberships-0-role": "member",
    }
    response = staff_client.post(url, data)
    assert response.status_code == 200 and "at least one owner" in response.content.decode()
    assert Membership.objects.get(pk=owner.pk).role == "owner"
