"""The Generation admin: the list, the change page and its buttons, every moderation and lifecycle action."""
from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone

from generations.models import Flag, Generation, GenerationEvent, LedgerEntry, ModerationDecision
from generations.selectors import generations as generation_reads
from generations.selectors import quotas as quota_reads
from generations.services import moderation, submissions
from tests.admin.helpers import M, S, bulk, change, changelist, messages_of, submitted
from tests.helpers.factories import (
    GenerationFactory,
    MembershipFactory,
    ProfileFactory,
    TeamFactory,
    UserFactory,
    VideoModelFactory,
)
from tests.helpers.settings import override_generations

pytestmark = pytest.mark.django_db


# --------------------------------------------------------------------------- the generation list


def test_generation_list_shows_thumbnail_status_badge_and_open_flags(staff_client):
    done = GenerationFactory(succeeded=True, thumbnail_name="1/x/thumbnail.jpg", prompt="a fox in snow")
    Flag.objects.create(generation=done, reporter=UserFactory(), reason="spam")
    GenerationFactory(failed=True)

    response = staff_client.get(changelist())

    html = response.content.decode()
    assert response.status_code == 200
    thumb = reverse("generations:api:generation-thumbnail", args=[done.pk])
    assert f'src="{thumb}"' in html
    assert "gmi-badge" in html and "Succeeded" in html and "Failed" in html
    assert "⚑ 1" in html


def test_generation_list_query_count_does_not_grow_with_rows(staff_client, django_assert_num_queries):
    team = TeamFactory()
    for _ in range(3):
        GenerationFactory(succeeded=True, team=team, visibility=Generation.Visibility.TEAM)
    staff_client.get(changelist())  # warm up: session, content types

    with django_assert_num_queries(6):
        assert staff_client.get(changelist()).status_code == 200

    for _ in range(20):
        GenerationFactory(owner=UserFactory(), team=TeamFactory(), model=VideoModelFactory(id="Luma-Ray2"))
    with django_assert_num_queries(6):
        assert staff_client.get(changelist()).status_code == 200


@pytest.mark.parametrize("term", ["lighthouse", "carol", "req-upstream-42"])
def test_generation_search_finds_prompt_owner_and_upstream_request_id(staff_client, term):
    wanted = GenerationFactory(owner=UserFactory(username="carol"), prompt="a lighthouse at dawn",
                               upstream_request_id="req-upstream-42")
    other = GenerationFactory(prompt="a cat")

    response = staff_client.get(changelist(), {"q": term})

    ids = {g.pk for g in response.context["cl"].result_list}
    assert wanted.pk in ids and other.pk not in ids


def test_generation_search_by_full_id(staff_client):
    wanted, other = GenerationFactory(), GenerationFactory()

    response = staff_client.get(changelist(), {"q": str(wanted.pk)})

    assert [g.pk for g in response.context["cl"].result_list] == [wanted.pk]
    assert other.pk != wanted.pk


def test_generation_filters_by_status_and_open_flags(staff_client):
    flagged = GenerationFactory(succeeded=True)
    Flag.objects.create(generation=flagged, reporter=UserFactory(), reason="not ok")
    resolved = GenerationFactory(succeeded=True)
    Flag.objects.create(generation=resolved, reporter=UserFactory(), reason="fine", resolved_at=timezone.now())
    failed = GenerationFactory(failed=True)

    by_flag = staff_client.get(changelist(), {"flagged": "yes"}).context["cl"].result_list
    by_status = staff_client.get(changelist(), {"status__exact": "failed"}).context["cl"].result_list

    assert [g.pk for g in by_flag] == [flagged.pk]
    assert [g.pk for g in by_status] == [failed.pk]


def test_generations_cannot_be_added_or_deleted_in_the_admin(staff_client):
    generation = GenerationFactory()

    assert staff_client.get(reverse("admin:generations_generation_add")).status_code == 403
    assert staff_client.get(reverse("admin:generations_generation_delete", args=[generation.pk])).status_code == 403


# --------------------------------------------------------------------------- the generation page


def test_generation_page_plays_the_video_and_shows_payload_answer_history_and_ledger(staff_client, user):
    generation = submitted(user)
    Generation.objects.filter(pk=generation.pk).update(
        status=S.SUCCEEDED, video_name="1/x/video.mp4", video_size=2048, video_content_type="video/mp4",
        upstream_request_id="req-777", upstream_response={"request_id": "req-777", "status": "success"},
    )
    GenerationEvent.objects.create(generation=generation, from_status="queued", to_status="dispatched",
                                   note="GMI request req-777")

    response = staff_client.get(change(generation))

    html = response.content.decode()
    assert response.status_code == 200
    video = reverse("generations:api:generation-video", args=[generation.pk])
    assert f'<video class="gmi-player" controls preload="metadata" src="{video}"' in html
    assert "&quot;durationSeconds&quot;: 4" in html  # the payload, pretty-printed
    assert "&quot;request_id&quot;: &quot;req-777&quot;" in html  # GMI's raw answer
    assert 'class="gmi-timeline"' in html and "GMI request req-777" in html and "Accepted" in html
    assert "monthly_video_seconds" in html  # ledger rows
    # Read-only: no inputs for status or upstream fields, and no save button.
    assert 'name="status"' not in html and 'name="upstream_request_id"' not in html
    assert 'name="_save"' not in html


