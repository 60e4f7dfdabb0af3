"""Moderation rules: blocked terms resist spelling tricks; rejected and pre-moderated videos stay hidden."""
from __future__ import annotations

import pytest

from generations.exceptions import InvalidTransition, PromptBlocked
from generations.models import Generation
from generations.selectors import generations as generation_reads
from generations.services import moderation, submissions
from tests.helpers.factories import (
    GenerationFactory,
    MembershipFactory,
    TeamFactory,
    UserFactory,
    VideoModelFactory,
)
from tests.helpers.settings import override_generations


@pytest.mark.parametrize("prompt", [
    "A Dragon fight", "a DRAGON", "ｄｒａｇｏｎ at dawn", "drägon", "dr4g0n", "d r a g o n", "dra-gon!", "dra\u200bgon",
    "a big, dragon.",
])
def test_blocked_term_is_found_through_spelling_tricks(db, prompt):
    moderation.add_blocked_terms(terms=["dragon"])
    assert moderation.blocked_term_in(prompt) == "dragon"


@pytest.mark.parametrize("prompt", ["a snapdragon flower", "a dragonfly", "a wagon", "dragon"])
def test_innocent_words_are_not_blocked(db, prompt):
    moderation.add_blocked_terms(terms=["dragon fire", "dragons"])
    assert moderation.blocked_term_in(prompt) is None


def test_blocked_prompt_refuses_submission_and_sends_nothing(db, no_auto_dispatch):
    VideoModelFactory(id="Veo3")
    moderation.add_blocked_terms(terms=["Forbidden"])
    with pytest.raises(PromptBlocked):
        submissions.submit_generation(user=UserFactory(), model_id="Veo3", payload={"prompt": "FORBIDDEN thing"})
    assert Generation.objects.count() == 0


def _team_video(**kwargs):
    team = TeamFactory()
    owner = MembershipFactory(team=team).user
    mate = MembershipFactory(team=team).user
    generation = GenerationFactory(owner=owner, team=team, visibility="team", succeeded=True, **kwargs)
    return generation, owner, mate


def test_rejected_video_disappears_for_teammates_but_owner_sees_why(db):
    generation, owner, mate = _team_video()
    assert generation_reads.visible_generations(mate).filter(pk=generation.pk).exists()
    moderation.moderate_generation(generation=generation, moderator=UserFactory(staff=True), decision="reject",
                                   reason="Contains a logo we may not use")
    assert not generation_reads.visible_generations(mate).filter(pk=generation.pk).exists()
    mine = generation_reads.visible_generations(owner).get(pk=generation.pk)
    assert mine.is_removed and mine.moderation_reason == "Contains a logo we may not use"
    assert generation.moderation_decisions.get().moderator.is_staff


def test_pre_moderation_hides_team_video_until_approved(db, no_auto_dispatch):
    VideoModelFactory(id="Veo3")
    team = TeamFactory()
    owner = MembershipFactory(team=team).user
    mate = MembershipFactory(team=team).user
    with override_generations(MODERATION="pre"):
        generation = submissions.submit_generation(user=owner, model_id="Veo3", payload={"prompt": "x"},
                                                   team=team.slug)
        assert generation.moderation == Generation.Moderation.PENDING
        assert not generation_reads.visible_generations(mate).filter(pk=generation.pk).exists()
        assert generation_reads.visible_generations(owner).filter(pk=generation.pk).exists()
        moderation.moderate_generation(generation=generation, moderator=UserFactory(staff=True), decision="approve")
        assert generation_reads.visible_generations(mate).filter(pk=generation.pk).exists()


def test_flag_requires_a_reason_and_joins_the_queue(db):
    generation, _, mate = _team_video()
    with pytest.raises(InvalidTransition):
        moderation.flag_generation(generation=generation, user=mate, reason="  ")
    flag = moderation.flag_generation(generation=generation, user=mate, reason="Not safe for work")
    assert flag.resolved_at is None and generation.flags.count() == 1


def test_reject_requires_a_reason(db):
    generation, _, _ = _team_video()
    with pytest.raises(InvalidTransition):
        moderation.moderate_generation(generation=generation, moderator=UserFactory(staff=True),
                                       decision="reject", reason="")


