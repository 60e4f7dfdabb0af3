"""The gallery and collections: the collection and batch filters, ticking cards to add them to a collection
(one of the member's or a new one), taking them out of the collection shown, and the lightbox's add."""
from __future__ import annotations

import pytest
from django.urls import reverse

from generations.models import Batch, Collection, CollectionItem, Generation
from tests.helpers.factories import GenerationFactory, MembershipFactory, TeamFactory, UserFactory, VideoModelFactory
from tests.helpers.settings import override_generations

pytestmark = pytest.mark.django_db

GALLERY = reverse("generations:gallery")
COLLECT = reverse("generations:gallery-collect")


def messages_of(response) -> list[str]:
    return [str(message) for message in response.context["messages"]] if response.context else []


def collect(member, data):
    return member.post(COLLECT, data, follow=True)


def test_the_collection_filter_shows_only_that_collections_videos_and_the_form_shows_it_chosen(member, user):
    inside, outside = GenerationFactory(owner=user, prompt="inside"), GenerationFactory(owner=user, prompt="outside")
    trips = Collection.objects.create(owner=user, name="Trips")
    Collection.objects.create(owner=user, name="Other")
    CollectionItem.objects.create(collection=trips, generation=inside, added_by=user)

    response = member.get(GALLERY, {"collection": str(trips.pk)})

    assert response.status_code == 200
    assert [g.pk for g in response.context["generations"]] == [inside.pk]
    html = response.content.decode()
    assert f'<option value="{trips.pk}" selected>Trips</option>' in html
    assert "Remove from this collection" in html
    assert outside.pk not in {g.pk for g in response.context["generations"]}


def test_without_a_collection_chosen_there_is_nothing_to_remove_from(member, user):
    GenerationFactory(owner=user)
    Collection.objects.create(owner=user, name="Trips")
    html = member.get(GALLERY).content.decode()
    assert "Add to collection" in html and "Remove from this collection" not in html


@pytest.mark.parametrize("whose", ["someone else's personal", "another team's", "malformed"])
def test_a_collection_the_member_may_not_open_is_a_404_in_the_filter_and_the_form(member, user, other_user, whose):
    mine = GenerationFactory(owner=user)
    if whose == "malformed":
        pk = "not-a-uuid"
    elif whose == "another team's":
        pk = str(Collection.objects.create(owner=other_user, team=TeamFactory(), name="Theirs").pk)
    else:
        pk = str(Collection.objects.create(owner=other_user, name="Theirs").pk)

    assert member.get(GALLERY, {"collection": pk}).status_code == 404
    assert member.post(COLLECT, {"collection": pk, "generations": [str(mine.pk)]}).status_code == 404
    assert member.post(COLLECT, {"remove": pk, "generations": [str(mine.pk)]}).status_code == 404
    assert not CollectionItem.objects.exists()


def test_a_team_collection_is_open_to_the_teams_members(member, user, other_user):
    team = TeamFactory()
    MembershipFactory(team=team, user=user)
    MembershipFactory(team=team, user=other_user)
    shared = GenerationFactory(owner=other_user, team=team, visibility=Generation.Visibility.TEAM)
    board = Collection.objects.create(owner=other_user, team=team, name="Board")
    CollectionItem.objects.create(collection=board, generation=shared, added_by=other_user)

    response = member.get(GALLERY, {"tab": "team", "collection": str(board.pk)})

    assert response.status_code == 200
    assert [g.pk for g in response.context["generations"]] == [shared.pk]
    assert "Board (team " in response.content.decode()


def test_the_batch_filter_shows_the_batchs_videos_and_anothers_batch_is_a_404(member, user, other_user):
    batch = Batch.objects.create(owner=user, size=2)
    ran = [GenerationFactory(owner=user, batch=batch) for _ in range(2)]
    GenerationFactory(owner=user)
    theirs = Batch.objects.create(owner=other_user, size=1)

    response = member.get(GALLERY, {"batch": str(batch.pk)})

    assert {g.pk for g in response.context["generations"]} == {g.pk for g in ran}
    assert f'name="batch" value="{batch.pk}"' in response.content.decode()  # kept when other filters change
    assert member.get(GALLERY, {"batch": str(theirs.pk)}).status_code == 404
    assert member.get(GALLERY, {"batch": "nope"}).status_code == 404


