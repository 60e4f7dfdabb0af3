"""Reads of the gallery: its list (own videos or a team's shared ones, filtered) and the models its
filter offers."""
from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet

from ..models import Batch, Collection, Generation, Team, VideoModel
from .generations import filter_generations, team_visible_q, visible_generations, visible_to_q
from .teams import team_ids_of

#: The gallery's model filter lists at most this many models.
GALLERY_MODEL_CHOICES = 100


def gallery(user: Any, *, tab: str = "mine", team: Team | None = None, status: str = "", model: str = "",
            q: str = "", favorites: bool = False, collection: Collection | None = None,
            batch: Batch | None = None) -> QuerySet[Generation]:
    """The gallery list: own videos, or a team's shared ones, filtered; newest first.

    ``collection`` and ``batch`` are ones ``user`` may open (``studio.get_collection``, ``studio.batch_of``):
    the tab's videos that are in it.
    """
    if tab == "team":
        teams = [team.pk] if team is not None else team_ids_of(user)
        qs = Generation.objects.filter(deleted_at__isnull=True, team_id__in=teams).filter(
            team_visible_q() | Q(owner=user, visibility=Generation.Visibility.TEAM)
        )
    else:
        qs = visible_generations(user).filter(owner=user)
    if favorites:  # a star is its owner's: on a team tab, the member's own starred videos
        qs = qs.filter(owner=user, favorite=True)
    return filter_generations(qs, status=status, model=model, q=q, collection=collection, batch=batch)


def gallery_filter_models(user: Any, *, limit: int = GALLERY_MODEL_CHOICES) -> list[VideoModel]:
    """The models the gallery's filter offers: those of videos ``user`` can see (all a filter can match),
    never the whole catalogue, which may hold thousands."""
    used = Generation.objects.filter(deleted_at__isnull=True).filter(visible_to_q(user)).order_by().values("model_id")
    return list(VideoModel.objects.filter(pk__in=used).only("id", "display_name", "position")
                .order_by("position", "id")[:limit])
