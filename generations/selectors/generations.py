"""Reads of generations: which jobs a member may open (their own, their teams' shared videos that
moderation allows), the list filters the gallery and the API share, one job by id, a member's own
upload, and what a job's payload asks for read through its model's schema."""
from __future__ import annotations

import json
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet

from .. import permissions
from ..conf import app_settings
from ..gmi import schema
from ..inputs import require_clean_text
from ..models import Batch, Collection, Generation, Upload
from .teams import team_ids_of, team_ids_query

M = Generation.Moderation


def team_visible_q() -> Q:
    """Team videos teammates may see: never rejected; under pre-moderation, only approved."""
    if app_settings.MODERATION == "pre":
        return Q(visibility=Generation.Visibility.TEAM, moderation=M.APPROVED)
    return Q(visibility=Generation.Visibility.TEAM) & ~Q(moderation=M.REJECTED)


def visible_to_q(user: Any, *, team_ids: Any = None) -> Q:
    """What a signed-in ``user`` may open, as a filter: their own and their teams' visible videos. The teams
    are a subquery unless ``team_ids`` gives them, so a list built on it stays one query."""
    teams = team_ids_query(user) if team_ids is None else team_ids
    return Q(owner=user) | (Q(team_id__in=teams) & team_visible_q())


def visible_generations(user: Any, *, include_all_for_staff: bool = False) -> QuerySet[Generation]:
    """Everything ``user`` may open: their own (also when removed by moderation, to see why)
    and their teams' shared videos that moderation allows. ``include_all_for_staff`` gives
    everything to staff allowed to view any generation (``permissions``), and only to them."""
    base = Generation.objects.filter(deleted_at__isnull=True)
    if include_all_for_staff and permissions.can_view_any_generation(user):
        return base
    if not getattr(user, "is_authenticated", False):
        return base.none()
    return base.filter(visible_to_q(user, team_ids=team_ids_of(user)))


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


def own_upload(user: Any, pk: Any) -> Upload | None:
    """One of ``user``'s own uploads (a reference file or a frame), or None."""
    if not pk or not getattr(user, "is_authenticated", False):
        return None
    try:
        return Upload.objects.filter(user=user, pk=int(pk)).first()
    except (TypeError, ValueError):
        return None


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
