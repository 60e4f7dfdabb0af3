"""The REST API contract: auth, errors as JSON with a code, tenant isolation, files, idempotency."""
from __future__ import annotations

import pytest
from django.urls import reverse

from generations.models import Generation, UserProfile
from generations.services import tokens
from tests.helpers.factories import (
    GenerationFactory,
    MembershipFactory,
    TeamFactory,
    UserFactory,
    VideoModelFactory,
)

API = "/api/v1"


def post_generation(client, body, **headers):
    return client.post(f"{API}/generations/", body, format="json", **headers)


def test_unauthenticated_request_gets_json_error_with_code(api_client, db):
    response = api_client.get(f"{API}/generations/")
    assert response.status_code in (401, 403)
    assert response.json()["code"] == "not_authenticated" and response.json()["detail"]


def test_revoked_token_is_refused(api_client, user):
    token, key = tokens.create_token(user=user)
    tokens.revoke_token(token=token)
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    response = api_client.get(f"{API}/generations/")
    assert response.status_code == 401 and response.json()["code"] == "authentication_failed"


def test_token_is_stored_hashed_only(user):
    token, key = tokens.create_token(user=user)
    assert key not in (token.key_hash, token.prefix) and len(token.key_hash) == 64


def test_models_list_includes_normalized_parameter_schema(api_client, member, veo):
    response = api_client.get(f"{API}/models/")
    assert response.status_code == 200
    [model] = response.json()["results"]
    names = {p["name"]: p for p in model["parameters"]}
    assert names["durationSeconds"]["options"] == [4, 6, 8]
    assert model["payload_schema"]["type"] == "object"
    assert api_client.get(f"{API}/models/Unknown/").json()["code"] == "not_found"


def test_models_list_gives_each_parameter_the_widget_the_submit_form_uses(api_client, member, veo):
    [model] = api_client.get(f"{API}/models/").json()["results"]
    names = {p["name"]: p for p in model["parameters"]}
    assert names["prompt"]["widget"] == "textarea"
    assert names["durationSeconds"]["widget"] == "select"
    assert list(names["prompt"])[:6] == ["name", "label", "help", "kind", "widget", "raw_type"]


def test_invalid_payload_is_refused_per_field_before_anything_is_sent(api_client, member, veo):
    response = post_generation(api_client, {"model": "Veo3", "payload": {"durationSeconds": 5, "bogus": 1}})
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid_payload"
    assert set(body["errors"]["payload"]) >= {"prompt", "durationSeconds", "bogus"}
    assert Generation.objects.count() == 0


def test_payload_must_be_an_object(api_client, member, veo):
    response = post_generation(api_client, {"model": "Veo3", "payload": "a cat"})
    assert response.status_code == 400 and "payload" in response.json()["errors"]


def test_create_returns_the_generation_and_idempotency_key_replays_it(api_client, member, veo, no_auto_dispatch):
    body = {"model": "Veo3", "payload": {"prompt": "a snail racing a turtle"}}
    first = post_generation(api_client, body, HTTP_IDEMPOTENCY_KEY="k-1")
    assert first.status_code == 201
    data = first.json()
    assert data["status"] == "queued" and data["model"] == "Veo3" and data["video_url"] is None
    assert data["queue_position"] == 1
    again = post_generation(api_client, body, HTTP_IDEMPOTENCY_KEY="k-1")
    assert again.status_code == 201 and again.json()["id"] == data["id"]
    conflict = post_generation(api_client, {**body, "payload": {"prompt": "else"}}, HTTP_IDEMPOTENCY_KEY="k-1")
    assert conflict.status_code == 422 and conflict.json()["code"] == "idempotency_conflict"
    assert Generation.objects.count() == 1


def test_over_quota_answers_429_with_limit_and_reset(api_client, member, veo, no_auto_dispatch):
    UserProfile.objects.create(user=member, daily_jobs=0)
    response = post_generation(api_client, {"model": "Veo3", "payload": {"prompt": "x"}})
    assert response.status_code == 429
    body = response.json()
    assert body["code"] == "quota_exceeded" and body["limit"] == "daily_jobs" and body["resets_at"]


