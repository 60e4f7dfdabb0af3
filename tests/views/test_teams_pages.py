"""Team pages: creating teams, managing members by role, invitations, the team's usage and videos."""
from __future__ import annotations

from html import unescape

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from generations.models import Generation, Membership, Team, TeamInvitation
from tests.helpers.factories import (
    GenerationFactory,
    MembershipFactory,
    TeamFactory,
    UserFactory,
)
from tests.helpers.pages import signed_in

pytestmark = pytest.mark.django_db

Role = Membership.Role


@pytest.fixture
def team():
    return TeamFactory(name="Studio", slug="studio")


@pytest.fixture
def owner(team, user):
    MembershipFactory(team=team, user=user, role=Role.OWNER)
    return user


@pytest.fixture
def admin_user(team):
    user = UserFactory(username="adam")
    MembershipFactory(team=team, user=user, role=Role.ADMIN)
    return user


@pytest.fixture
def plain_member(team):
    user = UserFactory(username="mia")
    MembershipFactory(team=team, user=user, role=Role.MEMBER)
    return user


def _membership(team, username):
    return Membership.objects.filter(team=team, user__username=username).first()


def test_creating_a_team_makes_the_creator_its_owner(client, user):
    response = signed_in(client, user).post(reverse("generations:teams"), {"name": "Night Shift"})

    team = Team.objects.get(name="Night Shift")
    assert response["Location"] == reverse("generations:team", args=[team.slug])
    assert _membership(team, "alice").role == Role.OWNER


def test_a_team_needs_a_name(client, user):
    response = signed_in(client, user).post(reverse("generations:teams"), {"name": "   "})

    assert response.status_code == 200
    assert not Team.objects.exists()


def test_teams_page_lists_the_members_teams_with_roles(client, owner, team):
    TeamFactory(name="Not mine")

    html = signed_in(client, owner).get(reverse("generations:teams")).content.decode()

    assert "Studio" in html and "Owner" in html
    assert "Not mine" not in html


def test_team_page_shows_members_roles_pool_and_recent_videos(client, owner, team, plain_member):
    GenerationFactory(owner=plain_member, team=team, visibility=Generation.Visibility.TEAM, prompt="team clip",
                      succeeded=True)
    GenerationFactory(owner=plain_member, prompt="mia's private clip")

    response = signed_in(client, owner).get(reverse("generations:team", args=["studio"]))

    html = response.content.decode()
    assert response.status_code == 200
    assert "mia" in html and "Owner" in html
    assert "Monthly pool" in html and "Credits this month" in html and "<svg" in html
    assert "team clip" in html and "private clip" not in html
    assert reverse("generations:team-member-add", args=["studio"]) in html  # owners manage


def test_team_page_is_404_for_someone_outside_the_team(client, team, other_user):
    assert signed_in(client, other_user).get(reverse("generations:team", args=["studio"])).status_code == 404


def test_plain_members_see_no_management_forms(client, team, owner, plain_member):
    html = signed_in(client, plain_member).get(reverse("generations:team", args=["studio"])).content.decode()

    assert f'action="{reverse("generations:team-member-add", args=["studio"])}"' not in html
    assert f'action="{reverse("generations:team-invite", args=["studio"])}"' not in html


def _accept_all(client, *usernames):
    """Each invited person accepts their invitation on their Teams page."""
    for username in usernames:
        invited = UserFactory._meta.model.objects.get(username=username)
        client.force_login(invited)
        for invitation in TeamInvitation.objects.filter(username=username, accepted_at__isnull=True):
            client.post(reverse("generations:team-invitation-accept", args=[invitation.pk]))


def test_owner_invites_a_member_and_an_admin_who_join_by_accepting(client, owner, team, other_user):
    client = signed_in(client, owner)
    UserFactory(username="zed")

    client.post(reverse("generations:team-member-add", args=["studio"]), {"username": "bob", "role": "member"})
    client.post(reverse("generations:team-member-add", args=["studio"]), {"username": "zed", "role": "admin"})

    assert _membership(team, "bob") is None and _membership(team, "zed") is None  # nobody joins unasked
    html = client.get(reverse("generations:team", args=["studio"])).content.decode()
    assert "Waiting for an answer" in html and "<strong>bob</strong>" in html and "<strong>zed</strong>" in html

    _accept_all(client, "bob", "zed")

    assert _membership(team, "bob").role == Role.MEMBER
    assert _membership(team, "zed").role == Role.ADMIN


def test_inviting_answers_the_same_whether_or_not_the_account_exists(client, owner, team, other_user):
    client = signed_in(client, owner)

    def answer(username):
        response = client.post(reverse("generations:team-member-add", args=["studio"]),
                               {"username": username, "role": "member"})
        said = [str(m).replace(username, "NAME") for m in get_messages(response.wsgi_request)][-1:]
        return response.status_code, response["Location"], said

    assert answer("bob") == answer("ghost")
    assert "Invitation recorded for “NAME”" in answer("nobody")[2][0]
    html = client.get(reverse("generations:team", args=["studio"])).content.decode()
    assert all(f"<strong>{name}</strong>" in html for name in ("bob", "ghost", "nobody"))
    assert _membership(team, "bob") is None


