"""Member pages: gallery, live status, detail, usage and API tokens."""
from __future__ import annotations

import pytest
from django.urls import reverse

from generations.models import ApiToken, Flag, Generation, Membership
from generations.services import tokens
from tests.helpers.factories import (
    GenerationFactory,
    MembershipFactory,
    TeamFactory,
    UserFactory,
    VideoModelFactory,
)
from tests.helpers.settings import override_generations

pytestmark = pytest.mark.django_db


@pytest.fixture
def team(user, other_user):
    team = TeamFactory(name="Studio", slug="studio")
    MembershipFactory(team=team, user=user, role=Membership.Role.OWNER)
    MembershipFactory(team=team, user=other_user)
    return team


@pytest.mark.parametrize("name", ["generations:gallery", "generations:submit", "generations:usage",
                                  "generations:tokens", "generations:teams", "generations:webhooks"])
def test_member_pages_send_visitors_to_the_login_page(client, name):
    response = client.get(reverse(name))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
    assert "next=" in response["Location"]


@pytest.mark.parametrize("name", ["generations:gallery", "generations:submit", "generations:usage",
                                  "generations:tokens", "generations:teams", "generations:webhooks"])
def test_every_member_page_renders_in_the_apps_frame(member, name):
    VideoModelFactory()

    response = member.get(reverse(name))

    assert response.status_code == 200
    html = response.content.decode()
    assert 'class="gmi-nav"' in html
    assert "generations/css/app.css" in html and "generations/js/app.js" in html
    assert reverse("generations:submit") in html


def test_gallery_shows_own_generations_with_status_and_prompt(member, user, other_user):
    GenerationFactory(owner=user, payload={"prompt": "a lighthouse in a storm"}, prompt="a lighthouse in a storm",
                      succeeded=True, thumbnail_name="t.jpg")
    GenerationFactory(owner=other_user, prompt="someone else's secret")

    html = member.get(reverse("generations:gallery")).content.decode()

    assert "a lighthouse in a storm" in html
    assert "gmi-badge--succeeded" in html
    assert "/thumbnail/" in html
    assert "someone else" not in html


def test_gallery_shows_queue_position_of_waiting_jobs(member, user):
    GenerationFactory(owner=user)

    html = member.get(reverse("generations:gallery")).content.decode()

    assert "#1 in line" in html
    assert 'data-active="1"' in html


def test_gallery_tells_the_owner_a_video_was_removed_by_moderation(member, user):
    GenerationFactory(owner=user, succeeded=True, moderation=Generation.Moderation.REJECTED,
                      moderation_reason="Shows a real person")

    html = member.get(reverse("generations:gallery")).content.decode()

    assert "Removed by moderation: Shows a real person" in html


def test_team_tab_shows_teammates_shared_videos_but_not_their_private_ones(member, team, other_user):
    GenerationFactory(owner=other_user, team=team, visibility=Generation.Visibility.TEAM, prompt="shared sunrise")
    GenerationFactory(owner=other_user, prompt="private sunset")

    html = member.get(reverse("generations:gallery"), {"tab": "team", "team": "studio"}).content.decode()

    assert "shared sunrise" in html
    assert "private sunset" not in html
    assert "bob" in html  # the owner is named on team cards


def test_team_tab_of_a_team_the_member_is_not_in_is_404(member):
    TeamFactory(slug="elsewhere")

    assert member.get(reverse("generations:gallery"), {"tab": "team", "team": "elsewhere"}).status_code == 404


def test_gallery_filters_by_status_model_and_search_text(member, user):
    VideoModelFactory(id="Luma-Ray2")
    GenerationFactory(owner=user, prompt="red fox in snow", succeeded=True)
    GenerationFactory(owner=user, prompt="blue whale", failed=True)
    GenerationFactory(owner=user, prompt="red panda", model=VideoModelFactory(id="Luma-Ray2"), succeeded=True)
    url = reverse("generations:gallery")

    by_status = member.get(url, {"status": "failed"}).content.decode()
    by_model = member.get(url, {"model": "Luma-Ray2"}).content.decode()
    by_text = member.get(url, {"q": "red"}).content.decode()

    assert "blue whale" in by_status and "red fox" not in by_status
    assert "red panda" in by_model and "red fox" not in by_model
    assert "red fox" in by_text and "red panda" in by_text and "blue whale" not in by_text