def test_blocked_prompt_is_refused_with_prompt_blocked(api_client, member, veo):
    from generations.services.moderation import add_blocked_terms

    add_blocked_terms(terms=["forbidden fruit"])
    response = post_generation(api_client, {"model": "Veo3", "payload": {"prompt": "A FORBIDDEN  Fruit tart"}})
    assert response.status_code == 400 and response.json()["code"] == "prompt_blocked"
    assert Generation.objects.count() == 0


def test_list_shows_own_and_team_visible_only_and_filters(api_client, member, veo):
    team = TeamFactory()
    MembershipFactory(team=team, user=member)
    mine = GenerationFactory(owner=member)
    shared = GenerationFactory(team=team, visibility="team")
    GenerationFactory(team=team, visibility="private")  # a teammate's private one
    GenerationFactory()  # a stranger's
    response = api_client.get(f"{API}/generations/")
    body = response.json()
    assert set(body) >= {"count", "next", "previous", "results"}
    assert {r["id"] for r in body["results"]} == {str(mine.pk), str(shared.pk)}
    filtered = api_client.get(f"{API}/generations/", {"team": team.slug}).json()
    assert [r["id"] for r in filtered["results"]] == [str(shared.pk)]


def test_list_query_count_does_not_grow_with_results(api_client, member, veo, django_assert_max_num_queries):
    for _ in range(15):
        GenerationFactory(owner=member)
    with django_assert_max_num_queries(12):
        response = api_client.get(f"{API}/generations/")
    assert response.json()["count"] == 15


@pytest.mark.parametrize("method, suffix", [("get", ""), ("post", "cancel/"), ("delete", ""), ("get", "video/"),
                                            ("get", "thumbnail/"), ("post", "flag/")])
def test_other_users_generation_is_404_everywhere(api_client, member, method, suffix):
    theirs = GenerationFactory(succeeded=True)
    response = getattr(api_client, method)(f"{API}/generations/{theirs.pk}/{suffix}", {"reason": "x"}, format="json")
    assert response.status_code == 404 and response.json()["code"] == "not_found"
    theirs.refresh_from_db()
    assert theirs.status == "succeeded" and theirs.deleted_at is None


def test_moderate_is_404_for_members_and_works_for_staff(api_client, member, staff_user):
    generation = GenerationFactory(owner=member, succeeded=True)
    url = f"{API}/generations/{generation.pk}/moderate/"
    assert api_client.post(url, {"decision": "reject", "reason": "no"}, format="json").status_code == 404
    api_client.credentials()
    api_client.force_authenticate(staff_user)
    response = api_client.post(url, {"decision": "reject", "reason": "Violates the team rules"}, format="json")
    assert response.status_code == 200 and response.json()["moderation"] == "rejected"


def test_video_is_served_with_range_support(api_client, member, isolated_storage):
    from django.core.files.base import ContentFile
    from django.core.files.storage import storages

    data = bytes(range(256)) * 40
    name = storages["generations"].save("x/video.mp4", ContentFile(data))
    generation = GenerationFactory(owner=member, succeeded=True, video_name=name, video_size=len(data))
    url = f"{API}/generations/{generation.pk}/video/"
    full = api_client.get(url)
    assert full.status_code == 200 and b"".join(full.streaming_content) == data
    assert full["Accept-Ranges"] == "bytes"
    part = api_client.get(url, HTTP_RANGE="bytes=100-199")
    assert part.status_code == 206 and b"".join(part.streaming_content) == data[100:200]
    assert part["Content-Range"] == f"bytes 100-199/{len(data)}"
    assert api_client.get(url, HTTP_RANGE=f"bytes={len(data) + 5}-").status_code == 416
    detail = api_client.get(f"{API}/generations/{generation.pk}/").json()
    assert detail["video_url"] == f"http://testserver{url}"


