"""A succeeded generation whose mirrored files are a real, playable MP4 and JPEG (made by the simulator's encoder)."""
from __future__ import annotations

import hashlib

from django.core.files.base import ContentFile

from generations.models import Generation
from generations.services.mirroring import generation_storage
from gmi_simulator.media import render_clip
from tests.helpers.factories import GenerationFactory


def mirrored_generation(*, aspect: str = "16:9", **kwargs) -> Generation:
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
