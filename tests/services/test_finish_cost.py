"""What finishing a job costs: the statements of a succeed transition with its announcements, and the copy."""
from __future__ import annotations

import pytest
from django.core.files.storage import storages
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from generations.models import (
    Generation,
    Membership,
    Notification,
    NotificationPreference,
    WebhookDelivery,
    WebhookEndpoint,
)
from generations.services import mirroring, submissions
from generations.services.lifecycle import transition
from generations.services.notifications import recording as notification_recording
from generations.services.webhooks import signing as webhook_signing
from tests.helpers.factories import GenerationFactory, MembershipFactory, TeamFactory, UserFactory
from tests.helpers.lifecycle import drive

pytestmark = pytest.mark.django_db(transaction=True)

S = Generation.Status
K = Notification.Kind


def endpoints(owner, count: int, *, team=None) -> None:
    # Made directly: registering checks the target's address, and no name resolves here.
    WebhookEndpoint.objects.bulk_create([
        WebhookEndpoint(owner=owner, team=team, url=f"https://hooks.example.com/{team and team.pk}/{n}",
                        events=["generation.succeeded"], secret=webhook_signing.new_secret())
        for n in range(count)
    ])


def statements_to_succeed(endpoint_count: int) -> int:
    """A team admin's shared job with its own webhook, ``endpoint_count`` endpoints of theirs and as many
    of the team's, e-mail wanted: the statements of mirroring → succeeded, announcements included."""
    team = TeamFactory()
    owner = MembershipFactory(team=team, role=Membership.Role.ADMIN).user
    NotificationPreference.objects.create(user=owner, kind=K.GENERATION_SUCCEEDED, channel="email")
    endpoints(owner, endpoint_count)
    endpoints(owner, endpoint_count, team=team)
    generation = GenerationFactory(owner=owner, team=team, visibility=Generation.Visibility.TEAM,
                                   status=S.MIRRORING, upstream_request_id=f"req-cost-{endpoint_count}",
                                   webhook="https://hooks.example.com/own")
    generation = Generation.objects.get(pk=generation.pk)  # as the copy reads it: nothing cached
    with CaptureQueriesContext(connection) as queries:
        assert transition(generation, S.SUCCEEDED, expected=S.MIRRORING, video_name="v.mp4", video_size=1)
    assert WebhookDelivery.objects.filter(generation=generation).count() == 2 * endpoint_count + 1
    assert Notification.objects.filter(generation=generation, recipient=owner).count() == 1
    return len(queries)


def test_a_finished_job_costs_the_same_statements_for_one_endpoint_or_ten():
    one = statements_to_succeed(1)
    assert statements_to_succeed(10) == one
    # The write with its history line and charge, then: endpoints, the team's view and managers,
    # the body, the caps, one INSERT of deliveries; the preference, one notification.
    assert one <= 18, one


def statements_to_tell_a_team(admins: int) -> tuple[int, int]:
    team = TeamFactory()
    for _ in range(admins):
        MembershipFactory(team=team, role=Membership.Role.ADMIN)
    quota = {"metric": "daily_jobs", "limit": 10, "used": 8, "percent": 80, "threshold": 80,
             "period": timezone.localdate().isoformat(), "scope": "team"}
    with CaptureQueriesContext(connection) as queries:
        recorded = notification_recording.announce_quota_threshold(generation=None, quota=quota, team=team)
    assert len(recorded) == admins and all(n.pk for n in recorded)
    with CaptureQueriesContext(connection) as again:
        assert notification_recording.announce_quota_threshold(generation=None, quota=quota, team=team) == []
    return len(queries), len(again)


def test_telling_ten_recipients_costs_what_telling_two_does():
    two = statements_to_tell_a_team(2)
    assert statements_to_tell_a_team(10) == two
    # Recipients, preferences, one INSERT (in a transaction of its own); announced again, the
    # refused INSERT and one read of who was told.
    assert two[0] <= 5 and two[1] <= 8, two


def test_an_event_announced_again_reaches_only_those_not_told_yet():
    team = TeamFactory()
    first = MembershipFactory(team=team, role=Membership.Role.ADMIN).user
    quota = {"metric": "daily_jobs", "limit": 10, "used": 10, "percent": 100, "threshold": 100,
             "period": timezone.localdate().isoformat(), "scope": "team"}
    assert [n.recipient_id for n in notification_recording.announce_quota_threshold(
        generation=None, quota=quota, team=team)] == [first.pk]
    later = [MembershipFactory(team=team, role=Membership.Role.OWNER).user for _ in range(2)]
    again = notification_recording.announce_quota_threshold(generation=None, quota=quota, team=team)
    assert sorted(n.recipient_id for n in again) == sorted(u.pk for u in later) and all(n.pk for n in again)
    assert Notification.objects.filter(kind=K.QUOTA_THRESHOLD).count() == 3


# --------------------------------------------------------------------------- the copy


def finished_elsewhere(catalogue) -> Generation:
    """A job GMI finished, whose outcome URLs a second job borrows below."""
    return drive(submissions.submit_generation(user=UserFactory(), model_id="Veo3",
                                               payload={"prompt": "a kite over a beach", "durationSeconds": 8}))


def mirroring_job(video_url: str, thumbnail_url: str) -> Generation:
    return GenerationFactory(status=S.MIRRORING, upstream_request_id="", outcome_video_url=video_url,
                             outcome_thumbnail_url=thumbnail_url)


def files_of(generation: Generation) -> list[str]:
    storage = storages["generations"]
    folder = f"{generation.owner_id}/{generation.pk}"
    return storage.listdir(folder)[1] if storage.exists(folder) else []


def test_a_thumbnail_that_is_not_an_image_costs_only_itself(catalogue):
    done = finished_elsewhere(catalogue)
    generation = mirroring_job(done.outcome_video_url, done.outcome_video_url)  # an MP4 where a JPEG belongs
    assert mirroring.mirror_generation(generation.pk)
    generation.refresh_from_db()
    assert generation.status == S.SUCCEEDED and generation.video_name and not generation.thumbnail_name
    assert files_of(generation) == [generation.video_name.rsplit("/", 1)[1]]


def test_a_video_that_fails_leaves_no_thumbnail_behind(catalogue):
    done = finished_elsewhere(catalogue)
    generation = mirroring_job(done.outcome_thumbnail_url, done.outcome_thumbnail_url)  # a JPEG where the MP4 belongs
    assert not mirroring.mirror_generation(generation.pk)  # tried again later
    generation.refresh_from_db()
    assert generation.status == S.MIRRORING and not generation.video_name and not generation.thumbnail_name
    assert files_of(generation) == []  # the thumbnail, downloaded beside it, is written only after the video


def test_a_thumbnail_whose_url_expired_is_fetched_again_at_the_refreshed_url(catalogue, monkeypatch):
    catalogue.configure(url_ttl=30)
    generation = drive(submissions.submit_generation(user=UserFactory(), model_id="Veo3",
                                                     payload={"prompt": "a heron", "durationSeconds": 8}),
                       until=lambda g: g.upstream_request_id is not None)
    original = mirroring.mirror_generation

    def late_mirror(pk):  # the copy starts only after both signed URLs expired
        catalogue.advance(60)
        return original(pk)

    monkeypatch.setattr(mirroring, "mirror_generation", late_mirror)
    generation = drive(generation)
    assert generation.status == S.SUCCEEDED, generation.error
    assert generation.thumbnail_name and generation.thumbnail_content_type == "image/jpeg"
    assert sorted(files_of(generation)) == sorted(n.rsplit("/", 1)[1] for n in (generation.video_name,
                                                                                 generation.thumbnail_name))