def test_delete_removes_files_and_hides_the_generation(api_client, member, isolated_storage,
                                                      django_capture_on_commit_callbacks):
    from django.core.files.base import ContentFile
    from django.core.files.storage import storages

    name = storages["generations"].save("x/v.mp4", ContentFile(b"data"))
    generation = GenerationFactory(owner=member, succeeded=True, video_name=name)
    with django_capture_on_commit_callbacks(execute=True):
        assert api_client.delete(f"{API}/generations/{generation.pk}/").status_code == 204
    assert not storages["generations"].exists(name)
    assert api_client.get(f"{API}/generations/{generation.pk}/").status_code == 404


def test_cancel_of_a_finished_job_is_a_clear_conflict(api_client, member):
    generation = GenerationFactory(owner=member, succeeded=True)
    response = api_client.post(f"{API}/generations/{generation.pk}/cancel/")
    assert response.status_code == 409 and response.json()["code"] == "invalid_state"


def test_quota_endpoint_reports_limits_usage_remaining_and_resets(api_client, member, veo, no_auto_dispatch):
    post_generation(api_client, {"model": "Veo3", "payload": {"prompt": "x", "durationSeconds": 6}})
    body = api_client.get(f"{API}/quota/").json()
    assert body["used"]["daily_jobs"] == 1 and body["used"]["monthly_video_seconds"] == 6
    assert body["remaining"]["daily_jobs"] == body["limits"]["daily_jobs"] - 1
    assert set(body["resets_at"]) == {"daily_jobs", "concurrent_jobs", "monthly_video_seconds", "monthly_credits"}


def test_quote_endpoint_prices_without_creating(api_client, member, veo):
    response = api_client.post(f"{API}/generations/quote/", {"model": "Veo3", "payload": {"prompt": "x"}},
                               format="json")
    assert response.status_code == 200 and response.json()["credits"] == 10 and response.json()["accepted"]
    assert Generation.objects.count() == 0


def _accept_as(api_client, user, back_to):
    """``user`` accepts their open invitations through the API, then the client is ``back_to`` again."""
    api_client.force_authenticate(user)
    for invitation in api_client.get(f"{API}/invitations/").json():
        assert api_client.post(f"{API}/invitations/{invitation['id']}/accept/").status_code == 200
    api_client.force_authenticate(back_to)


def test_teams_create_invite_and_remove_members(api_client, member):
    carol = UserFactory(username="carol")
    created = api_client.post(f"{API}/teams/", {"name": "Blue Whales"}, format="json")
    assert created.status_code == 201 and created.json()["slug"] == "blue-whales"
    assert created.json()["role"] == "owner"
    added = api_client.post(f"{API}/teams/blue-whales/members/", {"username": "carol", "role": "member"},
                            format="json")
    assert added.status_code == 202 and added.json()["status"] == "invited"
    assert [m["username"] for m in api_client.get(f"{API}/teams/blue-whales/").json()["members"]] == [member.username]
    _accept_as(api_client, carol, member)
    assert "carol" in [m["username"] for m in api_client.get(f"{API}/teams/blue-whales/").json()["members"]]
    assert api_client.delete(f"{API}/teams/blue-whales/members/carol/").status_code == 204
    assert api_client.post(f"{API}/teams/nope/members/", {"username": "carol"}, format="json").status_code == 404


@pytest.mark.parametrize("path", ["/generations/not-a-uuid/", "/nothing/here/", "/generations/not-a-uuid/video/"])
def test_unknown_api_paths_and_malformed_ids_answer_json_404(api_client, member, path):
    response = api_client.get(API + path)
    assert response.status_code == 404 and response.json()["code"] == "not_found"


def test_post_without_trailing_slash_creates_instead_of_redirecting(api_client, member, veo, no_auto_dispatch):
    response = api_client.post(f"{API}/generations", {"model": "Veo3", "payload": {"prompt": "x"}}, format="json")
    assert response.status_code == 201


def test_unsatisfiable_range_is_json(api_client, member, isolated_storage):
    from django.core.files.base import ContentFile
    from django.core.files.storage import storages

    name = storages["generations"].save("x/v.mp4", ContentFile(b"0123456789"))
    generation = GenerationFactory(owner=member, succeeded=True, video_name=name)
    response = api_client.get(f"{API}/generations/{generation.pk}/video/", HTTP_RANGE="bytes=50-")
    assert response.status_code == 416 and response.json()["code"] == "range_not_satisfiable"


