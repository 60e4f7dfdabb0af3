"""Studio pages: batch upload with a row-by-row preview, batch progress, compare, collections, sharing, frames."""
from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from generations.models import Batch, Collection, CollectionItem, Generation, ShareLink, Upload
from generations.services import batches, submissions
from tests.helpers.factories import MembershipFactory, TeamFactory, UserFactory, VideoModelFactory
from tests.helpers.media import mirrored_generation

pytestmark = pytest.mark.django_db

GOOD_CSV = "model,prompt,durationSeconds\nVeo3,a red fox in snow,4\nVeo3,a lighthouse at dusk,8\n"
BAD_CSV = "model,prompt,durationSeconds\nVeo3,a red fox in snow,4\nVeo3,a lighthouse at dusk,5\nVeo3,a kite,6\n"


@pytest.fixture
def veo(db):
    return VideoModelFactory(id="Veo3")


@pytest.mark.parametrize("name", ["generations:batch-upload", "generations:compare", "generations:collections"])
def test_studio_pages_need_a_log_in_and_render_in_the_apps_frame(client, member, veo, name):
    response = member.get(reverse(name))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'class="gmi-nav"' in html and "generations/js/studio.js" in html
    assert "<script>" not in html and "style=" not in html  # the CSP forbids inline script and style
    client.logout()
    assert client.get(reverse(name)).status_code == 302


def upload_csv(client, text, name="jobs.csv", **extra):
    return client.post(reverse("generations:batch-upload"), {
        "step": "preview", "file": SimpleUploadedFile(name, text.encode(), content_type="text/csv"),
        "visibility": "private", **extra})


def test_a_csv_with_one_bad_row_is_refused_with_that_rows_errors_and_nothing_is_sent(member, veo):
    response = upload_csv(member, BAD_CSV)
    assert response.status_code == 200
    html = response.content.decode()
    assert "Some rows need changes" in html
    assert 'data-row="2" data-row-invalid' in html and "durationSeconds: Must be one of: 4, 6, 8." in html
    assert 'data-row="1" data-row-invalid' not in html and 'data-row="3" data-row-invalid' not in html
    assert 'name="step" value="submit"' not in html  # no way to send it as it is
    assert Generation.objects.count() == 0


def test_a_good_csv_is_previewed_then_submitted_as_one_batch(member, user, veo, no_auto_dispatch):
    preview = upload_csv(member, GOOD_CSV)
    html = preview.content.decode()
    assert "2 jobs, ready to submit" in html and "Submit 2 jobs" in html and Generation.objects.count() == 0
    confirm = preview.context["confirm"]
    data = {name: confirm.initial[name] for name in ("items", "team", "visibility", "idempotency_key")}
    response = member.post(reverse("generations:batch-upload"), {"step": "submit", **data})
    batch = Batch.objects.get(owner=user)
    assert response.status_code == 302 and response["Location"] == reverse("generations:batch", args=[batch.pk])
    assert [g.prompt for g in Generation.objects.filter(batch=batch).order_by("created_at")] == [
        "a red fox in snow", "a lighthouse at dusk"]
    again = member.post(reverse("generations:batch-upload"), {"step": "submit", **data})  # a double click
    assert again.status_code == 302 and Batch.objects.count() == 1
    page = member.get(response["Location"]).content.decode()
    assert 'data-count="queued">2<' in page and "Cancel the rest" in page


def test_a_json_file_is_read_too_and_a_damaged_one_is_explained(member, veo):
    ok = upload_csv(member, '[{"model": "Veo3", "payload": {"prompt": "x"}}]', name="jobs.json")
    assert "1 jobs, ready to submit" in ok.content.decode()
    broken = upload_csv(member, '[{"model": ', name="jobs.json").content.decode()
    assert "The JSON could not be read" in broken
    no_model = upload_csv(member, "prompt\nx\n").content.decode()
    assert "“model” column" in no_model