def test_gallery_paginates_with_the_page_size_setting(member, user):
    for n in range(5):
        GenerationFactory(owner=user, prompt=f"clip number {n}", succeeded=True)

    with override_generations(PAGE_SIZE=2):
        first = member.get(reverse("generations:gallery"))
        last = member.get(reverse("generations:gallery"), {"page": 3})

    assert len(first.context["generations"]) == 2
    assert "Page 1 of 3" in first.content.decode()
    assert [g.prompt for g in last.context["generations"]] == ["clip number 0"]


def _fill_gallery(user, team, count):
    for n in range(count):
        trait = (None, "succeeded", "failed", "processing")[n % 4]  # a queued one first: its place in line is shown
        GenerationFactory(owner=user, team=team, visibility=Generation.Visibility.TEAM, prompt=f"clip {n}",
                          **({trait: True} if trait else {}))


@pytest.mark.parametrize("count", [3, 12])
def test_gallery_query_count_does_not_grow_with_the_number_of_cards(member, user, team, count,
                                                                    django_assert_num_queries):
    _fill_gallery(user, team, count)

    # session, user, teams + profile (nav), unread notifications (bell), models and collections (filters),
    # team ids, count, page, then the owners' summaries and the line's sums (2) for the place in line
    with django_assert_num_queries(12):
        response = member.get(reverse("generations:gallery"))

    assert len(response.context["generations"]) == count


def test_team_tab_query_count_is_pinned(member, user, team, django_assert_num_queries):
    _fill_gallery(user, team, 8)

    with django_assert_num_queries(11):  # as the own tab, with the team looked up instead of the team ids
        response = member.get(reverse("generations:gallery"), {"tab": "team", "team": "studio"})

    assert len(response.context["generations"]) == 8


def test_status_view_reports_visible_generations_only(member, user, other_user):
    mine = GenerationFactory(owner=user, processing=True)
    done = GenerationFactory(owner=user, succeeded=True, thumbnail_name="t.jpg")
    hidden = GenerationFactory(owner=other_user)

    response = member.get(reverse("generations:status"), {"ids": f"{mine.pk},{done.pk},{hidden.pk},not-a-uuid"})

    assert response.status_code == 200
    items = {item["id"]: item for item in response.json()["items"]}
    assert set(items) == {str(mine.pk), str(done.pk)}
    assert items[str(mine.pk)]["status"] == "processing"
    assert items[str(mine.pk)]["active"] is True
    assert items[str(mine.pk)]["thumbnail_url"] is None
    assert items[str(done.pk)]["status_label"] == "Ready"  # words for members; the API keeps "succeeded"
    assert items[str(done.pk)]["thumbnail_url"].endswith(f"/generations/{done.pk}/thumbnail/")
    assert items[str(done.pk)]["video_url"].endswith(f"/generations/{done.pk}/video/")
    assert set(items[str(done.pk)]) >= {"id", "status", "status_label", "error", "thumbnail_url", "video_url",
                                        "queue_position"}


def test_status_view_gives_queue_positions(member, user):
    first = GenerationFactory(owner=user)
    second = GenerationFactory(owner=user)

    items = member.get(reverse("generations:status"), {"ids": f"{first.pk},{second.pk}"}).json()["items"]

    assert sorted(item["queue_position"] for item in items) == [1, 2]