def test_rejected_video_is_gone_from_team_gallery_api_and_video_url_but_owner_sees_why(db, client, isolated_storage):
    from django.core.files.base import ContentFile
    from django.core.files.storage import storages

    team = TeamFactory()
    owner = MembershipFactory(team=team).user
    mate = MembershipFactory(team=team).user
    name = storages["generations"].save("o/v.mp4", ContentFile(b"\x00" * 64))
    generation = GenerationFactory(owner=owner, team=team, visibility="team", succeeded=True, video_name=name,
                                   prompt="harbour at dusk")
    video = f"/api/v1/generations/{generation.pk}/video/"
    client.force_login(mate)
    assert "harbour at dusk" in client.get(f"/?tab=team&team={team.slug}").content.decode()
    assert client.get(video).status_code == 200
    moderation.moderate_generation(generation=generation, moderator=UserFactory(staff=True), decision="reject",
                                   reason="Shows a private address")
    assert "harbour at dusk" not in client.get(f"/?tab=team&team={team.slug}").content.decode()
    listed = client.get("/api/v1/generations/", {"team": team.slug}).json()
    assert str(generation.pk) not in [r["id"] for r in listed["results"]]
    assert client.get(video).status_code == 404
    assert client.get(f"/generations/{generation.pk}/").status_code == 404
    client.force_login(owner)
    mine = client.get(f"/api/v1/generations/{generation.pk}/").json()
    assert mine["removed"] is True and mine["video_url"] is None
    assert mine["moderation_reason"] == "Shows a private address"
    page = client.get(f"/generations/{generation.pk}/").content.decode()
    assert "Removed by moderation" in page and "Shows a private address" in page
    assert client.get(video).status_code == 404


def test_flagging_twice_keeps_one_open_report_and_the_owner_never_sees_who(db, client):
    generation, owner, mate = _team_video()
    first = moderation.flag_generation(generation=generation, user=mate, reason="Looks like a real logo")
    again = moderation.flag_generation(generation=generation, user=mate, reason="Really, a logo")
    assert again.pk == first.pk and generation.flags.count() == 1
    client.force_login(owner)
    page = client.get(f"/generations/{generation.pk}/").content.decode()
    assert mate.username not in page and "Looks like a real logo" not in page
    client.force_login(mate)
    assert "You reported this video" in client.get(f"/generations/{generation.pk}/").content.decode()


def _glued_runs_reference(words: list[str], target: str) -> bool:
    """The definition, checked naively: some run of consecutive whole words glues into ``target``."""
    return any("".join(words[i:j]) == target for i in range(len(words)) for j in range(i + 1, len(words) + 1))


def test_matcher_agrees_with_the_definition_on_random_prompts(db):
    import random

    rng = random.Random(20240611)
    terms = ["ab", "abc", "b ca", "cab", "aaa", "bc"]
    moderation.add_blocked_terms(terms=terms)
    for _ in range(400):
        words = ["".join(rng.choice("abc") for _ in range(rng.randint(1, 3))) for _ in range(rng.randint(1, 6))]
        expected = any(_glued_runs_reference(words, term.replace(" ", "")) for term in terms)
        assert (moderation.blocked_term_in(" ".join(words)) is not None) is expected, words


def test_five_thousand_word_prompt_is_matched_against_a_thousand_terms(db):
    def name(n: int) -> str:  # letters only: digits would be read as look-alikes
        return "".join("bcdfghjklm"[int(d)] for d in f"{n:03d}")

    moderation.add_blocked_terms(terms=[f"forbidden {name(n)} thing" for n in range(1000)])
    filler = " ".join(["harbour lights at dusk"] * 1250)  # 5,000 words
    assert moderation.blocked_term_in(filler) is None
    assert moderation.blocked_term_in(filler + " and a Forbidden MMM thing") == "forbidden mmm thing"
    assert moderation.blocked_term_in(filler + " f o r b i d d e n-g-c-b thing") == "forbidden gcb thing"
    assert moderation.blocked_term_in(filler + " forbidden gcb things") is None


@pytest.mark.timeout(10)
def test_two_hundred_thousand_words_with_the_term_at_the_end_are_checked_quickly(db):
    moderation.add_blocked_terms(terms=["dragon", *(f"term{n}" for n in range(2000))])
    words = ["d r a g"] * 50_000 + ["a"] * 50_000  # glued runs that almost match, all the way through
    assert moderation.blocked_term_in(" ".join([*words, "d-r-a-g-o-n"])) == "dragon"


def test_a_video_one_cannot_see_cannot_be_flagged_even_through_the_service(db):
    from generations.exceptions import NotFound
    from generations.services import moderation as moderation_service
    from tests.helpers.factories import GenerationFactory, UserFactory

    private = GenerationFactory()  # its owner's alone
    with pytest.raises(NotFound):
        moderation_service.flag_generation(generation=private, user=UserFactory(), reason="looks wrong")
    assert not private.flags.exists()