def test_someone_elses_team_is_not_found_on_submit(api_client, member, veo):
    other = TeamFactory(slug="others")
    body = {"model": "Veo3", "payload": {"prompt": "x"}, "team": other.slug}
    assert post_generation(api_client, body).status_code == 404
    assert post_generation(api_client, {**body, "team": "nope"}).json()["code"] == "not_found"


def test_team_visibility_without_team_is_a_field_error(api_client, member, veo):
    response = post_generation(api_client, {"model": "Veo3", "payload": {"prompt": "x"}, "visibility": "team"})
    assert response.status_code == 400 and "visibility" in response.json()["errors"]


def test_idempotency_key_treats_spelled_out_defaults_as_the_same_request(api_client, member, veo, no_auto_dispatch):
    first = post_generation(api_client, {"model": "Veo3", "payload": {"prompt": "x"}}, HTTP_IDEMPOTENCY_KEY="k")
    again = post_generation(api_client, {"model": "Veo3", "payload": {"prompt": "x"}, "visibility": "private"},
                            HTTP_IDEMPOTENCY_KEY="k")
    assert again.status_code == 201 and again.json()["id"] == first.json()["id"]
    too_long = post_generation(api_client, {"model": "Veo3", "payload": {"prompt": "x"}},
                               HTTP_IDEMPOTENCY_KEY="k" * 201)
    assert too_long.status_code == 400 and too_long.json()["code"] == "invalid"


def test_team_member_errors_have_the_right_codes(api_client, member):
    team = api_client.post(f"{API}/teams/", {"name": "Reds"}, format="json").json()["slug"]
    blank = api_client.post(f"{API}/teams/{team}/members/", {"username": " "}, format="json")
    assert blank.status_code == 400 and "username" in blank.json()["errors"]
    assert api_client.delete(f"{API}/teams/{team}/members/ghost/").status_code == 404
    erin = UserFactory(username="erin")
    api_client.post(f"{API}/teams/{team}/members/", {"username": "erin", "role": "member"}, format="json")
    _accept_as(api_client, erin, member)
    promoted = api_client.post(f"{API}/teams/{team}/members/", {"username": "erin", "role": "admin"}, format="json")
    assert promoted.status_code == 200 and promoted.json()["role"] == "admin"


def test_plain_member_cannot_add_members(api_client, member):
    team = TeamFactory()
    MembershipFactory(team=team, user=member, role="member")
    UserFactory(username="dave")
    response = api_client.post(f"{API}/teams/{team.slug}/members/", {"username": "dave"}, format="json")
    assert response.status_code == 403 and response.json()["code"] == "not_allowed"


def test_flag_a_team_video(api_client, member):
    team = TeamFactory()
    MembershipFactory(team=team, user=member)
    generation = GenerationFactory(team=team, visibility="team", succeeded=True)
    response = api_client.post(f"{API}/generations/{generation.pk}/flag/", {"reason": "Off-topic"}, format="json")
    assert response.status_code == 201
    assert generation.flags.count() == 1


def test_openapi_schema_and_docs_are_served_without_cdn(api_client, member):
    schema = api_client.get(f"{API}/schema/")
    assert schema.status_code == 200 and b"/api/v1/generations/" in schema.content
    docs = api_client.get(f"{API}/docs/")
    assert docs.status_code == 200
    html = docs.content.decode()
    assert "cdn" not in html.lower() and "unpkg" not in html.lower()
    assert reverse("generations:api:docs") == f"{API}/docs/"


def test_openapi_schema_validates_without_warnings(tmp_path, veo):
    from django.core.management import call_command

    call_command("spectacular", "--file", str(tmp_path / "schema.yml"), "--validate", "--fail-on-warn")
    assert "personalToken" in (tmp_path / "schema.yml").read_text()


def test_gmi_key_never_appears_in_api_responses(api_client, member, veo, settings, no_auto_dispatch):
    secret = "sk-live-DO-NOT-LEAK-42"
    settings.GENERATIONS = {**settings.GENERATIONS, "API_KEY": secret}
    created = post_generation(api_client, {"model": "Veo3", "payload": {"prompt": "x"}})
    bodies = [created.content]
    for path in ("/models/", "/generations/", f"/generations/{created.json()['id']}/", "/quota/", "/schema/"):
        bodies.append(api_client.get(API + path).content)
    assert all(secret.encode() not in body for body in bodies)


