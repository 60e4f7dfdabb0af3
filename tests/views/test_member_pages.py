"""The member pages: plain words, redacted URLs, the owner's form posts, the starred filter, query counts per page."""
from __future__ import annotations

import pytest
from django.urls import reverse

from generations import words
from generations.models import Generation
from tests.helpers.factories import GenerationFactory, MembershipFactory, TeamFactory, VideoModelFactory

pytestmark = pytest.mark.django_db

#: Session, user, member state, catalogue, the collections (filter), the page's rows, its count, queue
#: positions …: never one per card.
QUERIES_PER_GALLERY_PAGE = 12
SIGNED = "https://files.example.com/out/clip.mp4?X-Amz-Credential=AKIAEXAMPLE&X-Amz-Signature=deadbeef"


def test_a_failed_job_reads_as_a_sentence_and_never_shows_gmis_text(member, user):
    generation = GenerationFactory(owner=user, failed=True, error_code="content_policy",
                                   error=f"policy violation, see {SIGNED}")
    html = member.get(reverse("generations:detail", args=[generation.pk])).content.decode()
    assert "GMI refused this prompt under its content policy — your credits were returned" in html
    assert "X-Amz" not in html and "policy violation" not in html
    gallery = member.get(reverse("generations:gallery")).content.decode()
    assert "X-Amz" not in gallery and "your credits were returned" in gallery


def test_statuses_read_in_plain_words_and_the_detail_heading_is_the_title(member, user):
    generation = GenerationFactory(owner=user, dispatched=True, prompt="word " * 400,
                                   payload={"prompt": "word " * 400})
    html = member.get(reverse("generations:detail", args=[generation.pk])).content.decode()
    assert ">Starting<" in html and ">Dispatched<" not in html
    heading = html.split('<h1 class="gmi-detail__title">', 1)[1].split("</h1>", 1)[0]
    assert heading == generation.display_title and len(heading) < 100


def test_every_url_shown_loses_its_query_string():
    assert words.redact_urls(f"failed at {SIGNED}.") == "failed at https://files.example.com/out/clip.mp4?…."
    assert words.redact_urls("https://user:pw@example.com/a") == "https://example.com/a"
    assert words.file_size(380365) == "380 KB" and words.file_size(2_500_000) == "2.5 MB"


def test_the_owner_renames_stars_keeps_and_shares_by_plain_form_posts(member, user):
    team = TeamFactory(slug="crew")
    MembershipFactory(team=team, user=user)
    generation = GenerationFactory(owner=user, succeeded=True)
    url = reverse("generations:update", args=[generation.pk])
    assert member.post(url, {"title": "Night kite", "team": "crew", "keep": "1"}).status_code == 302
    assert member.post(url, {"favorite": "1"}, HTTP_ACCEPT="application/json").json()["favorite"] is True
    generation.refresh_from_db()
    assert (generation.title, generation.visibility, generation.team_id, generation.keep, generation.favorite) == (
        "Night kite", Generation.Visibility.TEAM, team.pk, True, True)
    member.post(url, {"team": ""})
    generation.refresh_from_db()
    assert generation.visibility == Generation.Visibility.PRIVATE


def test_someone_elses_video_cannot_be_changed_from_the_pages(client, other_user, user):
    team = TeamFactory()
    MembershipFactory(team=team, user=user)
    MembershipFactory(team=team, user=other_user)
    generation = GenerationFactory(owner=user, team=team, visibility=Generation.Visibility.TEAM)
    client.force_login(other_user)
    assert client.post(reverse("generations:update", args=[generation.pk]), {"favorite": "1"}).status_code == 404
    generation.refresh_from_db()
    assert generation.favorite is False


def test_the_starred_filter_shows_only_starred_videos(member, user):
    starred = GenerationFactory(owner=user, favorite=True, prompt="starred one", payload={"prompt": "starred one"})
    GenerationFactory(owner=user, prompt="plain one", payload={"prompt": "plain one"})
    html = member.get(reverse("generations:gallery"), {"favorites": "on"}).content.decode()
    assert str(starred.pk) in html and "plain one" not in html


def test_the_reference_image_shows_as_an_image_and_a_signed_one_only_as_a_redacted_link(member, user):
    public = GenerationFactory(owner=user, payload={"prompt": "p", "image": "https://cdn.example.com/ref.png"})
    signed = GenerationFactory(owner=user, payload={"prompt": "p", "image": SIGNED.replace(".mp4", ".png")})
    assert '<img class="gmi-reference" src="https://cdn.example.com/ref.png"' in member.get(
        reverse("generations:detail", args=[public.pk])).content.decode()
    html = member.get(reverse("generations:detail", args=[signed.pk])).content.decode()
    assert "gmi-reference" not in html and "X-Amz" not in html


@pytest.mark.parametrize("count", [3, 12])
def test_the_gallery_costs_the_same_queries_whatever_the_page_holds(member, user, count,
                                                                    django_assert_num_queries):
    model = VideoModelFactory()
    team = TeamFactory()
    MembershipFactory(team=team, user=user)
    for index in range(count):
        GenerationFactory(owner=user, model=model, succeeded=index % 2 == 0, thumbnail_name="t.jpg",
                          team=team if index % 3 == 0 else None,
                          visibility=Generation.Visibility.TEAM if index % 3 == 0 else Generation.Visibility.PRIVATE)
    member.get(reverse("generations:gallery"))  # warm the per-process caches (catalogue, member state)
    with django_assert_num_queries(QUERIES_PER_GALLERY_PAGE):
        response = member.get(reverse("generations:gallery"))
    assert response.status_code == 200



def test_a_failure_notice_says_what_happened_in_words_without_gmis_text(user):
    from generations.services.notifications import recording as notification_recording

    generation = GenerationFactory(owner=user, failed=True, error_code="timeout", error=f"deadline at {SIGNED}")
    notices = notification_recording.announce_status(generation=generation, status=Generation.Status.FAILED)
    assert notices and "GMI took too long" in notices[0].body and "X-Amz" not in notices[0].body