def test_generation_page_offers_only_the_actions_that_apply(staff_client):
    failed = GenerationFactory(failed=True)
    running = GenerationFactory(processing=True)

    failed_html = staff_client.get(change(failed)).content.decode()
    running_html = staff_client.get(change(running)).content.decode()

    do = lambda g, a: reverse("admin:generations_generation_do", args=[g.pk, a])  # noqa: E731
    assert do(failed, "retry") in failed_html and do(failed, "refund") in failed_html
    assert do(failed, "cancel") not in failed_html
    assert do(running, "cancel") in running_html
    assert do(running, "retry") not in running_html and do(running, "refund") not in running_html
    assert reverse("admin:generations_generation_reject", args=[running.pk]) in running_html


def test_generation_page_shows_decisions_and_flags(staff_client, staff_user):
    generation = GenerationFactory(succeeded=True)
    Flag.objects.create(generation=generation, reporter=UserFactory(username="dora"), reason="looks violent")
    moderation.moderate_generation(generation=generation, moderator=staff_user, decision="reject", reason="gore")

    html = staff_client.get(change(generation)).content.decode()

    assert "looks violent" in html and "dora" in html
    assert "Rejected" in html and "gore" in html


# --------------------------------------------------------------------------- moderation actions


def test_bulk_approve_reports_done_and_skipped(staff_client):
    pending = GenerationFactory(succeeded=True, moderation=M.PENDING)
    approved = GenerationFactory(succeeded=True, moderation=M.APPROVED)

    response = bulk(staff_client, "approve_selected", [pending, approved])

    pending.refresh_from_db()
    assert pending.moderation == M.APPROVED
    assert ModerationDecision.objects.filter(generation=pending, decision="approve").count() == 1
    assert not ModerationDecision.objects.filter(generation=approved).exists()
    [message] = messages_of(response)
    assert "Approved 1 generation." in message
    assert f"Skipped 1 generation: already approved ({str(approved.pk)[:8]})" in message


def test_bulk_reject_asks_for_a_reason_first(staff_client):
    generations = [GenerationFactory(succeeded=True), GenerationFactory(succeeded=True)]

    response = bulk(staff_client, "reject_selected", generations)

    assert response.status_code == 200
    assert "admin/generations/generation/reject.html" in [t.name for t in response.templates]
    html = response.content.decode()
    assert 'name="reason"' in html and 'name="apply"' in html
    assert all(f'value="{g.pk}"' in html for g in generations)
    assert not ModerationDecision.objects.exists()


def test_bulk_reject_without_a_reason_shows_the_form_again(staff_client):
    generation = GenerationFactory(succeeded=True)

    response = bulk(staff_client, "reject_selected", [generation], apply="yes", reason="  ")

    assert response.status_code == 200
    assert "This field is required." in response.content.decode()
    generation.refresh_from_db()
    assert generation.moderation == M.NONE


def test_bulk_reject_with_a_reason_removes_videos_from_the_team_but_not_from_the_owner(staff_client):
    team = TeamFactory()
    owner, teammate = UserFactory(username="owner"), UserFactory(username="mate")
    MembershipFactory(team=team, user=owner)
    MembershipFactory(team=team, user=teammate)
    generation = GenerationFactory(owner=owner, team=team, visibility=Generation.Visibility.TEAM, succeeded=True)
    assert generation in generation_reads.visible_generations(teammate)

    response = bulk(staff_client, "reject_selected", [generation], apply="yes", reason="Shows a real person")

    generation.refresh_from_db()
    assert generation.moderation == M.REJECTED
    assert generation.moderation_reason == "Shows a real person"
    assert generation not in generation_reads.visible_generations(teammate)
    mine = generation_reads.visible_generations(owner).get(pk=generation.pk)
    assert mine.is_removed and mine.moderation_reason == "Shows a real person"
    assert "Rejected 1 generation." in messages_of(response)[0]
    assert response.redirect_chain[-1][0].startswith(changelist())


def test_single_reject_page_asks_for_a_reason_then_rejects(staff_client):
    generation = GenerationFactory(succeeded=True)
    url = reverse("admin:generations_generation_reject", args=[generation.pk])

    form = staff_client.get(url)
    assert form.status_code == 200 and 'name="reason"' in form.content.decode()

    response = staff_client.post(url, {"reason": "Copyrighted character"}, follow=True)

    generation.refresh_from_db()
    assert generation.moderation == M.REJECTED
    assert response.redirect_chain[-1][0] == change(generation)
    assert "Rejected 1 generation." in messages_of(response)[0]