def test_openapi_describes_each_enabled_models_payload(api_client, member, veo):
    import yaml

    schema = yaml.safe_load(api_client.get(f"{API}/schema/").content)
    payload = schema["components"]["schemas"]["Payload_Veo3"]
    assert payload["properties"]["durationSeconds"]["enum"] == [4, 6, 8]
    assert "prompt" in payload["required"]
    submission = schema["components"]["schemas"]["GenerationInputRequest"]["properties"]["payload"]
    assert {"$ref": "#/components/schemas/Payload_Veo3"} in submission["anyOf"]


@pytest.mark.parametrize("body", [
    '{"model": "Veo3", "payload": {"prompt": "cat \\ud800"}}',
    '{"model": "Veo3", "payload": {"prompt": "cat", "k\\ud800": 1}}',
    '{"model": "Veo3", "payload": {"prompt": "cat"}, "visibility": "t\\ud800"}',
    '{"model": "Veo3", "payload": {"prompt": "a", "durationSeconds": 1' + "0" * 400 + '}}',
    '{"model": "Veo3", "payload": {"x": ' + "[" * 5000 + "]" * 5000 + '}}',
    '{"model": "Veo3", "payload": {"x": ' + "[" * 100 + "]" * 100 + '}}',
    "not json at all",
    "[1, 2, 3]",
])
def test_hostile_bodies_get_a_json_400_never_a_500(api_client, member, veo, body, no_auto_dispatch):
    for path in ("/generations/", "/generations/quote/"):
        response = api_client.post(API + path, body, content_type="application/json")
        assert response.status_code == 400, (path, response.content[:300])
        assert response.json()["code"]
    assert Generation.objects.count() == 0


