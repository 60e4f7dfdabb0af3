"""Staff powers outside the admin follow the admin's model permissions: refused exactly where the admin refuses."""
from __future__ import annotations

import json

import pytest
from django.contrib.auth.models import Permission
from django.core.files.base import ContentFile
from django.core.files.storage import storages
from django.urls import reverse

from generations import permissions
from generations.exceptions import NotAllowed, NotFound
from generations.models import Flag, Generation, Membership
from generations.services import moderation, submissions
from tests.helpers.factories import GenerationFactory, MembershipFactory, TeamFactory, UserFactory

pytestmark = pytest.mark.django_db

API = "/api/v1"
VIDEO = b"\x00\x00\x00\x18ftypmp42" + bytes(200)
THUMBNAIL = b"\xff\xd8\xff\xe0" + bytes(50)


def grant(user, *codenames: str):
    user.user_permissions.add(*Permission.objects.filter(content_type__app_label="generations",
                                                         codename__in=codenames))
    # A fresh object: has_perm caches the permissions it read on the instance.
    return type(user).objects.get(pk=user.pk)


@pytest.fixture
def clerk():
    """Staff, so the admin lets them log in, but without a single permission."""
    return UserFactory(username="clerk", is_staff=True)


@pytest.fixture
def private_video(other_user):
    """Someone else's private, finished video with both files in storage."""
    storage = storages["generations"]
    return GenerationFactory(
        owner=other_user, succeeded=True,
        video_name=storage.save(f"{other_user.pk}/v/video.mp4", ContentFile(VIDEO)), video_size=len(VIDEO),
        thumbnail_name=storage.save(f"{other_user.pk}/v/thumbnail.jpg", ContentFile(THUMBNAIL)),
        thumbnail_content_type="image/jpeg",
    )


@pytest.fixture
def queued_job(other_user):
    return GenerationFactory(owner=other_user)


@pytest.fixture
def other_team(other_user):
    team = TeamFactory(name="Elsewhere", slug="elsewhere")
    MembershipFactory(team=team, user=other_user, role=Membership.Role.OWNER)
    return team


def api_urls(generation: Generation) -> dict[str, str]:
    base = f"{API}/generations/{generation.pk}/"
    return {"detail": base, "video": base + "video/", "thumbnail": base + "thumbnail/"}


def moderate(client, generation: Generation, decision: str = "reject"):
    return client.post(f"{API}/generations/{generation.pk}/moderate/",
                       json.dumps({"decision": decision, "reason": "Against the rules"}),
                       content_type="application/json")


def cancel(client, generation: Generation):
    return client.post(f"{API}/generations/{generation.pk}/cancel/")


def listed_ids(client) -> set[str]:
    return {item["id"] for item in client.get(f"{API}/generations/").json()["results"]}


def status_ids(client, *generations: Generation) -> set[str]:
    ids = ",".join(str(g.pk) for g in generations)
    return {item["id"] for item in client.get(reverse("generations:status"), {"ids": ids}).json()["items"]}


# --------------------------------------------------------------------------- the predicates


def test_every_power_needs_staff_and_the_admins_permission(clerk, other_user):
    assert not any(check(clerk) for check in (
        permissions.can_view_any_generation, permissions.can_moderate_generations,
        permissions.can_cancel_any_generation, permissions.can_review_flags, permissions.can_view_any_team))
    # A permission on an account the admin would not let in grants nothing either.
    member = grant(other_user, "view_generation", "change_generation", "view_team")
    assert not permissions.can_view_any_generation(member)
    assert not permissions.can_moderate_generations(member)
    assert not permissions.can_view_any_team(member)

    inactive = grant(UserFactory(username="gone", is_staff=True, is_active=False), "view_generation")
    assert not permissions.can_view_any_generation(inactive)
    superuser = UserFactory(username="root", is_staff=True, is_superuser=True)
    assert permissions.can_moderate_generations(superuser) and permissions.can_view_any_team(superuser)


def test_change_permission_also_views_as_in_the_admin(clerk):
    editor = grant(clerk, "change_generation", "change_team")

    assert permissions.can_view_any_generation(editor) and permissions.can_view_any_team(editor)


# --------------------------------------------------------------------------- staff without permissions


def test_staff_without_permissions_are_refused_by_the_admin(client, clerk):
    client.force_login(clerk)

    assert client.get(reverse("admin:generations_generation_changelist")).status_code == 403
    assert client.get(reverse("admin:generations_team_changelist")).status_code == 403


def test_staff_without_permissions_get_404_for_someone_elses_private_video_in_the_api(
        client, clerk, private_video):
    client.force_login(clerk)

    for name, url in api_urls(private_video).items():
        response = client.get(url)
        assert response.status_code == 404 and response.json()["code"] == "not_found", name
    assert str(private_video.pk) not in listed_ids(client)


def test_staff_without_permissions_cannot_moderate_or_cancel_through_the_api(client, clerk, private_video,
                                                                             queued_job):
    client.force_login(clerk)

    response = moderate(client, private_video)
    assert response.status_code == 404 and response.json()["code"] == "not_found"
    response = cancel(client, queued_job)
    assert response.status_code == 404 and response.json()["code"] == "not_found"
    private_video.refresh_from_db()
    queued_job.refresh_from_db()
    assert private_video.moderation == Generation.Moderation.NONE
    assert queued_job.status == Generation.Status.QUEUED