@pytest.mark.parametrize("count", [2, 10])
def test_a_collection_filtered_page_costs_the_same_queries_whatever_it_holds(member, user, count,
                                                                             django_assert_num_queries):
    model = VideoModelFactory()
    trips = Collection.objects.create(owner=user, name="Trips")
    batch = Batch.objects.create(owner=user, size=count)
    for index in range(count):
        generation = GenerationFactory(owner=user, model=model, batch=batch, succeeded=index % 2 == 0,
                                       thumbnail_name="t.jpg")
        CollectionItem.objects.create(collection=trips, generation=generation, added_by=user)
    member.get(GALLERY)  # warm the per-process caches (catalogue, member state)

    # As the unfiltered page (test_pages pins 12): the collection comes from the filter's own list.
    with django_assert_num_queries(12):
        response = member.get(GALLERY, {"collection": str(trips.pk), "view": "list"})
    assert len(response.context["generations"]) == count
    with django_assert_num_queries(13):  # + the batch, looked up as the member's own
        response = member.get(GALLERY, {"batch": str(batch.pk)})
    assert len(response.context["generations"]) == count


def test_ticked_cards_are_added_to_a_chosen_collection_and_the_page_comes_back_with_its_query(member, user):
    videos = [GenerationFactory(owner=user) for _ in range(3)]
    trips = Collection.objects.create(owner=user, name="Trips")
    CollectionItem.objects.create(collection=trips, generation=videos[0], added_by=user)
    back = f"{GALLERY}?view=list&status=succeeded"

    response = member.post(COLLECT, {"collection": str(trips.pk), "generations": [str(v.pk) for v in videos],
                                     "next": back})

    assert response.status_code == 302 and response["Location"] == back
    assert set(trips.items.values_list("generation_id", flat=True)) == {v.pk for v in videos}
    assert messages_of(member.get(GALLERY)) == ["2 videos added to “Trips”. 1 video was in it already."]


def test_ticked_cards_go_into_a_new_collection_named_on_the_spot(member, user):
    videos = [GenerationFactory(owner=user) for _ in range(2)]

    response = collect(member, {"name": "  Launch   cuts ", "generations": [str(v.pk) for v in videos]})

    made = Collection.objects.get(owner=user)
    assert made.name == "Launch cuts" and made.team_id is None
    assert set(made.items.values_list("generation_id", flat=True)) == {v.pk for v in videos}
    assert messages_of(response) == ["2 videos added to “Launch cuts”."]


def test_a_refused_video_leaves_no_new_empty_collection_and_says_why_in_words(member, user, other_user):
    mine, theirs = GenerationFactory(owner=user), GenerationFactory(owner=other_user)

    response = collect(member, {"name": "Mixed", "generations": [str(mine.pk), str(theirs.pk)]})

    assert not Collection.objects.exists()
    text = " ".join(messages_of(response))
    assert "no longer yours to collect" in text and str(theirs.pk) not in text


def test_a_team_collection_refuses_private_videos_in_plain_words(member, user):
    team = TeamFactory(name="Studio")
    MembershipFactory(team=team, user=user)
    private = GenerationFactory(owner=user)
    board = Collection.objects.create(owner=user, team=team, name="Board")

    response = collect(member, {"collection": str(board.pk), "generations": [str(private.pk)]})

    assert not board.items.exists()
    assert messages_of(response) == ["“Board” is shared with a team and holds only videos shared with that team. "
                                     "Share the chosen videos with the team first, or pick one of your own "
                                     "collections."]


@pytest.mark.parametrize(("data", "said"), [
    ({"name": "New"}, "Tick the videos first"),
    ({"generations": ["x"]}, "Choose a collection, or type a name for a new one."),
    ({"name": " ", "generations": ["x"]}, "Choose a collection, or type a name for a new one."),
    ({"name": "x" * 121, "generations": ["x"]}, "at most 120 characters"),
])
def test_an_incomplete_form_says_what_to_change_and_adds_nothing(member, user, data, said):
    response = collect(member, data)
    assert any(said in text for text in messages_of(response)), messages_of(response)
    assert not Collection.objects.exists() and not CollectionItem.objects.exists()


def test_a_new_collection_over_the_members_cap_is_refused_in_words(member, user):
    video = GenerationFactory(owner=user)
    Collection.objects.create(owner=user, name="Only one")
    with override_generations(MAX_COLLECTIONS_PER_USER=1):
        response = collect(member, {"name": "Second", "generations": [str(video.pk)]})
    assert messages_of(response) == ["You have 1 collections already; delete one you no longer use."]
    assert Collection.objects.count() == 1 and not CollectionItem.objects.exists()