def test_detail_page_plays_and_offers_to_download_a_finished_video(member, user):
    generation = GenerationFactory(owner=user, succeeded=True, thumbnail_name="t.jpg",
                                   payload={"prompt": "a red fox", "durationSeconds": 4, "seed": 7})

    response = member.get(reverse("generations:detail", args=[generation.pk]))

    html = response.content.decode()
    assert response.status_code == 200
    assert "<video" in html and f"/generations/{generation.pk}/video/" in html
    assert f'poster="/api/v1/generations/{generation.pk}/thumbnail/"' in html
    assert "?download=1" in html
    assert "Duration" in html and "durationSeconds" not in html  # the schema's labels, not the API keys
    assert f"?from={generation.pk}" in html  # run again
    assert reverse("generations:delete", args=[generation.pk]) in html


def test_detail_of_another_members_private_generation_is_404(member, other_user):
    generation = GenerationFactory(owner=other_user, succeeded=True)

    assert member.get(reverse("generations:detail", args=[generation.pk])).status_code == 404


def test_staff_can_open_any_generation(client, staff_user, other_user):
    generation = GenerationFactory(owner=other_user, succeeded=True)
    client.force_login(staff_user)

    assert client.get(reverse("generations:detail", args=[generation.pk])).status_code == 200


def test_owner_of_a_rejected_video_sees_the_reason_instead_of_the_player(member, user):
    generation = GenerationFactory(owner=user, succeeded=True, moderation=Generation.Moderation.REJECTED,
                                   moderation_reason="Violates the rules")

    html = member.get(reverse("generations:detail", args=[generation.pk])).content.decode()

    assert "Removed by moderation" in html and "Violates the rules" in html
    assert "<video" not in html


def test_active_generation_detail_polls_and_offers_cancel(member, user):
    generation = GenerationFactory(owner=user, processing=True)

    html = member.get(reverse("generations:detail", args=[generation.pk])).content.decode()

    assert 'data-active="1"' in html and "data-status-poll" in html
    assert reverse("generations:cancel", args=[generation.pk]) in html


def test_teammate_can_flag_a_team_video(member, team, other_user, user):
    generation = GenerationFactory(owner=other_user, team=team, visibility=Generation.Visibility.TEAM, succeeded=True)
    url = reverse("generations:detail", args=[generation.pk])

    assert reverse("generations:flag", args=[generation.pk]) in member.get(url).content.decode()
    response = member.post(reverse("generations:flag", args=[generation.pk]), {"reason": "Looks like spam"})

    assert response.status_code == 302
    flag = Flag.objects.get()
    assert flag.reporter == user and flag.reason == "Looks like spam"


def test_owner_sees_no_flag_form_on_their_own_video(member, user, team):
    generation = GenerationFactory(owner=user, team=team, visibility=Generation.Visibility.TEAM, succeeded=True)

    html = member.get(reverse("generations:detail", args=[generation.pk])).content.decode()

    assert reverse("generations:flag", args=[generation.pk]) not in html


def test_owner_deletes_a_video_after_confirming(member, user):
    generation = GenerationFactory(owner=user, succeeded=True)
    url = reverse("generations:delete", args=[generation.pk])

    assert "Delete this video?" in member.get(url).content.decode()
    response = member.post(url)

    assert response.status_code == 302 and response["Location"] == reverse("generations:gallery")
    generation.refresh_from_db()
    assert generation.deleted_at is not None
    assert member.get(reverse("generations:detail", args=[generation.pk])).status_code == 404


def test_teammate_cannot_delete_a_shared_video(member, team, other_user):
    generation = GenerationFactory(owner=other_user, team=team, visibility=Generation.Visibility.TEAM, succeeded=True)

    response = member.post(reverse("generations:delete", args=[generation.pk]))

    assert response.status_code == 404
    generation.refresh_from_db()
    assert generation.deleted_at is None


def test_owner_cancels_a_queued_job(member, user):
    generation = GenerationFactory(owner=user)

    response = member.post(reverse("generations:cancel", args=[generation.pk]))

    assert response.status_code == 302
    generation.refresh_from_db()
    assert generation.status == Generation.Status.CANCELLED