def test_staff_without_permissions_get_404_on_pages(client, clerk, private_video, other_team):
    client.force_login(clerk)

    assert client.get(reverse("generations:detail", args=[private_video.pk])).status_code == 404
    assert client.get(reverse("generations:team", args=[other_team.slug])).status_code == 404
    assert client.post(reverse("generations:cancel", args=[private_video.pk])).status_code == 404
    assert status_ids(client, private_video) == set()


def test_services_refuse_staff_without_permissions(clerk, private_video, queued_job):
    flag = Flag.objects.create(generation=private_video, reporter=UserFactory(), reason="spam")

    with pytest.raises(NotAllowed):
        moderation.moderate_generation(generation=private_video, moderator=clerk, decision="approve")
    with pytest.raises(NotAllowed):
        moderation.resolve_flag(flag=flag, moderator=clerk)
    with pytest.raises(NotFound):
        submissions.cancel_generation(generation=queued_job, actor=clerk)
    queued_job.refresh_from_db()
    flag.refresh_from_db()
    assert queued_job.status == Generation.Status.QUEUED and flag.resolved_at is None


def test_staff_members_of_a_team_are_still_members(client, clerk, other_user):
    team = TeamFactory(slug="shared")
    MembershipFactory(team=team, user=clerk)
    MembershipFactory(team=team, user=other_user)
    shared = GenerationFactory(owner=other_user, team=team, visibility=Generation.Visibility.TEAM, succeeded=True)
    client.force_login(clerk)

    assert client.get(reverse("generations:team", args=[team.slug])).status_code == 200
    page = client.get(reverse("generations:detail", args=[shared.pk]))
    assert page.status_code == 200 and page.context["can_flag"]


# --------------------------------------------------------------------------- granted one permission at a time


def test_view_generation_opens_any_generation_and_its_files_but_nothing_more(client, clerk, private_video,
                                                                              queued_job, other_team):
    client.force_login(grant(clerk, "view_generation"))

    assert client.get(reverse("admin:generations_generation_changelist")).status_code == 200
    urls = api_urls(private_video)
    assert client.get(urls["detail"]).json()["id"] == str(private_video.pk)
    assert b"".join(client.get(urls["video"]).streaming_content) == VIDEO
    assert b"".join(client.get(urls["thumbnail"]).streaming_content) == THUMBNAIL
    page = client.get(reverse("generations:detail", args=[private_video.pk]))
    assert page.status_code == 200 and not page.context["can_cancel"]
    assert status_ids(client, private_video, queued_job) == {str(private_video.pk), str(queued_job.pk)}
    # The list stays "own and team-visible", also for those who may open anything.
    assert str(private_video.pk) not in listed_ids(client)

    assert moderate(client, private_video).status_code == 404
    assert cancel(client, queued_job).status_code == 404
    assert client.get(reverse("generations:team", args=[other_team.slug])).status_code == 404
    queued_job.refresh_from_db()
    assert queued_job.status == Generation.Status.QUEUED


def test_view_generation_shows_videos_removed_by_moderation(client, clerk, private_video):
    Generation.objects.filter(pk=private_video.pk).update(moderation=Generation.Moderation.REJECTED,
                                                          moderation_reason="Against the rules")
    client.force_login(clerk)
    assert client.get(api_urls(private_video)["video"]).status_code == 404

    client.force_login(grant(clerk, "view_generation"))
    assert b"".join(client.get(api_urls(private_video)["video"]).streaming_content) == VIDEO
    assert client.get(reverse("generations:detail", args=[private_video.pk])).context["shows_video"]


def test_change_generation_moderates_and_cancels_others_jobs(client, clerk, private_video, queued_job, other_team):
    client.force_login(grant(clerk, "change_generation"))

    response = moderate(client, private_video)
    assert response.status_code == 200 and response.json()["moderation"] == "rejected"
    response = cancel(client, queued_job)
    assert response.status_code == 200 and response.json()["status"] == "cancelled"
    queued_job.refresh_from_db()
    assert queued_job.error == "Cancelled by staff"
    # Moderating is not the team's business, nor deleting someone else's video.
    assert client.get(reverse("generations:team", args=[other_team.slug])).status_code == 404
    assert client.delete(api_urls(private_video)["detail"]).status_code == 404


def test_view_team_opens_any_team_page_without_managing_it(client, clerk, private_video, other_team):
    client.force_login(grant(clerk, "view_team"))

    page = client.get(reverse("generations:team", args=[other_team.slug]))
    assert page.status_code == 200 and not page.context["can_manage"]
    client.post(reverse("generations:team-member-add", args=[other_team.slug]),
                {"username": "clerk", "role": "admin"})
    assert not other_team.memberships.filter(user__username="clerk").exists()
    assert client.get(reverse("generations:detail", args=[private_video.pk])).status_code == 404


def test_approving_from_the_flag_queue_needs_the_moderation_permission_too(client, clerk, private_video):
    Flag.objects.create(generation=private_video, reporter=UserFactory(), reason="spam")
    url = reverse("admin:generations_flag_changelist")

    client.force_login(grant(clerk, "view_flag", "change_flag"))
    actions = {name for name, _ in client.get(url).context["action_form"].fields["action"].choices}
    assert "resolve_flags" in actions and "approve_flagged" not in actions

    client.force_login(grant(clerk, "change_generation"))
    actions = {name for name, _ in client.get(url).context["action_form"].fields["action"].choices}
    assert {"resolve_flags", "approve_flagged"} <= actions
