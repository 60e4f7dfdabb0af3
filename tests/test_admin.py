"""The staff's admin: generation list and page, every action (single and bulk), the other admins, usage charts."""
from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.auth import get_user_model
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone

from generations import selectors
from generations.models import (
    BlockedTerm,
    Flag,
    Generation,
    GenerationEvent,
    LedgerEntry,
    ModerationDecision,
    UsageCounter,
    VideoModel,
)
from generations.services import moderation, quotas, submissions, tokens
from tests.conftest import override_generations
from tests.factories import (
    GenerationFactory,
    MembershipFactory,
    ProfileFactory,
    TeamFactory,
    UserFactory,
    VideoModelFactory,
)

pytestmark = pytest.mark.django_db

S = Generation.Status
M = Generation.Moderation
SECRET_KEY = "sk-live-SECRET-1f2e3d4c5b6a"


@pytest.fixture
def staff_client(client, staff_user):
    client.force_login(staff_user)
    return client


def changelist(model_name: str = "generation") -> str:
    return reverse(f"admin:generations_{model_name}_changelist")


def change(obj) -> str:
    return reverse(f"admin:generations_{obj._meta.model_name}_change", args=[obj.pk])


def messages_of(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def submitted(user, *, team=None, visibility=None) -> Generation:
    """A generation accepted through the real service, so its quota is reserved in the ledger."""
    VideoModelFactory()
    return submissions.submit_generation(
        user=user, model_id="Veo3", payload={"prompt": "a lighthouse in a storm", "durationSeconds": 4},
        team=team, visibility=visibility,
    )


def bulk(client, action: str, objs, **extra):
    data = {"action": action, ACTION_CHECKBOX_NAME: [str(o.pk) for o in objs], **extra}
    return client.post(changelist(), data, follow=True)


# --------------------------------------------------------------------------- who gets in


def test_members_never_reach_the_admin(client, user):
    client.force_login(user)
    generation = GenerationFactory(owner=user)

    for url in ("/admin/", changelist(), change(generation), reverse("admin:generations_usage"),
                reverse("admin:generations_generation_do", args=[generation.pk, "cancel"])):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(reverse("admin:login")), url
    response = client.post(reverse("admin:generations_generation_do", args=[generation.pk, "cancel"]))
    assert response.status_code == 302
    generation.refresh_from_db()
    assert generation.status == S.QUEUED


def test_staff_without_permissions_cannot_open_usage_or_act(client):
    clerk = UserFactory(username="clerk", is_staff=True)
    client.force_login(clerk)
    generation = GenerationFactory()

    assert client.get(reverse("admin:generations_usage")).status_code == 403
    assert client.post(reverse("admin:generations_generation_do", args=[generation.pk, "cancel"])).status_code == 403
    generation.refresh_from_db()
    assert generation.status == S.QUEUED


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
    assert generation in selectors.visible_generations(teammate)

    response = bulk(staff_client, "reject_selected", [generation], apply="yes", reason="Shows a real person")

    generation.refresh_from_db()
    assert generation.moderation == M.REJECTED
    assert generation.moderation_reason == "Shows a real person"
    assert generation not in selectors.visible_generations(teammate)
    mine = selectors.visible_generations(owner).get(pk=generation.pk)
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
        assert generation not in selectors.visible_generations(teammate)
        assert generation in selectors.visible_generations(owner)

        response = staff_client.post(reverse("admin:generations_generation_do", args=[generation.pk, "approve"]),
                                     follow=True)

        assert generation in selectors.visible_generations(teammate)
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
    assert quotas.usage_for_user(user)["used"]["daily_jobs"] == 0
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

    assert staff_client.post(reverse("admin:generations_generation_do", args=[generation.pk, "explode"])).status_code == 404


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
    assert quotas.usage_for_user(user)["used"]["daily_jobs"] == 1

    first = bulk(staff_client, "refund_selected", [generation])
    second = bulk(staff_client, "refund_selected", [generation])

    assert quotas.usage_for_user(user)["used"]["daily_jobs"] == 0
    assert LedgerEntry.objects.filter(generation=generation, kind="refund", metric="daily_jobs").count() == 1
    assert "Refunded 1 generation." in messages_of(first)[0]
    assert "nothing left to refund (already refunded)" in messages_of(second)[0]
    assert generation.events.filter(actor=staff_user, note__startswith="Usage refunded").exists()


def test_refund_refuses_jobs_that_have_not_ended(staff_client, user):
    generation = submitted(user)

    response = bulk(staff_client, "refund_selected", [generation])

    assert not LedgerEntry.objects.filter(generation=generation, kind="refund").exists()
    assert "only ended jobs can be refunded" in messages_of(response)[0]


# --------------------------------------------------------------------------- the catalogue


def test_model_list_edits_price_position_and_enabled_in_place(staff_client):
    model = VideoModelFactory(id="Veo3", price_credits=Decimal("10"), position=5)
    data = {
        "form-TOTAL_FORMS": "1", "form-INITIAL_FORMS": "1", "form-0-id": "Veo3",
        "form-0-enabled": "", "form-0-price_credits": "2.50", "form-0-price_unit": "second",
        "form-0-position": "1", "_save": "Save",
    }

    response = staff_client.post(changelist("videomodel"), data)

    assert response.status_code == 302
    model.refresh_from_db()
    assert (model.enabled, model.price_credits, model.price_unit, model.position) == (
        False, Decimal("2.50"), "second", 1)


def test_model_page_shows_the_parameter_schema_read_only(staff_client):
    model = VideoModelFactory()

    html = staff_client.get(change(model)).content.decode()

    assert "&quot;durationSeconds&quot;" in html
    assert 'name="parameters"' not in html
    assert 'name="price_credits"' in html


def test_sync_now_button_reads_the_catalogue_from_gmi(staff_client, gmi):
    html = staff_client.get(changelist("videomodel")).content.decode()
    assert reverse("admin:generations_videomodel_sync") in html

    response = staff_client.post(reverse("admin:generations_videomodel_sync"), follow=True)

    assert VideoModel.objects.filter(pk="Veo3").exists()
    assert "Catalogue synced:" in messages_of(response)[0]


def test_sync_now_without_a_key_says_so_instead_of_failing(staff_client, settings):
    settings.GENERATIONS = {"API_KEY": ""}

    response = staff_client.post(reverse("admin:generations_videomodel_sync"), follow=True)

    assert response.status_code == 200
    assert "GMI is not configured" in messages_of(response)[0]


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
    assert quotas.usage_for_user(member)["limits"]["daily_jobs"] == 4


# --------------------------------------------------------------------------- ledger, counters, tokens


def test_ledger_is_read_only_and_filterable(staff_client, user):
    generation = submitted(user)
    entry = LedgerEntry.objects.filter(generation=generation).first()

    listing = staff_client.get(changelist("ledgerentry"), {"kind__exact": "reserve", "metric__exact": "daily_jobs"})
    assert [e.pk for e in listing.context["cl"].result_list] == [
        LedgerEntry.objects.get(generation=generation, metric="daily_jobs").pk]
    assert staff_client.get(reverse("admin:generations_ledgerentry_add")).status_code == 403
    page = staff_client.get(change(entry))
    assert page.status_code == 200 and 'name="amount"' not in page.content.decode()
    assert staff_client.post(reverse("admin:generations_ledgerentry_delete", args=[entry.pk]),
                             {"post": "yes"}).status_code == 403
    assert LedgerEntry.objects.filter(pk=entry.pk).exists()


def test_usage_counters_are_read_only(staff_client, user):
    submitted(user)
    counter = UsageCounter.objects.first()

    assert staff_client.get(changelist("usagecounter")).status_code == 200
    assert staff_client.get(reverse("admin:generations_usagecounter_add")).status_code == 403
    assert 'name="used"' not in staff_client.get(change(counter)).content.decode()


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


# --------------------------------------------------------------------------- flags and blocked terms


def test_flag_queue_lists_open_flags_first_links_the_generation_and_resolves(staff_client, staff_user):
    generation = GenerationFactory(succeeded=True, prompt="a busy market")
    old_open = Flag.objects.create(generation=generation, reporter=UserFactory(), reason="first report")
    resolved = Flag.objects.create(generation=generation, reporter=UserFactory(), reason="dealt with",
                                   resolved_at=timezone.now())
    new_open = Flag.objects.create(generation=generation, reporter=UserFactory(), reason="second report")

    response = staff_client.get(changelist("flag"))

    assert [f.pk for f in response.context["cl"].result_list] == [new_open.pk, old_open.pk, resolved.pk]
    assert change(generation) in response.content.decode()

    response = staff_client.post(changelist("flag"), {
        "action": "resolve_flags", ACTION_CHECKBOX_NAME: [old_open.pk, resolved.pk]}, follow=True)

    old_open.refresh_from_db()
    assert old_open.resolved_by == staff_user
    assert "Resolved 1 flag." in messages_of(response)[0] and "already resolved" in messages_of(response)[0]
    generation.refresh_from_db()
    assert generation.moderation == M.NONE  # resolving keeps the video as it is


def test_approving_flagged_videos_resolves_their_flags(staff_client):
    generation = GenerationFactory(succeeded=True)
    flag = Flag.objects.create(generation=generation, reporter=UserFactory(), reason="hmm")

    staff_client.post(changelist("flag"), {"action": "approve_flagged", ACTION_CHECKBOX_NAME: [flag.pk]})

    flag.refresh_from_db()
    generation.refresh_from_db()
    assert flag.resolved_at is not None and generation.moderation == M.APPROVED


def test_blocked_terms_are_added_normalized_and_deleted_through_the_admin(staff_client, staff_user):
    response = staff_client.post(reverse("admin:generations_blockedterm_add"), {"term": " Gore "})
    assert response.status_code == 302
    term = BlockedTerm.objects.get()
    assert (term.term, term.normalized, term.created_by) == ("Gore", "gore", staff_user)
    assert "gore" in staff_client.get(changelist("blockedterm")).content.decode()

    duplicate = staff_client.post(reverse("admin:generations_blockedterm_add"), {"term": "GORE"})
    assert duplicate.status_code == 200 and "Already blocked" in duplicate.content.decode()

    staff_client.post(changelist("blockedterm"), {
        "action": "delete_selected", ACTION_CHECKBOX_NAME: [term.pk], "post": "yes"})
    assert not BlockedTerm.objects.exists()


def test_moderation_decisions_are_read_only(staff_client, staff_user):
    generation = GenerationFactory()
    decision = moderation.moderate_generation(generation=generation, moderator=staff_user, decision="approve")

    assert staff_client.get(changelist("moderationdecision")).status_code == 200
    assert staff_client.get(reverse("admin:generations_moderationdecision_add")).status_code == 403
    assert 'name="reason"' not in staff_client.get(change(decision)).content.decode()


# --------------------------------------------------------------------------- usage charts


def test_usage_page_draws_the_charts_server_side(staff_client):
    team = TeamFactory(name="Blue <Team>")
    GenerationFactory(succeeded=True, team=team, credits=Decimal("12"), owner=UserFactory(username="hank"))
    GenerationFactory(failed=True)

    response = staff_client.get(reverse("admin:generations_usage"), {"days": "7"})

    html = response.content.decode()
    assert response.status_code == 200
    assert html.count('<svg class="gmi-chart"') == 5
    for title in ("Generations per day, by model", "Generations per day, by status", "Credits per team",
                  "Top users by credits", "Credits per day"):
        assert title in html
    assert "Blue &lt;Team&gt;" in html and "Blue <Team>" not in html
    assert "hank" in html
    assert "<script" not in html.split('id="content"', 1)[1]  # no chart library
    assert response.context["days"] == 7


def test_usage_page_ignores_an_odd_window(staff_client):
    assert staff_client.get(reverse("admin:generations_usage"), {"days": "abc"}).context["days"] == 30


def test_admin_index_links_the_usage_page(staff_client):
    html = staff_client.get(reverse("admin:index")).content.decode()

    assert reverse("admin:generations_usage") in html
    assert reverse("admin:generations_usage") in staff_client.get(changelist()).content.decode()


# --------------------------------------------------------------------------- the GMI key


def test_no_admin_page_shows_the_gmi_key(staff_client, settings, user):
    settings.GENERATIONS = {**getattr(settings, "GENERATIONS", {}), "API_KEY": SECRET_KEY}
    team = TeamFactory()
    MembershipFactory(team=team, user=user)
    generation = submitted(user, team=team)
    Generation.objects.filter(pk=generation.pk).update(
        status=S.FAILED, error="GMI refused the job", upstream_response={"error": "bad payload"})
    Flag.objects.create(generation=generation, reporter=user, reason="check")
    moderation.add_blocked_terms(terms=["gore"])
    token, _ = tokens.create_token(user=user)
    profile = ProfileFactory(user=user)
    User = get_user_model()

    urls = [reverse("admin:index"), reverse("admin:app_list", args=["generations"]), reverse("admin:generations_usage"),
            reverse("admin:generations_generation_reject", args=[generation.pk]),
            reverse(f"admin:{User._meta.app_label}_{User._meta.model_name}_change", args=[user.pk])]
    for model_name in ("generation", "videomodel", "team", "userprofile", "ledgerentry", "usagecounter", "apitoken",
                       "flag", "blockedterm", "moderationdecision"):
        urls.append(changelist(model_name))
    for obj in (generation, generation.model, team, profile, LedgerEntry.objects.first(), UsageCounter.objects.first(),
                token, Flag.objects.first(), BlockedTerm.objects.first()):
        urls.append(change(obj))

    for url in urls:
        response = staff_client.get(url)
        assert response.status_code == 200, url
        assert SECRET_KEY not in response.content.decode(), url


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