def test_cancelling_a_finished_job_explains_why_not(member, user):
    generation = GenerationFactory(owner=user, succeeded=True)

    response = member.post(reverse("generations:cancel", args=[generation.pk]), follow=True)

    assert "cannot be cancelled" in response.content.decode()


def test_usage_page_shows_every_limit_team_pools_and_a_30_day_chart(member, user, team):
    GenerationFactory(owner=user, succeeded=True)
    with override_generations(DEFAULT_LIMITS={"daily_jobs": 5, "monthly_credits": 600},
                              DEFAULT_TEAM_LIMITS={"monthly_credits": 1000}):
        response = member.get(reverse("generations:usage"))

    html = response.content.decode()
    labels = [m["label"] for m in response.context["meters"]]
    assert labels == ["Jobs today", "Running at once", "Video this month", "Credits this month"]
    assert "of 600 credits" in html
    assert "of 5 jobs" in html
    assert "Pool of" in html and "Studio" in html and "of 1,000 credits" in html
    assert "<svg" in html and "Jobs per day" in html
    assert "resets" in html


def test_usage_chart_can_show_credits(member):
    html = member.get(reverse("generations:usage"), {"chart": "credits"}).content.decode()

    assert "Credits per day" in html


def test_creating_a_token_shows_the_key_once(member, user):
    response = member.post(reverse("generations:tokens"), {"name": "render script"})

    assert response.status_code == 201  # shown in the answer to the POST: never parked in the session
    html = response.content.decode()
    token = ApiToken.objects.get(user=user)
    key = response.context["new_key"]
    assert key.startswith(token.prefix)
    assert key in html and "will not be shown again" in html
    assert response["Cache-Control"] == "no-store"
    assert tokens.authenticate_key(key) == token
    assert key not in member.get(reverse("generations:tokens")).content.decode()
    assert token.prefix in member.get(reverse("generations:tokens")).content.decode()


def test_revoking_a_token_disables_it(member, user):
    token, key = tokens.create_token(user=user, name="ci")

    response = member.post(reverse("generations:token-revoke", args=[token.pk]))

    assert response.status_code == 302
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert tokens.authenticate_key(key) is None
    assert "revoked" in member.get(reverse("generations:tokens")).content.decode()


def test_a_member_cannot_revoke_someone_elses_token(member, other_user):
    token, _ = tokens.create_token(user=other_user)

    assert member.post(reverse("generations:token-revoke", args=[token.pk])).status_code == 404
    token.refresh_from_db()
    assert token.revoked_at is None


def test_pages_fill_the_documented_block_of_a_host_base_template(member, user, settings, tmp_path):
    (tmp_path / "host").mkdir()
    (tmp_path / "host" / "base.html").write_text(
        "<html><body><header id='host-header'>Host site</header>"
        "{% block generations_content %}{% endblock %}</body></html>"
    )
    settings.TEMPLATES = [{**settings.TEMPLATES[0], "DIRS": [tmp_path, *settings.TEMPLATES[0]["DIRS"]]}]
    GenerationFactory(owner=user, prompt="embedded clip", succeeded=True)

    with override_generations(BASE_TEMPLATE="host/base.html"):
        html = member.get(reverse("generations:gallery")).content.decode()

    assert "id='host-header'" in html
    assert "embedded clip" in html
    assert 'class="gmi-nav"' not in html  # the host's own frame, with the app's links inside the page
    assert 'class="gmi-tabs gmi-appnav"' in html


def test_pages_work_under_any_url_prefix(client, user, settings):
    settings.ROOT_URLCONF = "tests.views.test_pages"
    client.force_login(user)
    generation = GenerationFactory(owner=user, succeeded=True, thumbnail_name="t.jpg")

    html = client.get(f"/studio/generations/{generation.pk}/").content.decode()

    assert f'src="/studio/api/v1/generations/{generation.pk}/video/"' in html
    assert 'href="/studio/generations/new/' in html


