"""Moderation: blocked prompt terms, flags, and staff decisions on what teams may see."""
from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from itertools import accumulate
from typing import Any

from django.db import transaction
from django.utils import timezone

from .. import permissions
from ..conf import app_settings
from ..exceptions import InvalidTransition, NotAllowed, NotFound, PromptBlocked
from ..models import BlockedTerm, Flag, Generation, ModerationDecision
from ..types import User
from . import audit
from .lifecycle import announce_moderation, record_event

# Characters people swap in to dodge a filter: digits and symbols that read as letters.
_LOOKALIKES = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s",
                             "!": "i", "|": "i", "€": "e"})
_NON_ALNUM = re.compile(r"[^0-9a-z]+")
_ZERO_WIDTH = re.compile(r"[\u200b-\u200f\u2060\ufeff\u00ad]")
# Trie key of the node where a term ends; never a character of normalized text.
_TERM = ""


def _fold(text: str) -> str:
    """Case, accents and compatibility forms folded; zero-width characters gone (they split a word invisibly)."""
    text = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return _ZERO_WIDTH.sub("", text.casefold())


def _words(folded: str, *, lookalikes: bool) -> list[str]:
    if lookalikes:
        folded = folded.translate(_LOOKALIKES)
    return _NON_ALNUM.sub(" ", folded).split()


def normalize_text(text: str, *, lookalikes: bool = True) -> str:
    """Fold case, accents, compatibility forms (full-width, ligatures) and look-alike symbols.

    "Ｖｉｏｌｅｎｃｅ", "vïolence" and "v1olence" all become "violence"; word
    separators collapse to single spaces so "v.i.o" tricks need the term itself to
    be written that way to match.
    """
    return " ".join(_words(_fold(text), lookalikes=lookalikes))


@lru_cache(maxsize=4)
def _term_trie(terms: tuple[str, ...]) -> dict[str, Any]:
    """The blocked terms, spaces removed, as a character trie; built once per set of terms."""
    root: dict[str, Any] = {}
    for term in terms:
        target = term.replace(" ", "")
        if not target:
            continue
        node = root
        for char in target:
            node = node.setdefault(char, {})
        node.setdefault(_TERM, term)
    return root


def _first_term_in(trie: dict[str, Any], words: list[str]) -> str | None:
    # The words glued together, walked through the trie from each word start: a term
    # matches when its last character is also a word's last one. Each walk stops
    # where the trie does, so the work is at most words x longest term (200
    # characters), whatever the number of terms.
    glued = "".join(words)
    ends = set(accumulate(len(word) for word in words))
    start = 0
    for word in words:
        node: dict[str, Any] = trie
        for position in range(start, len(glued)):
            child = node.get(glued[position])
            if child is None:
                break
            node = child
            term = node.get(_TERM)
            if term is not None and position + 1 in ends:
                return term
        start += len(word)
    return None


def blocked_terms() -> tuple[str, ...]:
    """The normalized blocked terms, read once (a batch checks all its prompts against one reading)."""
    return tuple(BlockedTerm.objects.values_list("normalized", flat=True))


def blocked_term_in(text: str, *, terms: tuple[str, ...] | None = None) -> str | None:
    """The first blocked term found in ``text``, else None.

    A term matches whole words of the normalized text; it also matches when run of
    consecutive words glues together into it ("d r a g o n", "dra-gon"), but never
    inside a longer word ("snapdragon" does not contain the term "dragon").
    The work grows linearly with the length of ``text`` (at most the longest term's
    length per word) and does not grow with the number of terms.
    """
    if terms is None:
        terms = blocked_terms()
    if not terms:
        return None
    trie = _term_trie(terms)
    folded = _fold(text)
    # Both readings: "dr4g0n" needs look-alikes, "dragon!" must not turn "!" into "i".
    with_lookalikes = _words(folded, lookalikes=True)
    plain = _words(folded, lookalikes=False)
    readings = [with_lookalikes] if plain == with_lookalikes else [with_lookalikes, plain]
    for words in readings:
        term = _first_term_in(trie, words)
        if term is not None:
            return term
    return None


def check_prompt(text: str, *, terms: tuple[str, ...] | None = None) -> None:
    if blocked_term_in(text, terms=terms):
        raise PromptBlocked()


