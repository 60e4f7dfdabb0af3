"""Reads: which generations, teams and models a user may see (the reads of one area are in this package's modules)."""
from __future__ import annotations

import json
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Count, Exists, Max, Min, OuterRef, Q, QuerySet, Sum
from django.utils import timezone

from .. import permissions
from ..conf import app_settings
from ..gmi import schema
from ..inputs import require_clean_text
from ..models import (
    Batch,
    Collection,
    CollectionItem,
    DispatchLock,
    EngineBeat,
    EngineShard,
    Generation,
    Membership,
    Notification,
    ShareLink,
    Team,
    Upload,
    VideoModel,
    WebhookDelivery,
)

M = Generation.Moderation


def team_visible_q() -> Q:
    """Team videos teammates may see: never rejected; under pre-moderation, only approved."""
    if app_settings.MODERATION == "pre":
        return Q(visibility=Generation.Visibility.TEAM, moderation=M.APPROVED)
    return Q(visibility=Generation.Visibility.TEAM) & ~Q(moderation=M.REJECTED)


def team_ids_of(user: Any) -> list[int]:
    if not getattr(user, "is_authenticated", False):
        return []
    return list(Membership.objects.filter(user=user).values_list("team_id", flat=True))


def visible_generations(user: Any, *, include_all_for_staff: bool = False) -> QuerySet[Generation]:
    """Everything ``user`` may open: their own (also when removed by moderation, to see why)
    and their teams' shared videos that moderation allows. ``include_all_for_staff`` gives
    everything to staff allowed to view any generation (``permissions``), and only to them."""
    base = Generation.objects.filter(deleted_at__isnull=True)
    if include_all_for_staff and permissions.can_view_any_generation(user):
        return base
    if not getattr(user, "is_authenticated", False):
        return base.none()
    return base.filter(Q(owner=user) | (Q(team_id__in=team_ids_of(user)) & team_visible_q()))


def gallery(user: Any, *, tab: str = "mine", team: Team | None = None, status: str = "", model: str = "",
            q: str = "", favorites: bool = False, collection: Collection | None = None,
            batch: Batch | None = None) -> QuerySet[Generation]:
    """The gallery list: own videos, or a team's shared ones, filtered; newest first.

    ``collection`` and ``batch`` are ones ``user`` may open (``get_collection``, ``batch_of``): the
    tab's videos that are in it.
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


def filter_generations(qs: QuerySet[Generation], *, status: str = "", model: str = "", q: str = "",
                       team: str = "", collection: Collection | None = None, favorite: bool = False,
                       batch: Batch | None = None) -> QuerySet[Generation]:
    """``qs`` filtered as the gallery and the API list ask. Raises ``InvalidCharacters`` for a filter no
    lookup can take (a NUL byte), which PostgreSQL would otherwise answer with an error."""
    require_clean_text(status=status, model=model, team=team, q=q)
    if collection is not None:
        qs = qs.filter(collection_items__collection=collection)
    if favorite:
        qs = qs.filter(favorite=True)
    if batch is not None:
        qs = qs.filter(batch=batch)
    if status:
        qs = qs.filter(status__in=[s for s in status.split(",") if s])
    if model:
        qs = qs.filter(model_id=model)
    if team:
        qs = qs.filter(team__slug=team)
    if q:
        qs = qs.filter(Q(prompt__icontains=q) | Q(model__id__icontains=q))
    return qs.select_related("owner", "team", "model").order_by("-created_at")


def get_visible_generation(user: Any, pk: Any, *, staff_sees_all: bool = True) -> Generation | None:
    try:
        return visible_generations(user, include_all_for_staff=staff_sees_all).select_related(
            "owner", "team", "model").get(pk=pk)
    except (Generation.DoesNotExist, ValueError, ValidationError):
        return None


def enabled_models() -> QuerySet[VideoModel]:
    return VideoModel.objects.filter(enabled=True, available=True).order_by("position", "id")


#: The gallery's model filter lists at most this many models.
GALLERY_MODEL_CHOICES = 100


def gallery_filter_models(user: Any, *, limit: int = GALLERY_MODEL_CHOICES) -> list[VideoModel]:
    """The models the gallery's filter offers: those of videos ``user`` can see (all a filter can match),
    never the whole catalogue, which may hold thousands."""
    # As visible_generations, with the teams as a subquery: the whole list is one query.
    teams = Membership.objects.filter(user=user).values("team_id")
    used = (Generation.objects.filter(deleted_at__isnull=True)
            .filter(Q(owner=user) | (Q(team_id__in=teams) & team_visible_q())).order_by().values("model_id"))
    return list(VideoModel.objects.filter(pk__in=used).only("id", "display_name", "position")
                .order_by("position", "id")[:limit])


def teams_of(user: Any) -> QuerySet[Team]:
    return Team.objects.filter(memberships__user=user).order_by("name").distinct()




# Batches, collections and share links.


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


def collections_of(user: Any) -> QuerySet[Collection]:
    """Collections ``user`` may open: their own personal ones and those of their teams; with ``count``."""
    if not getattr(user, "is_authenticated", False):
        return Collection.objects.none()
    # The teams as a subquery: the list is one query wherever it is shown (the gallery's filter, every page).
    teams = Membership.objects.filter(user=user).values("team_id")
    return (Collection.objects.filter(Q(owner=user, team__isnull=True) | Q(team_id__in=teams))
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
    rows = CollectionItem.objects.filter(
        generation_id__in=generation_ids,
    ).filter(Q(collection__owner=user, collection__team__isnull=True)
             | Q(collection__team_id__in=Membership.objects.filter(user=user).values("team_id"))
             ).order_by("collection__name", "collection_id").values_list("generation_id", "collection_id")
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


def in_any_collection_q() -> Q:
    """Generations held by at least one collection, as a filter (retention spares them)."""
    return Q(Exists(CollectionItem.objects.filter(generation_id=OuterRef("pk"))))


def in_any_collection(generation: Generation) -> bool:
    """Whether any collection, of anyone, holds ``generation`` (retention keeps its files)."""
    return CollectionItem.objects.filter(generation_id=generation.pk).exists()


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


def own_upload(user: Any, pk: Any) -> Upload | None:
    """One of ``user``'s own uploads (a reference file or a frame), or None."""
    if not pk or not getattr(user, "is_authenticated", False):
        return None
    try:
        return Upload.objects.filter(user=user, pk=int(pk)).first()
    except (TypeError, ValueError):
        return None