def test_nav_team_switcher_remembers_the_current_team(member, user, team):
    response = member.post(reverse("generations:switch-team"), {"team": "studio", "next": "/usage/"})

    assert response.status_code == 302 and response["Location"] == "/usage/"
    assert user.gmi_profile.current_team == team
    html = member.get(reverse("generations:gallery")).content.decode()
    assert '<option value="studio" selected>' in html


def test_switching_to_a_team_the_member_is_not_in_is_404(member):
    TeamFactory(slug="other")

    assert member.post(reverse("generations:switch-team"), {"team": "other"}).status_code == 404


def test_switcher_refuses_offsite_next_urls(member, team):
    response = member.post(reverse("generations:switch-team"), {"team": "studio", "next": "https://evil.example/"})

    assert response["Location"] == reverse("generations:gallery")


def test_staff_see_an_admin_link(client, staff_user):
    client.force_login(staff_user)

    assert 'href="/admin/"' in client.get(reverse("generations:gallery")).content.decode()


def test_members_do_not_see_an_admin_link(member):
    assert 'href="/admin/"' not in member.get(reverse("generations:gallery")).content.decode()


def test_another_users_generation_gives_no_status_even_to_a_teammate_when_private(client, team, other_user):
    generation = GenerationFactory(owner=UserFactory(username="carol"))
    client.force_login(other_user)

    assert client.get(reverse("generations:status"), {"ids": str(generation.pk)}).json() == {"items": []}



# --------------------------------------------------------------------------- in a browser



@pytest.mark.browser
def test_gallery_cards_update_live_and_show_the_thumbnail_when_done(signed_in_page):
    page = signed_in_page.page
    generation = GenerationFactory(owner=signed_in_page.user, processing=True, prompt="live fox")
    page.goto(signed_in_page.url + reverse("generations:gallery"))
    badge = page.locator(f"[data-generation-id='{generation.pk}'] [data-status-badge]")
    assert badge.inner_text() == "Rendering"  # the status in words

    Generation.objects.filter(pk=generation.pk).update(status=Generation.Status.SUCCEEDED, thumbnail_name="t.jpg",
                                                       video_name="v.mp4")

    page.wait_for_function(
        f"() => document.querySelector(\"[data-generation-id='{generation.pk}'] [data-status-badge]\").textContent"
        " === 'Ready'", timeout=10000)
    card = page.locator(f"[data-generation-id='{generation.pk}']")
    assert card.get_attribute("data-active") == "0"
    assert f"/generations/{generation.pk}/thumbnail/" in card.locator("img").get_attribute("src")


@pytest.mark.browser
def test_submit_page_shows_the_payload_and_a_live_quote(signed_in_page):
    page = signed_in_page.page
    VideoModelFactory(id="Veo3")
    page.goto(signed_in_page.url + reverse("generations:submit"))

    page.fill("textarea[name='p-prompt']", "a kite over the dunes")

    page.wait_for_function(
        "() => document.querySelector('[data-quote]').textContent.includes('This job costs 10 credits')",
        timeout=10000)
    summary = page.text_content("[data-summary]")  # folded in a <details>
    assert '"prompt": "a kite over the dunes"' in summary and '"durationSeconds": 8' in summary


# Lets test_pages_work_under_any_url_prefix mount the app under /studio/.
from django.urls import include, path  # noqa: E402

urlpatterns = [
    path("accounts/", include("generations.accounts_urls")),
    path("studio/", include("generations.urls")),
]


@pytest.mark.browser
def test_switching_the_model_keeps_the_typed_prompt(signed_in_page):
    page = signed_in_page.page
    VideoModelFactory(id="Veo3")
    VideoModelFactory(id="Veo3-Fast")
    page.goto(signed_in_page.url + reverse("generations:submit") + "?model=Veo3")
    page.fill("textarea[name='p-prompt']", "a heron at dawn")
    page.select_option("#gmi-model-picker", "Veo3-Fast")
    page.wait_for_url("**model=Veo3-Fast**")
    assert page.input_value("textarea[name='p-prompt']") == "a heron at dawn"