def test_a_collection_and_a_new_name_at_once_is_refused(member, user):
    video = GenerationFactory(owner=user)
    trips = Collection.objects.create(owner=user, name="Trips")
    response = collect(member, {"collection": str(trips.pk), "name": "Other", "generations": [str(video.pk)]})
    assert messages_of(response) == ["Choose a collection or type a new name, not both."]
    assert Collection.objects.count() == 1 and not CollectionItem.objects.exists()


def test_ticked_cards_are_taken_out_of_the_collection_shown_and_the_videos_stay(member, user):
    videos = [GenerationFactory(owner=user) for _ in range(3)]
    trips = Collection.objects.create(owner=user, name="Trips")
    for video in videos:
        CollectionItem.objects.create(collection=trips, generation=video, added_by=user)
    back = f"{GALLERY}?collection={trips.pk}"

    response = member.post(COLLECT, {"remove": str(trips.pk), "collection": "",
                                     "generations": [str(videos[0].pk), str(videos[1].pk)], "next": back})

    assert response["Location"] == back
    assert list(trips.items.values_list("generation_id", flat=True)) == [videos[2].pk]
    assert Generation.objects.filter(pk__in=[v.pk for v in videos]).count() == 3
    assert messages_of(member.get(GALLERY)) == ["2 videos taken out of “Trips”; the videos themselves stay."]
    again = collect(member, {"remove": str(trips.pk), "generations": [str(videos[0].pk)]})
    assert messages_of(again) == ["None of the chosen videos is in “Trips” any more."]


def test_more_than_a_hundred_ticked_cards_are_refused(member, user):
    trips = Collection.objects.create(owner=user, name="Trips")
    response = collect(member, {"collection": str(trips.pk),
                                "generations": [f"00000000-0000-0000-0000-{n:012d}" for n in range(101)]})
    assert messages_of(response) == ["Choose at most 100 videos at once."]


def test_the_next_address_must_be_on_this_site(member, user):
    video = GenerationFactory(owner=user)
    trips = Collection.objects.create(owner=user, name="Trips")
    response = member.post(COLLECT, {"collection": str(trips.pk), "generations": [str(video.pk)],
                                     "next": "https://evil.example/"})
    assert response["Location"] == GALLERY


def test_the_form_needs_a_log_in_and_a_post(client, user):
    response = client.post(COLLECT, {})
    assert response.status_code == 302 and f"next={COLLECT}" in response["Location"].replace("%2F", "/")
    client.force_login(user)
    assert client.get(COLLECT).status_code == 405


def test_every_card_has_a_keyboard_reachable_box_named_for_its_video_and_the_lightbox_a_form(member, user):
    video = GenerationFactory(owner=user, succeeded=True, video_name="v.mp4", title="Fox in snow")
    Collection.objects.create(owner=user, name="Trips")
    for view in ("grid", "list"):
        html = member.get(GALLERY, {"view": view}).content.decode()
        assert (f'<label class="gmi-gen__pick"><input type="checkbox" name="generations" value="{video.pk}" '
                f'form="gmi-collect" data-collect-pick><span class="gmi-visually-hidden">Choose “Fox in snow”'
                in html)
        assert 'id="gmi-collect"' in html and 'data-lightbox-collect' in html
        assert f'name="next" value="{GALLERY}?view={view}"' in html
        assert "<script>" not in html and "style=" not in html  # the CSP forbids inline script and style


def test_other_pages_showing_cards_offer_no_boxes(member, user):
    video = GenerationFactory(owner=user)
    trips = Collection.objects.create(owner=user, name="Trips")
    CollectionItem.objects.create(collection=trips, generation=video, added_by=user)
    html = member.get(reverse("generations:collection", args=[trips.pk])).content.decode()
    assert "data-collect-pick" not in html


def test_another_member_cannot_add_my_video_to_their_collection(client, user):
    mine = GenerationFactory(owner=user)
    stranger = UserFactory()
    theirs = Collection.objects.create(owner=stranger, name="Theirs")
    client.force_login(stranger)
    response = client.post(COLLECT, {"collection": str(theirs.pk), "generations": [str(mine.pk)]}, follow=True)
    assert not theirs.items.exists()
    assert "no longer yours to collect" in " ".join(messages_of(response))