def test_plain_member_cannot_add_members(client, team, owner, plain_member, other_user):
    response = signed_in(client, plain_member).post(reverse("generations:team-member-add", args=["studio"]),
                                                    {"username": "bob", "role": "member"}, follow=True)

    assert _membership(team, "bob") is None
    assert "Only the team's owners and admins" in unescape(response.content.decode())


def test_admin_invites_members_and_admins_but_never_changes_an_owner(client, team, owner, admin_user, other_user):
    client = signed_in(client, admin_user)
    UserFactory(username="zed")

    client.post(reverse("generations:team-member-add", args=["studio"]), {"username": "bob", "role": "member"})
    client.post(reverse("generations:team-member-add", args=["studio"]), {"username": "zed", "role": "admin"})
    response = client.post(reverse("generations:team-member-add", args=["studio"]),
                           {"username": owner.username, "role": "member"}, follow=True)
    _accept_all(client, "bob", "zed")

    assert _membership(team, "bob").role == Role.MEMBER
    assert _membership(team, "zed").role == Role.ADMIN
    assert _membership(team, owner.username).role == Role.OWNER
    assert "ownership is not changed" in unescape(response.content.decode())


def test_owner_changes_a_members_role(client, owner, team, plain_member):
    member = _membership(team, "mia")

    signed_in(client, owner).post(reverse("generations:team-member-role", args=["studio", member.pk]),
                                  {"role": "admin"})

    member.refresh_from_db()
    assert member.role == Role.ADMIN


def test_plain_member_cannot_change_roles(client, team, owner, plain_member, admin_user):
    target = _membership(team, "adam")

    signed_in(client, plain_member).post(reverse("generations:team-member-role", args=["studio", target.pk]),
                                         {"role": "member"})

    target.refresh_from_db()
    assert target.role == Role.ADMIN


def test_an_owners_role_is_not_changed_from_the_page(client, team, owner, admin_user):
    owner_membership = _membership(team, "alice")

    signed_in(client, admin_user).post(reverse("generations:team-member-role", args=["studio", owner_membership.pk]),
                                       {"role": "member"})

    owner_membership.refresh_from_db()
    assert owner_membership.role == Role.OWNER


def test_admin_removes_a_member(client, team, owner, admin_user, plain_member):
    target = _membership(team, "mia")

    signed_in(client, admin_user).post(reverse("generations:team-member-remove", args=["studio", target.pk]))

    assert _membership(team, "mia") is None


def test_admin_cannot_remove_the_owner(client, team, owner, admin_user):
    target = _membership(team, "alice")

    response = signed_in(client, admin_user).post(reverse("generations:team-member-remove", args=["studio", target.pk]),
                                                  follow=True)

    assert _membership(team, "alice") is not None
    assert "Only owners can remove an owner" in response.content.decode()


def test_plain_member_cannot_remove_others_but_can_leave(client, team, owner, plain_member, admin_user):
    client = signed_in(client, plain_member)

    client.post(reverse("generations:team-member-remove", args=["studio", _membership(team, "adam").pk]))
    response = client.post(reverse("generations:team-member-remove", args=["studio", _membership(team, "mia").pk]))

    assert _membership(team, "adam") is not None
    assert _membership(team, "mia") is None
    assert response["Location"] == reverse("generations:teams")


def test_the_last_owner_cannot_leave(client, team, owner):
    response = signed_in(client, owner).post(
        reverse("generations:team-member-remove", args=["studio", _membership(team, "alice").pk]), follow=True)

    assert _membership(team, "alice") is not None
    assert "needs an owner" in response.content.decode()


def test_member_actions_on_another_teams_member_are_404(client, owner, team):
    other_team = TeamFactory(slug="other")
    stranger = MembershipFactory(team=other_team)

    response = signed_in(client, owner).post(reverse("generations:team-member-remove", args=["studio", stranger.pk]))

    assert response.status_code == 404
    assert Membership.objects.filter(pk=stranger.pk).exists()


def test_admin_creates_an_invitation_link_that_a_user_accepts(client, team, owner, admin_user, other_user):
    signed_in(client, admin_user).post(reverse("generations:team-invite", args=["studio"]),
                                       {"email": "bob@example.com", "role": "member"})
    invitation = TeamInvitation.objects.get(team=team)
    html = client.get(reverse("generations:team", args=["studio"])).content.decode()
    link = f"http://testserver{reverse('generations:team-join', args=[invitation.token])}"
    assert link in html

    client.force_login(other_user)
    page = client.get(reverse("generations:team-join", args=[invitation.token])).content.decode()
    response = client.post(reverse("generations:team-join", args=[invitation.token]))

    assert "Join Studio" in page
    assert response["Location"] == reverse("generations:team", args=["studio"])
    assert _membership(team, "bob").role == Role.MEMBER
    invitation.refresh_from_db()
    assert invitation.accepted_by == other_user
    assert client.get(reverse("generations:team-join", args=[invitation.token])).status_code == 404


