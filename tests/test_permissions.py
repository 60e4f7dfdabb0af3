"""A member's rules over generations and collections, each asked in one place by pages, API and services."""
from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission

from generations import permissions
from generations.models import Collection, Generation, Membership
from tests.helpers.factories import GenerationFactory, MembershipFactory, TeamFactory, UserFactory

pytestmark = pytest.mark.django_db


def _staff_with(*codenames: str):
    staff = UserFactory(username="runner", is_staff=True)
    staff.user_permissions.add(*Permission.objects.filter(content_type__app_label="generations",
                                                          codename__in=codenames))
    return type(staff).objects.get(pk=staff.pk)


def test_only_the_owner_changes_and_deletes_and_staff_with_the_change_permission_cancel(user, other_user):
    job = GenerationFactory(owner=user)
    assert permissions.may_change(user, job) and permissions.may_delete(user, job) and permissions.may_cancel(user, job)
    assert not permissions.may_change(other_user, job)
    assert not permissions.may_delete(other_user, job)
    assert not permissions.may_cancel(other_user, job)
    runner = _staff_with("change_generation")
    assert permissions.may_cancel(runner, job)
    assert not permissions.may_delete(runner, job)  # staff reject instead, which keeps the record


def test_anyone_who_sees_a_video_may_flag_it(user, other_user):
    team = TeamFactory()
    MembershipFactory(team=team, user=user)
    MembershipFactory(team=team, user=other_user)
    shared = GenerationFactory(owner=other_user, team=team, visibility=Generation.Visibility.TEAM)
    private = GenerationFactory(owner=other_user)
    assert permissions.may_flag(user, shared)
    assert not permissions.may_flag(user, private)
    assert permissions.may_flag(_staff_with("view_generation"), private)


def test_a_team_collection_is_managed_by_its_creator_and_the_team_admins(user, other_user):
    team = TeamFactory()
    MembershipFactory(team=team, user=user, role=Membership.Role.MEMBER)
    MembershipFactory(team=team, user=other_user, role=Membership.Role.ADMIN)
    mine = Collection.objects.create(owner=user, team=team, name="Mine")
    theirs = Collection.objects.create(owner=other_user, team=team, name="Theirs")
    assert permissions.may_manage_collection(user, mine)
    assert permissions.may_manage_collection(other_user, mine)
    assert not permissions.may_manage_collection(user, theirs)


def test_files_of_a_removed_video_are_served_only_to_staff_allowed_to_view_any(user):
    removed = GenerationFactory(owner=user, succeeded=True, video_name="v.mp4",
                                moderation=Generation.Moderation.REJECTED)
    assert removed.is_removed
    assert not permissions.may_see_files(user, removed)
    assert permissions.may_see_files(_staff_with("view_generation"), removed)