def operations_figures(*, now: Any = None) -> dict[str, Any]:
    """What operators watch, read from the database: the states behind /metrics and the staff system page.

    A handful of aggregate queries, whatever the size of the history (each is a GROUP BY
    or a MIN/SUM on indexed columns).
    """
    now = now or timezone.now()
    jobs = {status: 0 for status in Generation.Status.values}
    jobs.update(dict(Generation.objects.values_list("status").annotate(n=Count("pk")).values_list("status", "n")))
    waiting = Generation.objects.filter(status=Generation.Status.QUEUED, send_started_at__isnull=True)
    queue = waiting.aggregate(depth=Count("pk"), oldest=Min("created_at"))
    stale = float(app_settings.ENGINE_STALE)
    beats = list(EngineBeat.objects.order_by("started_at").values("owner", "cluster", "beat_at", "started_at"))
    shards = dict(EngineShard.objects.exclude(owner="").values_list("owner").annotate(n=Count("shard"))
                  .values_list("owner", "n"))
    engines = [
        {**beat, "age_seconds": (now - beat["beat_at"]).total_seconds(),
         "live": (now - beat["beat_at"]).total_seconds() <= stale, "shards": shards.get(beat["owner"], 0)}
        for beat in beats
    ]
    newest_beat = EngineBeat.objects.aggregate(newest=Max("beat_at"))["newest"]
    pause = DispatchLock.objects.filter(name="dispatch").values_list("paused_until", flat=True).first()
    outcomes = {status: 0 for status in WebhookDelivery.Status.values}
    outcomes.update(dict(WebhookDelivery.objects.values_list("status").annotate(n=Count("pk"))
                         .values_list("status", "n")))
    sizes = {
        "video": Generation.objects.exclude(video_name="").aggregate(n=Sum("video_size"))["n"],
        "thumbnail": Generation.objects.exclude(thumbnail_name="").aggregate(n=Sum("thumbnail_size"))["n"],
    }
    return {
        "jobs_by_status": jobs,
        "queue_depth": queue["depth"],
        "queue_oldest_age_seconds": (now - queue["oldest"]).total_seconds() if queue["oldest"] else 0.0,
        "engines": engines,
        "heartbeat_age_seconds": (now - newest_beat).total_seconds() if newest_beat else -1.0,
        "paused_seconds": max(0.0, (pause - now).total_seconds()) if pause else 0.0,
        "paused_until": pause if pause and pause > now else None,
        "webhook_backlog": outcomes[WebhookDelivery.Status.PENDING] + outcomes[WebhookDelivery.Status.FAILED],
        "webhook_outcomes": outcomes,
        "emails_sent": Notification.objects.filter(email_status=Notification.EmailStatus.SENT).count(),
        "storage_used_bytes": int(sizes["video"] or 0) + int(sizes["thumbnail"] or 0),
    }


def video_shape(generation: Generation) -> dict[str, Any]:
    """What a generation's payload asks for, read through its model's schema: ``aspect_ratio`` ("16:9") and
    ``duration_seconds`` (None when the payload and the schema cannot tell)."""
    params = _parameters_of(generation.model_id, generation.model.parameters)
    payload = generation.payload if isinstance(generation.payload, dict) else {}
    return {"aspect_ratio": schema.requested_aspect_ratio(params, payload),
            "duration_seconds": schema.requested_seconds(params, payload) if payload or params else None}


def _parameters_of(model_id: str, raw: Any) -> list[Any]:
    # A page of cards reads the same model's schema many times: read it once per page.
    key = (model_id, json.dumps(raw, sort_keys=True, default=str))
    found = _PARAMETER_CACHE.get(key)
    if found is None:
        if len(_PARAMETER_CACHE) > 64:
            _PARAMETER_CACHE.clear()
        found = _PARAMETER_CACHE[key] = schema.read_parameters(raw)
    return found


_PARAMETER_CACHE: dict[tuple[str, str], list[Any]] = {}