def test_oversized_body_is_a_json_413(api_client, member, veo, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    response = api_client.post(f"{API}/generations/", '{"model": "Veo3", "payload": {"prompt": "' + "x" * 2000 + '"}}',
                               content_type="application/json")
    assert response.status_code == 413 and response.json()["code"] == "request_too_large"


def test_unsafe_method_on_unknown_path_is_json_404_not_csrf(client, user):
    client.force_login(user)
    from django.test import Client

    csrf_client = Client(enforce_csrf_checks=True)
    csrf_client.force_login(user)
    response = csrf_client.post(f"{API}/nonexistent/")
    assert response.status_code == 404 and response.json()["code"] == "not_found"


def test_nul_character_is_refused_before_it_reaches_the_database(api_client, member, veo):
    response = api_client.post(f"{API}/generations/", '{"model": "Veo3", "payload": {"prompt": "a\\u0000b"}}',
                               content_type="application/json")
    assert response.status_code == 400


def test_reversed_range_is_ignored_and_the_whole_file_served(api_client, member, isolated_storage):
    from django.core.files.base import ContentFile
    from django.core.files.storage import storages

    name = storages["generations"].save("x/v.mp4", ContentFile(b"0123456789"))
    generation = GenerationFactory(owner=member, succeeded=True, video_name=name)
    response = api_client.get(f"{API}/generations/{generation.pk}/video/", HTTP_RANGE="bytes=5-2")
    assert response.status_code == 200 and b"".join(response.streaming_content) == b"0123456789"


@pytest.mark.django_db(transaction=True)
def test_teams_with_the_same_name_created_at_once_get_distinct_slugs():
    from generations.services.teams import create_team
    from tests.helpers.threads import run_concurrently

    users = [UserFactory() for _ in range(6)]
    results = run_concurrently(6, lambda i: create_team(user=users[i], name="Night Shift"))
    slugs = sorted(team.slug for team in results)
    assert len(set(slugs)) == 6 and slugs[0] == "night-shift", results


@pytest.mark.timeout(20)
@pytest.mark.parametrize("path", ["/generations/", "/generations/quote/"])
def test_a_two_megabyte_prompt_is_refused_at_its_field_before_it_is_read(api_client, member, veo, path):
    from generations.services import moderation

    moderation.add_blocked_terms(terms=[f"blocked {n}" for n in range(500)])
    response = api_client.post(f"{API}{path}", {"model": "Veo3", "payload": {"prompt": "calm sea " * 233_000}},
                               format="json")
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid_payload" and body["detail"]
    assert body["errors"]["payload"]["prompt"] == ["Must be at most 5000 characters (it has 2096999)."]
    assert Generation.objects.count() == 0


def test_many_short_texts_are_refused_as_a_whole_with_the_payload_cap(api_client, member, veo):
    from tests.helpers.settings import override_generations

    with override_generations(MAX_PROMPT_CHARS=100, MAX_PAYLOAD_CHARS=300):
        fits = api_client.post(f"{API}/generations/quote/", {"model": "Veo3", "payload": {"prompt": "x" * 100}},
                               format="json")
        assert fits.status_code == 200
        response = api_client.post(f"{API}/generations/quote/", {"model": "Veo3", "payload": {
            "prompt": "x" * 100, "negativePrompt": "y" * 100, "seed": ["z" * 90, "z" * 90]}}, format="json")
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid_payload"
    assert "the most is 300" in body["errors"]["payload"]["non_field_errors"][0]


def test_an_account_waiting_for_approval_gets_account_pending_from_every_write(api_client, db):
    from django.core.files.uploadedfile import SimpleUploadedFile

    VideoModelFactory(id="Veo3")
    waiting = UserFactory(awaiting_approval=True)
    team = TeamFactory(slug="studio")
    MembershipFactory(team=team, user=waiting, role="admin")
    UserFactory(username="bob")
    api_client.force_authenticate(waiting)
    png = SimpleUploadedFile("a.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, content_type="image/png")

    answers = [
        api_client.post(f"{API}/teams/", {"name": "Mine"}, format="json"),
        api_client.post(f"{API}/teams/studio/members/", {"username": "bob", "role": "member"}, format="json"),
        api_client.post(f"{API}/uploads/", {"file": png}, format="multipart"),
        api_client.post(f"{API}/generations/quote/", {"model": "Veo3", "payload": {"prompt": "x"}}, format="json"),
        post_generation(api_client, {"model": "Veo3", "payload": {"prompt": "x"}}),
    ]

    for response in answers:
        assert response.status_code == 403, response.json()
        assert response.json()["code"] == "account_pending" and "approval" in response.json()["detail"]
    assert team.memberships.count() == 1
    assert api_client.get(f"{API}/teams/").status_code == 200  # looking around still works


def test_team_creation_beyond_the_cap_is_refused_with_limit_reached(api_client, member):
    from tests.helpers.settings import override_generations

    with override_generations(MAX_TEAMS_PER_USER=2):
        assert api_client.post(f"{API}/teams/", {"name": "One"}, format="json").status_code == 201
        assert api_client.post(f"{API}/teams/", {"name": "Two"}, format="json").status_code == 201
        response = api_client.post(f"{API}/teams/", {"name": "Three"}, format="json")
    assert response.status_code == 409
    assert response.json()["code"] == "limit_reached" and "already own 2 teams" in response.json()["detail"]
    assert member.gmi_memberships.count() == 2


def test_tokens_beyond_the_cap_are_refused_until_one_is_revoked(db, client, user):
    from generations.exceptions import LimitReached
    from generations.models import ApiToken
    from tests.helpers.settings import override_generations

    client.force_login(user)
    with override_generations(MAX_TOKENS_PER_USER=2):
        first, _ = tokens.create_token(user=user)
        tokens.create_token(user=user)
        with pytest.raises(LimitReached):
            tokens.create_token(user=user)
        page = client.post(reverse("generations:tokens"), {"name": "third"})
        assert page.status_code == 200 and "You already have 2 API tokens" in page.content.decode()
        tokens.revoke_token(token=first)
        assert client.post(reverse("generations:tokens"), {"name": "third"}).status_code == 201
    assert ApiToken.objects.filter(user=user, revoked_at__isnull=True).count() == 2