def test_pre_moderation_hides_team_videos_from_teammates_until_approved(staff_client):
    team = TeamFactory()
    owner, teammate = UserFactory(username="owner"), UserFactory(username="mate")
    MembershipFactory(team=team, user=owner)
    MembershipFactory(team=team, user=teammate)
    with override_generations(MODERATION="pre"):
        generation = submitted(owner, team=team, visibility="team")
        assert generation.moderation == M.PENDING
        assert generation not in generation_reads.visible_generations(teammate)
        assert generation in generation_reads.visible_generations(owner)

        response = staff_client.post(reverse("admin:generations_generation_do", args=[generation.pk, "approve"]),
                                     follow=True)

        assert generation in generation_reads.visible_generations(teammate)
    assert response.redirect_chain[-1][0] == change(generation)
    assert "Approved 1 generation." in messages_of(response)[0]


# --------------------------------------------------------------------------- lifecycle actions


def test_retry_sends_a_failed_job_again_as_a_new_attempt(staff_client, user, staff_user):
    generation = submitted(user)
    submissions.cancel_generation(generation=generation, actor=user)  # refunds attempt 1
    Generation.objects.filter(pk=generation.pk).update(status=S.FAILED, error="boom")
    queued = GenerationFactory()

    response = bulk(staff_client, "retry_selected", [generation, queued])

    generation.refresh_from_db()
    assert (generation.status, generation.attempt, generation.error) == (S.QUEUED, 2, "")
    assert LedgerEntry.objects.filter(generation=generation, attempt=2, kind="reserve").exists()
    assert generation.events.filter(actor=staff_user, to_status=S.QUEUED).exists()
    message = messages_of(response)[0]
    assert "Retried 1 generation." in message and "only failed jobs can be retried" in message


def test_retry_over_quota_is_skipped_with_the_reason(staff_client, user):
    ProfileFactory(user=user, daily_jobs=1)
    first = submitted(user)
    Generation.objects.filter(pk=first.pk).update(status=S.FAILED)  # failed without its refund
    first.refresh_from_db()

    response = staff_client.post(reverse("admin:generations_generation_do", args=[first.pk, "retry"]), follow=True)

    first.refresh_from_db()
    assert first.status == S.FAILED and first.attempt == 1
    assert "daily jobs limit" in messages_of(response)[0]


def test_cancel_ends_active_jobs_and_refunds_their_usage(staff_client, user):
    generation = submitted(user)
    done = GenerationFactory(succeeded=True)

    response = bulk(staff_client, "cancel_selected", [generation, done])

    generation.refresh_from_db()
    assert generation.status == S.CANCELLED
    assert "Cancelled by staff" in generation.error
    assert LedgerEntry.objects.filter(generation=generation, kind="refund").count() == 3
    assert quota_reads.usage_for_user(user)["used"]["daily_jobs"] == 0
    message = messages_of(response)[0]
    assert "Cancelled 1 generation." in message
    assert "only queued, dispatched or processing jobs can be cancelled" in message


def test_single_cancel_button_posts_and_get_is_refused(staff_client):
    generation = GenerationFactory(dispatched=True)
    url = reverse("admin:generations_generation_do", args=[generation.pk, "cancel"])

    assert staff_client.get(url).status_code == 405
    staff_client.post(url)

    generation.refresh_from_db()
    assert generation.status == S.CANCELLED


def test_unknown_single_action_is_not_found(staff_client):
    generation = GenerationFactory()

    url = reverse("admin:generations_generation_do", args=[generation.pk, "explode"])
    assert staff_client.post(url).status_code == 404


def test_remirror_moves_succeeded_videos_back_to_mirroring(staff_client, django_capture_on_commit_callbacks):
    ready = GenerationFactory(succeeded=True, outcome_video_url="https://storage.googleapis.com/b/v.mp4")
    no_source = GenerationFactory(succeeded=True)
    running = GenerationFactory(processing=True)

    response = bulk(staff_client, "remirror_selected", [ready, no_source, running])

    ready.refresh_from_db()
    no_source.refresh_from_db()
    assert ready.status == S.MIRRORING
    assert no_source.status == S.SUCCEEDED
    message = messages_of(response)[0]
    assert "Started re-mirroring 1 generation." in message
    assert "outcome URL is not known" in message
    assert "only succeeded jobs can be re-mirrored" in message


def test_refund_gives_back_an_ended_job_exactly_once(staff_client, user, staff_user):
    generation = submitted(user)
    Generation.objects.filter(pk=generation.pk).update(status=S.SUCCEEDED, finished_at=timezone.now())
    assert quota_reads.usage_for_user(user)["used"]["daily_jobs"] == 1

    first = bulk(staff_client, "refund_selected", [generation])
    second = bulk(staff_client, "refund_selected", [generation])

    assert quota_reads.usage_for_user(user)["used"]["daily_jobs"] == 0
    assert LedgerEntry.objects.filter(generation=generation, kind="refund", metric="daily_jobs").count() == 1
    assert "Refunded 1 generation." in messages_of(first)[0]
    assert "nothing left to refund (already refunded)" in messages_of(second)[0]
    assert generation.events.filter(actor=staff_user, note__startswith="Usage refunded").exists()


def test_refund_refuses_jobs_that_have_not_ended(staff_client, user):
    generation = submitted(user)

    response = bulk(staff_client, "refund_selected", [generation])

    assert not LedgerEntry.objects.filter(generation=generation, kind="refund").exists()
    assert "only ended jobs can be refunded" in messages_of(response)[0]
