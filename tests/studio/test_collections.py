"""Collections: personal and team ones, who may see and add, deleting keeps videos, filters and no N+1."""
from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from generations.models import Collection, CollectionItem, Generation
from generations.selectors import studio as studio_reads
from generations.services import tokens
from tests.helpers.factories import GenerationFactory, MembershipFactory, TeamFactory, UserFactory
from tests.helpers.media import mirrored_generation

API = "/api/v1"
pytestmark = pytest.mark.django_db


def client_for(user) -> APIClient:
    _, key = tokens.create_token(user=user)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    return client


@pytest.fixture
def alice(user):
    return client_for(user)


def create(client, **body):
    return client.post(f"{API}/collections/", body, format="json")


def test_a_personal_collection_holds_videos_and_has_a_cover(alice, user):
    first = mirrored_generation(owner=user)
    second = GenerationFactory(owner=user)
    response = create(alice, name="  Client picks ")
    assert response.status_code == 201
    body = response.json()
    assert body["name"] == "Client picks" and body["team"] is None and body["count"] == 0
    assert body["cover_url"] is None
    added = alice.post(f"{API}/collections/{body['id']}/items/", {"generations": [str(first.pk), str(second.pk)]},
                       format="json")
    assert added.status_code == 200 and added.json() == {"added": 2, "count": 2}
    again = alice.post(f"{API}/collections/{body['id']}/items/", {"generations": [str(first.pk)]}, format="json")
    assert again.json() == {"added": 0, "count": 2}
    detail = alice.get(f"{API}/collections/{body['id']}/").json()
    assert detail["count"] == 2 and {r["id"] for r in detail["results"]} == {str(first.pk), str(second.pk)}
    assert set(detail) >= {"next", "previous", "results", "cover_url", "name"}
    assert detail["cover_url"].endswith(f"/api/v1/generations/{first.pk}/thumbnail/")
    listed = alice.get(f"{API}/generations/", {"collection": body["id"]}).json()
    assert listed["count"] == 2
    assert all(r["collections"] == [body["id"]] for r in listed["results"])


def test_another_member_can_neither_see_nor_add_to_someone_elses_collection(alice, user, other_user):
    collection_id = create(alice, name="Mine").json()["id"]
    bob = client_for(other_user)
    bobs_video = GenerationFactory(owner=other_user)
    assert bob.get(f"{API}/collections/{collection_id}/").status_code == 404
    assert bob.patch(f"{API}/collections/{collection_id}/", {"name": "x"}, format="json").status_code == 404
    assert bob.delete(f"{API}/collections/{collection_id}/").status_code == 404
    refused = bob.post(f"{API}/collections/{collection_id}/items/", {"generations": [str(bobs_video.pk)]},
                       format="json")
    assert refused.status_code == 404
    assert bob.get(f"{API}/collections/").json() == []
    assert bob.get(f"{API}/generations/", {"collection": collection_id}).json()["count"] == 0
    # Nor may Alice put Bob's private video into her own collection.
    stolen = alice.post(f"{API}/collections/{collection_id}/items/", {"generations": [str(bobs_video.pk)]},
                        format="json")
    assert stolen.status_code == 400 and CollectionItem.objects.count() == 0


def test_team_collections_are_shared_with_members_who_may_add_and_remove(alice, user, other_user):
    team = TeamFactory()
    MembershipFactory(team=team, user=user, role="owner")
    MembershipFactory(team=team, user=other_user)
    outsider = client_for(UserFactory(username="outsider"))
    body = create(alice, name="Team board", team=team.slug).json()
    assert body["team"] == team.slug
    bob = client_for(other_user)
    team_video = GenerationFactory(owner=other_user, team=team, visibility="team")
    private_video = GenerationFactory(owner=other_user)
    assert bob.post(f"{API}/collections/{body['id']}/items/", {"generations": [str(team_video.pk)]},
                    format="json").status_code == 200
    # A private video would be hidden from the team: not allowed in a team collection.
    assert bob.post(f"{API}/collections/{body['id']}/items/", {"generations": [str(private_video.pk)]},
                    format="json").status_code == 400
    assert [r["id"] for r in alice.get(f"{API}/collections/{body['id']}/").json()["results"]] == [str(team_video.pk)]
    assert outsider.get(f"{API}/collections/{body['id']}/").status_code == 404
    assert bob.patch(f"{API}/collections/{body['id']}/", {"name": "Renamed"}, format="json").status_code == 403
    assert bob.delete(f"{API}/collections/{body['id']}/items/{team_video.pk}/").status_code == 204
    assert bob.delete(f"{API}/collections/{body['id']}/items/{team_video.pk}/").status_code == 404
    assert alice.patch(f"{API}/collections/{body['id']}/", {"name": "Renamed"}, format="json").json()["name"] == \
        "Renamed"
    # Somebody else's team: not theirs to create in.
    assert create(outsider, name="x", team=team.slug).status_code == 404


def test_deleting_a_collection_deletes_no_video(alice, user):
    video = GenerationFactory(owner=user)
    collection_id = create(alice, name="Temp").json()["id"]
    alice.post(f"{API}/collections/{collection_id}/items/", {"generations": [str(video.pk)]}, format="json")
    assert studio_reads.in_any_collection(video)
    assert alice.delete(f"{API}/collections/{collection_id}/").status_code == 204
    assert not Collection.objects.exists() and not CollectionItem.objects.exists()
    assert Generation.objects.filter(pk=video.pk, deleted_at__isnull=True).exists()
    assert not studio_reads.in_any_collection(video)


def test_in_any_collection_is_a_filter_retention_can_use(user):
    kept, loose = GenerationFactory(owner=user), GenerationFactory(owner=user)
    collection = Collection.objects.create(owner=user, name="Keep")
    CollectionItem.objects.create(collection=collection, generation=kept)
    assert list(Generation.objects.filter(studio_reads.in_any_collection_q())) == [kept]
    assert list(Generation.objects.exclude(studio_reads.in_any_collection_q())) == [loose]


def test_collections_on_the_generation_list_cost_one_query_whatever_the_page(alice, user,
                                                                            django_assert_num_queries):
    collection_id = create(alice, name="All").json()["id"]
    videos = [GenerationFactory(owner=user) for _ in range(3)]
    alice.post(f"{API}/collections/{collection_id}/items/", {"generations": [str(v.pk) for v in videos]},
               format="json")

    def count_queries():
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as ctx:
            response = alice.get(f"{API}/generations/")
        return len(ctx.captured_queries), response.json()

    few, body = count_queries()
    assert all(r["collections"] == [collection_id] for r in body["results"])
    more = [GenerationFactory(owner=user) for _ in range(12)]
    alice.post(f"{API}/collections/{collection_id}/items/", {"generations": [str(v.pk) for v in more]},
               format="json")
    many, body = count_queries()
    assert body["count"] == 15 and many == few
    with django_assert_num_queries(few):
        alice.get(f"{API}/generations/")


def test_the_list_filters_by_favorite_and_collection_together(alice, user):
    starred, plain = GenerationFactory(owner=user, favorite=True), GenerationFactory(owner=user)
    collection_id = create(alice, name="Picks").json()["id"]
    alice.post(f"{API}/collections/{collection_id}/items/", {"generations": [str(starred.pk), str(plain.pk)]},
               format="json")
    body = alice.get(f"{API}/generations/", {"collection": collection_id, "favorite": "1"}).json()
    assert [r["id"] for r in body["results"]] == [str(starred.pk)]
