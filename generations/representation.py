"""The generation as the REST API shows it: one representation for API answers and webhook bodies alike.

It sits below services and the API (it reads through selectors and words only), so
``api.serializers.GenerationSerializer`` and ``services.webhooks.recording`` both write it and cannot drift.
The queue position comes from the caller (``services.waiting_line`` computes it), since that
module is above this one.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.urls import reverse
from rest_framework import serializers

from . import permissions, words
from .models import Generation
from .selectors import generations as generation_reads
from .selectors import studio as studio_reads

_DATETIME = serializers.DateTimeField()
_CREDITS = serializers.DecimalField(max_digits=12, decimal_places=2, coerce_to_string=False)


def timestamp(value: Any) -> str | None:
    """A date and time as every API answer writes it."""
    return _DATETIME.to_representation(value) if value else None


def file_url(generation: Generation, name: str, route: str, *, viewer: Any,
             absolute: Callable[[str], str]) -> str | None:
    """The API address of one of its files, or None when there is none or ``viewer`` may not fetch it."""
    if not name or not permissions.may_see_files(viewer, generation):
        return None
    return absolute(reverse(f"generations:api:{route}", args=[generation.pk]))


def video_facts(generation: Generation) -> dict | None:
    """Size, type and digest of the mirrored video (None while there is none, or once removed)."""
    if not generation.video_name or generation.is_removed:
        return None
    return {"size": generation.video_size, "content_type": generation.video_content_type,
            "sha256": generation.video_sha256}


def collections_of(generation: Generation, viewer: Any) -> list[str]:
    """Ids of the collections ``viewer`` may open that hold it."""
    return studio_reads.collection_ids_for(viewer, [generation.pk]).get(generation.pk, [])


def site_absolute(site_url: str) -> Callable[[str], str]:
    """Makes a path absolute against the site's base URL (for answers written without a request)."""
    return lambda path: f"{site_url.rstrip('/')}{path}" if site_url else path


def generation_data(generation: Generation, *, viewer: Any, absolute: Callable[[str], str],
                    queue_position: int | None, collections: list[str] | None = None) -> dict[str, Any]:
    """The generation as ``viewer`` sees it through the API; ``absolute`` turns a path into a full URL.

    Written out rather than field by field: a ModelSerializer rebuilds its fields for every
    instance, which cost more than the rest of a submission's answer.
    """
    obj = generation
    shape = generation_reads.video_shape(obj)
    return {
        "id": str(obj.pk), "title": obj.display_title, "model": obj.model_id, "payload": obj.payload,
        "prompt": obj.prompt, "status": obj.status, "error": words.failure_words(obj),
        "error_code": obj.error_code,
        "upstream_request_id": obj.upstream_request_id, "queue_position": queue_position,
        "team": obj.team.slug if obj.team_id and obj.team else None, "visibility": obj.visibility,
        "owner": obj.owner.get_username(), "moderation": obj.moderation,
        "moderation_reason": obj.moderation_reason if obj.moderation == Generation.Moderation.REJECTED else "",
        "removed": obj.is_removed, "video_seconds": obj.video_seconds,
        "credits": _CREDITS.to_representation(obj.credits),
        "created_at": timestamp(obj.created_at),
        "updated_at": timestamp(obj.updated_at),
        "dispatched_at": timestamp(obj.dispatched_at),
        "finished_at": timestamp(obj.finished_at),
        "video_url": file_url(obj, obj.video_name, "generation-video", viewer=viewer, absolute=absolute),
        "thumbnail_url": file_url(obj, obj.thumbnail_name, "generation-thumbnail", viewer=viewer, absolute=absolute),
        "video": video_facts(obj), "rerun_of": str(obj.rerun_of_id) if obj.rerun_of_id else None,
        "favorite": obj.favorite, "keep": obj.keep, **shape,
        "batch": str(obj.batch_id) if obj.batch_id else None,
        "collections": collections if collections is not None else collections_of(obj, viewer),
    }
