"""Reads of the studio: a member's batches and their jobs, the collections a member may open (their
videos, covers, and what may be added), and share links (a video's links, one of the owner's, and the
link a public token opens)."""
from __future__ import annotations

import hashlib
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from ..conf import app_settings
from ..models import Batch, Collection, CollectionItem, Generation, ShareLink
from .generations import visible_generations
from .teams import team_ids_query

M = Generation.Moderation


# Batches.


def batch_of(user: Any, pk: Any) -> Batch | None:
    """The member's own batch ``pk`` (None for anyone else's: a batch is its submitter's)."""
    if not getattr(user, "is_authenticated", False):
        return None
    try:
        return Batch.objects.filter(owner=user, pk=pk).first()
    except (ValueError, ValidationError):
        return None


def batch_generations(batch: Batch) -> QuerySet[Generation]:
    """A batch's jobs in the order they were submitted (deleted ones left out)."""
    return (Generation.objects.filter(batch=batch, deleted_at__isnull=True)
            .select_related("owner", "team", "model").order_by("created_at", "pk"))


def batch_counts(generations: Any) -> dict[str, int]:
    """Jobs per status, every status named (0 when none), from already loaded rows."""
    counts = {status: 0 for status in Generation.Status.values}
    for generation in generations:
        counts[generation.status] += 1
    return counts


# Collections.


def _open_collections_q(user: Any, prefix: str = "") -> Q:
    """The collections ``user`` may open: their own personal ones and those of their teams (the teams as a
    subquery, so a list filtered by it is one query wherever it is shown)."""
    return (Q(**{f"{prefix}owner": user, f"{prefix}team__isnull": True})
            | Q(**{f"{prefix}team_id__in": team_ids_query(user)}))


def collections_of(user: Any) -> QuerySet[Collection]:
    """Collections ``user`` may open: their own personal ones and those of their teams; with ``count``."""
    if not getattr(user, "is_authenticated", False):
        return Collection.objects.none()
    return (Collection.objects.filter(_open_collections_q(user))
            .select_related("team", "owner")
            .annotate(count=Count("items", filter=Q(items__generation__deleted_at__isnull=True)))
            .order_by("name", "created_at"))


def get_collection(user: Any, pk: Any) -> Collection | None:
    try:
        return collections_of(user).filter(pk=pk).first()
    except (ValueError, ValidationError):
        return None


def collection_generations(user: Any, collection: Collection) -> QuerySet[Generation]:
    """The videos of ``collection`` that ``user`` may see, most recently added first."""
    return (visible_generations(user).filter(collection_items__collection=collection)
            .select_related("owner", "team", "model")
            .order_by("-collection_items__added_at", "-created_at"))


def collection_ids_for(user: Any, generation_ids: list[Any]) -> dict[Any, list[str]]:
    """For each of ``generation_ids``, the ids of the collections ``user`` may open that hold it. One query."""
    if not generation_ids or not getattr(user, "is_authenticated", False):
        return {}
    rows = (CollectionItem.objects.filter(generation_id__in=generation_ids)
            .filter(_open_collections_q(user, prefix="collection__"))
            .order_by("collection__name", "collection_id").values_list("generation_id", "collection_id"))
    found: dict[Any, list[str]] = {}
    for generation_id, collection_id in rows:
        found.setdefault(generation_id, []).append(str(collection_id))
    return found


def collection_covers(user: Any, collections: list[Collection]) -> dict[Any, Generation]:
    """Each collection's cover: its first video (earliest added) with a thumbnail ``user`` may see. One query."""
    if not collections:
        return {}
    items = (CollectionItem.objects.filter(collection__in=collections, generation__status=Generation.Status.SUCCEEDED,
                                           generation__in=visible_generations(user).values("pk"))
             .exclude(generation__thumbnail_name="").exclude(generation__moderation=M.REJECTED)
             .select_related("generation").order_by("collection_id", "added_at", "id"))
    covers: dict[Any, Generation] = {}
    for item in items:
        covers.setdefault(item.collection_id, item.generation)
    return covers


def addable_generations(*, collection: Collection, user: Any) -> QuerySet[Generation]:
    """What ``user`` may put into ``collection``: videos they can see; for a team collection, that team's videos."""
    qs = visible_generations(user)
    if collection.team_id is not None:
        qs = qs.filter(team_id=collection.team_id, visibility=Generation.Visibility.TEAM)
    return qs


def in_any_collection_q() -> Q:
    """Generations held by at least one collection, as a filter (retention spares them)."""
    return Q(Exists(CollectionItem.objects.filter(generation_id=OuterRef("pk"))))


def in_any_collection(generation: Generation) -> bool:
    """Whether any collection, of anyone, holds ``generation`` (retention keeps its files)."""
    return CollectionItem.objects.filter(generation_id=generation.pk).exists()


# Share links.


def hash_token(token: str) -> str:
    """How a share link's token is stored and looked up (the token itself is not kept)."""
    return hashlib.sha256(token.encode()).hexdigest()


def sharing_refusal(generation: Generation) -> str | None:
    """Why ``generation`` may not be shared now (site switch, its team's switch), or None. One home for the rule."""
    if not app_settings.SHARE_LINKS:
        return "Share links are turned off on this site."
    if generation.team is not None and not generation.team.sharing_enabled:
        return "Share links are turned off for this team's videos."
    return None


def share_links_of(generation: Generation) -> QuerySet[ShareLink]:
    """A video's share links, newest first (the tokens themselves are not kept)."""
    return ShareLink.objects.filter(generation=generation).order_by("-created_at")


def owned_share_link(user: Any, pk: Any) -> ShareLink | None:
    """The share link ``pk`` of one of ``user``'s videos, or None (anyone else's is not disclosed)."""
    if not getattr(user, "is_authenticated", False):
        return None
    try:
        return ShareLink.objects.select_related("generation").filter(pk=pk, generation__owner=user).first()
    except (ValueError, ValidationError):
        return None


def live_share(token: Any) -> ShareLink | None:
    """The link ``token`` opens, or None: never made, expired, revoked, sharing turned off, or the video gone.

    The same None for every case, so a visitor learns nothing about which it was.
    """
    if not isinstance(token, str) or not (20 <= len(token) <= 100):
        return None
    share = (ShareLink.objects.filter(token_hash=hash_token(token), revoked_at__isnull=True,
                                      expires_at__gt=timezone.now())
             .select_related("generation", "generation__team", "generation__owner").first())
    if share is None:
        return None
    generation = share.generation
    if generation.deleted_at is not None or not generation.has_video or generation.is_removed:
        return None
    if sharing_refusal(generation):
        return None
    return share