def test_plain_member_cannot_create_invitations(client, team, owner, plain_member):
    signed_in(client, plain_member).post(reverse("generations:team-invite", args=["studio"]), {"role": "member"})

    assert not TeamInvitation.objects.exists()


def test_a_team_named_join_keeps_its_member_pages(client, user, other_user):
    signed_in(client, user).post(reverse("generations:teams"), {"name": "Join"})
    team = Team.objects.get(slug="join")

    client.post(reverse("generations:team-member-add", args=["join"]), {"username": "bob", "role": "member"})
    _accept_all(client, "bob")

    assert _membership(team, "bob") is not None
    client.force_login(user)
    assert client.get(reverse("generations:team", args=["join"])).status_code == 200


def test_invitation_links_can_be_withdrawn_and_expire(client, owner, team):
    from datetime import timedelta

    from django.utils import timezone

    from generations.models import TeamInvitation
    from generations.services import teams as team_service

    client = signed_in(client, owner)
    first = team_service.invite(team=team, actor=owner)
    client.post(reverse("generations:team-invite-revoke", args=[team.slug, first.pk]))
    assert not TeamInvitation.objects.filter(pk=first.pk).exists()
    old = team_service.invite(team=team, actor=owner)
    TeamInvitation.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=30))
    joiner = UserFactory(username="late")
    from generations.exceptions import InvalidTransition

    with pytest.raises(InvalidTransition):
        team_service.accept_invitation(token=old.token, user=joiner)
    assert _membership(team, "late") is None


# --------------------------------------------------------------------------- added by staff without asking


def test_someone_added_by_username_is_told_on_their_next_page_and_leaves_in_one_click(client, owner, team,
                                                                                        other_user):

    added = MembershipFactory(team=team, user=other_user, seen_at=None)  # staff added them in the admin

    page = unescape(signed_in(client, other_user).get(reverse("generations:gallery")).content.decode())
    assert "You were added to the team <strong>Studio</strong>" in page
    assert f'href="{reverse("generations:team", args=["studio"])}"' in page and "Open team" in page
    leave = reverse("generations:team-member-remove", args=["studio", added.pk])
    assert f'action="{leave}"' in page

    response = client.post(leave)

    assert response.status_code == 302 and _membership(team, other_user.username) is None
    assert "You were added to the team" not in client.get(reverse("generations:gallery")).content.decode()


def test_a_team_you_were_added_to_fills_your_gallery_only_once_you_open_it(client, owner, team, other_user):

    GenerationFactory(owner=owner, team=team, visibility="team", succeeded=True, prompt="unwanted clip")
    MembershipFactory(team=team, user=other_user, seen_at=None)  # staff added them in the admin
    signed_in(client, other_user)
    team_tab = reverse("generations:gallery") + "?tab=team"

    assert "unwanted clip" not in client.get(team_tab).content.decode()
    assert client.get("/api/v1/generations/").json()["count"] == 0

    assert client.get(reverse("generations:team", args=["studio"])).status_code == 200

    assert _membership(team, other_user.username).seen_at is not None
    assert "unwanted clip" in client.get(team_tab).content.decode()
    assert client.get("/api/v1/generations/").json()["count"] == 1
    assert "You were added to the team" not in client.get(team_tab).content.decode()


def test_reading_the_team_in_the_api_opens_it(client, owner, team, other_user):

    GenerationFactory(owner=owner, team=team, visibility="team", succeeded=True)
    MembershipFactory(team=team, user=other_user, seen_at=None)  # staff added them in the admin
    signed_in(client, other_user)
    assert client.get("/api/v1/generations/", {"team": "studio"}).json()["count"] == 0

    assert client.get("/api/v1/teams/studio/").status_code == 200

    assert client.get("/api/v1/generations/", {"team": "studio"}).json()["count"] == 1


def test_creators_and_people_who_accept_an_invitation_have_opened_their_team(client, user, other_user):
    from generations.services import teams

    team = teams.create_team(user=user, name="Ours")
    invitation = teams.invite(team=team, actor=user)
    MembershipFactory(team=team, user=other_user, seen_at=None)  # staff added them in the admin

    teams.accept_invitation(token=invitation.token, user=other_user)  # consent after being added

    assert Membership.objects.filter(team=team, seen_at__isnull=True).count() == 0


def test_open_invitation_links_beyond_the_cap_are_refused_until_one_is_revoked(client, owner, team):
    from tests.helpers.settings import override_generations

    signed_in(client, owner)
    invite = reverse("generations:team-invite", args=["studio"])
    with override_generations(MAX_PENDING_INVITATIONS_PER_TEAM=2):
        client.post(invite, {"role": "member"})
        client.post(invite, {"role": "member"})
        refused = client.post(invite, {"role": "member"}, follow=True)
        assert "already has 2 open invitation links" in unescape(refused.content.decode())
        assert TeamInvitation.objects.filter(team=team).count() == 2
        first = TeamInvitation.objects.filter(team=team).first()
        client.post(reverse("generations:team-invite-revoke", args=["studio", first.pk]))
        client.post(invite, {"role": "member"})
    assert TeamInvitation.objects.filter(team=team).count() == 2