def test_cancel_the_rest_on_the_batch_page_cancels_only_what_has_not_ended(member, user, veo, no_auto_dispatch):
    batch = batches.submit_batch(user=user, items=[{"model": "Veo3", "payload": {"prompt": f"p{i}"}}
                                                   for i in range(3)])
    done = Generation.objects.filter(batch=batch).order_by("created_at").first()
    Generation.objects.filter(pk=done.pk).update(status="succeeded")
    response = member.post(reverse("generations:batch-cancel", args=[batch.pk]))
    assert response.status_code == 302
    statuses = sorted(Generation.objects.filter(batch=batch).values_list("status", flat=True))
    assert statuses == ["cancelled", "cancelled", "succeeded"]
    other = UserFactory(username="mallory")
    member.force_login(other)
    assert member.get(reverse("generations:batch", args=[batch.pk])).status_code == 404


def test_the_batch_page_links_to_the_gallery_showing_that_batch_alone(member, user, veo, no_auto_dispatch):
    batch = batches.submit_batch(user=user, items=[{"model": "Veo3", "payload": {"prompt": f"p{i}"}}
                                                   for i in range(2)])
    other = submissions.submit_generation(user=user, model_id="Veo3", payload={"prompt": "alone"})
    page = member.get(reverse("generations:batch", args=[batch.pk])).content.decode()
    link = f"{reverse('generations:gallery')}?batch={batch.pk}"
    assert f'href="{link}"' in page
    shown = member.get(link).content.decode()
    assert all(str(g.pk) in shown for g in Generation.objects.filter(batch=batch))
    assert str(other.pk) not in shown


def test_compare_sends_one_prompt_to_three_models_and_shows_them_side_by_side(member, user, no_auto_dispatch):
    for model_id in ("Veo3", "Veo3-Fast", "Luma-Ray2"):
        VideoModelFactory(id=model_id)
    response = member.post(reverse("generations:compare"), {
        "prompt": "a paper boat on a river", "models": ["Veo3", "Veo3-Fast", "Luma-Ray2"],
        "m-Veo3-durationSeconds": "4", "idempotency_key": "c-1"})
    batch = Batch.objects.get(owner=user)
    assert response.status_code == 302, response.context["top_errors"] if response.context else ""
    assert batch.kind == "compare" and batch.size == 3
    payloads = {g.model_id: g.payload for g in Generation.objects.filter(batch=batch)}
    assert {p["prompt"] for p in payloads.values()} == {"a paper boat on a river"}
    assert payloads["Veo3"]["durationSeconds"] == 4  # each model's own parameters
    page = member.get(response["Location"]).content.decode()
    assert page.count("gmi-compare__item") == 3 and "data-sync-play" in page


def test_compare_needs_two_to_four_models(member, veo):
    response = member.post(reverse("generations:compare"), {"prompt": "x", "models": ["Veo3"]})
    assert response.status_code == 200 and "Choose 2, 3 or 4 models" in response.content.decode()
    assert not Batch.objects.exists()


def test_keep_one_of_a_compare_stars_it_and_may_delete_the_rest(member, user, no_auto_dispatch):
    for model_id in ("Veo3", "Luma-Ray2"):
        VideoModelFactory(id=model_id)
    batch = batches.submit_batch(user=user, kind="compare", items=[
        {"model": "Veo3", "payload": {"prompt": "x"}}, {"model": "Luma-Ray2", "payload": {"prompt": "x"}}])
    chosen, other = Generation.objects.filter(batch=batch).order_by("created_at")
    member.post(reverse("generations:compare-keep", args=[batch.pk, chosen.pk]), {"delete_others": "1"})
    chosen.refresh_from_db()
    other.refresh_from_db()
    assert chosen.favorite and chosen.deleted_at is None
    assert other.deleted_at is not None and other.status == "cancelled"