def add_blocked_terms(*, terms: list[str], user: User | None = None) -> list[BlockedTerm]:
    created = []
    for term in terms:
        normalized = normalize_text(term)
        if not normalized:
            continue
        obj, was_created = BlockedTerm.objects.get_or_create(
            normalized=normalized, defaults={"term": term.strip(), "created_by": user}
        )
        if was_created:
            created.append(obj)
    return created


def remove_blocked_terms(*, terms: list[str]) -> int:
    normalized = [normalize_text(t) for t in terms]
    return BlockedTerm.objects.filter(normalized__in=normalized).delete()[0]


def initial_moderation(*, visibility: str) -> str:
    """Team videos under pre-moderation wait for approval; everything else starts unreviewed."""
    if visibility == Generation.Visibility.TEAM and app_settings.MODERATION == "pre":
        return Generation.Moderation.PENDING
    return Generation.Moderation.NONE


def flag_generation(*, generation: Generation, user: User, reason: str) -> Flag:
    """A member reports a video they can see; it joins the staff's review queue.

    Reporting again while one's report is still open returns that report. Reporters
    stay anonymous to the owner: the flag lives in the staff's queue, not in the
    generation's history.
    """
    if not permissions.may_flag(user, generation):
        raise NotFound("There is no such generation.")  # others' videos are not disclosed, not even as 403
    reason = (reason or "").strip()
    if not reason:
        raise InvalidTransition("Say why you are flagging this video.")
    existing = Flag.objects.filter(generation=generation, reporter=user, resolved_at__isnull=True).first()
    if existing is not None:
        return existing
    return Flag.objects.create(generation=generation, reporter=user, reason=reason[:2000])


@transaction.atomic
def moderate_generation(
    *, generation: Generation, moderator: User, decision: str, reason: str = ""
) -> ModerationDecision:
    """Approve or reject. Rejected videos vanish for everyone but staff; the owner sees why.

    ``moderator`` must hold the moderation permission (``permissions.can_moderate_generations``).
    """
    if not permissions.can_moderate_generations(moderator):
        raise NotAllowed("Only moderators can approve or reject videos.")
    if decision not in ModerationDecision.Decision.values:
        raise InvalidTransition("Decision must be 'approve' or 'reject'.")
    if decision == ModerationDecision.Decision.REJECT and not (reason or "").strip():
        raise InvalidTransition("Give a reason when rejecting: the owner will see it.")
    state = Generation.Moderation.APPROVED if decision == "approve" else Generation.Moderation.REJECTED
    Generation.objects.filter(pk=generation.pk).update(moderation=state, moderation_reason=(reason or "").strip(),
                                                       updated_at=timezone.now())
    generation.moderation = state
    generation.moderation_reason = (reason or "").strip()
    record = ModerationDecision.objects.create(
        generation=generation, moderator=moderator, decision=decision, reason=(reason or "").strip()
    )
    Flag.objects.filter(generation=generation, resolved_at__isnull=True).update(
        resolved_at=timezone.now(), resolved_by=moderator
    )
    # The history is shown to the owner: it says what was decided and why; who decided
    # is kept on the decision record for staff.
    record_event(generation, note=f"{record.get_decision_display()} by the moderators: {reason}".strip(": "),
                 actor=moderator)
    transaction.on_commit(lambda: announce_moderation(generation, decision=decision))
    audit.record_event(action=audit.Action.MODERATION_DECIDED, actor=moderator, target=generation,
                       data={"decision": decision, "reason": record.reason})
    return record


def resolve_flag(*, flag: Flag, moderator: User) -> bool:
    """Close one flag without a moderation decision (the video stays as it is).

    A conditional update, so two moderators resolving at once record one resolution.
    ``moderator`` must be allowed to review flags (``permissions.can_review_flags``).
    """
    if not permissions.can_review_flags(moderator):
        raise NotAllowed("Only moderators can resolve flags.")
    closed = Flag.objects.filter(pk=flag.pk, resolved_at__isnull=True).update(
        resolved_at=timezone.now(), resolved_by=moderator
    )
    if closed:
        record_event(flag.generation, note=f"Flag resolved by {moderator}", actor=moderator)
        audit.record_event(action=audit.Action.MODERATION_DECIDED, actor=moderator, target=flag.generation,
                           data={"decision": "resolve_flag", "flag": flag.pk})
    return bool(closed)
