"""Succeeded generations whose files really are in the generations storage: plain bytes, or a real, playable
MP4 and JPEG (made by the simulator's encoder)."""
from __future__ import annotations

import hashlib
from datetime import timedelta

from django.core.files.base import ContentFile
from django.core.files.storage import storages
from django.utils import timezone

from generations.models import Generation
from generations.services.mirroring import generation_storage
from gmi_simulator.media import render_clip
from tests.helpers.factories import GenerationFactory


def stored_generation(*, finished_days_ago: float = 0, size: int = 2048, **fields) -> Generation:
    """A succeeded generation whose video and thumbnail really are in the generations storage."""
    storage = storages["generations"]
    video = bytes(range(256)) * (size // 256) + b"v" * (size % 256)
    video_name = storage.save(f"tests/{timezone.now().timestamp()}-video.mp4", ContentFile(video))
    thumbnail_name = storage.save(f"tests/{timezone.now().timestamp()}-thumb.jpg", ContentFile(b"\xff\xd8thumb"))
    finished = timezone.now() - timedelta(days=finished_days_ago)
    return GenerationFactory(
        succeeded=True, video_name=video_name, video_size=len(video), video_sha256=hashlib.sha256(video).hexdigest(),
        thumbnail_name=thumbnail_name, thumbnail_size=7, thumbnail_content_type="image/jpeg",
        finished_at=finished, created_at=finished - timedelta(minutes=2), **fields,
    )


def mirrored_generation(*, aspect: str = "16:9", **kwargs) -> Generation:
    """A succeeded generation whose mirrored files are a one-second MP4 and its JPEG; ``.clip`` is their source."""
    clip = render_clip(1, aspect)
    generation = GenerationFactory(succeeded=True, **kwargs)
    storage = generation_storage()
    video = storage.save(f"{generation.owner_id}/{generation.pk}/video.mp4", ContentFile(clip.video))
    thumb = storage.save(f"{generation.owner_id}/{generation.pk}/thumb.jpg", ContentFile(clip.thumbnail))
    Generation.objects.filter(pk=generation.pk).update(
        video_name=video, video_size=len(clip.video), video_sha256=hashlib.sha256(clip.video).hexdigest(),
        video_content_type="video/mp4", thumbnail_name=thumb, thumbnail_content_type="image/jpeg",
        thumbnail_size=len(clip.thumbnail))
    generation.refresh_from_db()
    generation.clip = clip  # type: ignore[attr-defined]  # the test compares against the source
    return generation