def test_collections_page_creates_one_and_the_video_page_adds_to_it(member, user):
    video = mirrored_generation(owner=user)
    response = member.post(reverse("generations:collections"), {"name": "Client picks", "team": ""})
    collection = Collection.objects.get(owner=user)
    assert response["Location"] == reverse("generations:collection", args=[collection.pk])
    detail = member.get(reverse("generations:detail", args=[video.pk])).content.decode()
    assert "Add to collection" in detail and "Share a link" in detail and "Use a frame" in detail
    member.post(reverse("generations:collect", args=[video.pk]), {"collection": str(collection.pk)})
    assert CollectionItem.objects.filter(collection=collection, generation=video).exists()
    page = member.get(reverse("generations:collection", args=[collection.pk])).content.decode()
    assert str(video.pk) in page and "Remove from collection" in page
    detail = member.get(reverse("generations:detail", args=[video.pk])).content.decode()
    assert 'aria-label="Remove from Client picks"' in detail
    back = member.post(reverse("generations:collection-remove", args=[collection.pk, video.pk]), {"next": "detail"})
    assert back["Location"] == reverse("generations:detail", args=[video.pk])
    assert not CollectionItem.objects.exists()
    member.post(reverse("generations:collect", args=[video.pk]), {"collection": str(collection.pk)})
    listing = member.get(reverse("generations:collections")).content.decode()
    assert "Client picks" in listing and f"/api/v1/generations/{video.pk}/thumbnail/" in listing
    member.post(reverse("generations:collection-remove", args=[collection.pk, video.pk]))
    assert not CollectionItem.objects.exists()
    member.post(reverse("generations:collection-delete", args=[collection.pk]))
    assert not Collection.objects.exists() and Generation.objects.filter(pk=video.pk).exists()


def test_someone_elses_collection_page_is_404(member, user, other_user):
    theirs = Collection.objects.create(owner=other_user, name="Bob's")
    assert member.get(reverse("generations:collection", args=[theirs.pk])).status_code == 404
    team = TeamFactory()
    MembershipFactory(team=team, user=other_user)
    team_collection = Collection.objects.create(owner=other_user, team=team, name="Their team's")
    assert member.get(reverse("generations:collection", args=[team_collection.pk])).status_code == 404


def test_the_share_page_shows_a_new_link_once_and_revokes(member, user, client):
    video = mirrored_generation(owner=user)
    response = member.post(reverse("generations:share-links", args=[video.pk]),
                           {"expires_in": 3600, "allow_download": "on"})
    html = response.content.decode()
    link = ShareLink.objects.get(generation=video)
    assert "/s/" in html and response["Cache-Control"] == "no-store"
    assert "/s/" not in member.get(reverse("generations:share-links", args=[video.pk])).content.decode()
    member.post(reverse("generations:share-revoke", args=[video.pk, link.pk]))
    link.refresh_from_db()
    assert link.revoked_at is not None
    other = UserFactory(username="eve")
    member.force_login(other)
    assert member.get(reverse("generations:share-links", args=[video.pk])).status_code == 404


def test_use_a_frame_prefills_a_new_image_to_video_job(member, user, gmi):
    VideoModelFactory(id="Veo3")
    kling = VideoModelFactory(id="Kling-Image2Video-V2.1-Master", parameters=[
        {"name": "prompt", "type": "string", "required": True},
        {"name": "image_url", "type": "image", "required": True}])
    video = mirrored_generation(owner=user)
    page = member.get(reverse("generations:use-frame", args=[video.pk])).content.decode()
    assert "data-frame-scrubber" in page and 'value="last"' in page
    response = member.post(reverse("generations:use-frame", args=[video.pk]), {"at": "last"})
    upload = Upload.objects.get(user=user)
    assert response.status_code == 302
    assert response["Location"] == reverse("generations:submit") + f"?frame={upload.pk}&model={kling.pk}"
    submit = member.get(response["Location"]).content.decode()
    assert upload.public_url in submit
    # Someone else's upload id does not fill anything in.
    stranger = UserFactory(username="stranger")
    member.force_login(stranger)
    assert upload.public_url not in member.get(response["Location"]).content.decode()
    past = member.post(reverse("generations:use-frame", args=[video.pk]), {"at": "99"})
    assert past.status_code == 404  # not theirs to see
