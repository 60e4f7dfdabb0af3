"""Reads of the model catalogue: the models members may pick, one model by id from a per-process
cache (emptied whenever a model is saved or deleted), a model's parsed parameters, and the model
that takes an image; the sync that writes the catalogue is ``services.catalogue``."""
from __future__ import annotations

import threading
import time
from typing import Any

from django.db.models import QuerySet
from django.db.models.signals import post_delete, post_save

from ..conf import app_settings
from ..gmi import schema
from ..models import VideoModel


def enabled_models() -> QuerySet[VideoModel]:
    return VideoModel.objects.filter(enabled=True, available=True).order_by("position", "id")


# Every submission needs its model; the catalogue changes a few times a day.
_cache: dict[str, tuple[float, VideoModel | None]] = {}
_cache_lock = threading.Lock()


def cached_model(model_id: str) -> VideoModel | None:
    """The catalogue row ``model_id`` (or None), read at most once per CATALOGUE_CACHE_SECONDS per process.

    Callers must not modify the returned instance: it is shared by the process's requests.
    """
    now = time.monotonic()
    hit = _cache.get(model_id)
    if hit is not None and hit[0] > now:
        return hit[1]
    model = VideoModel.objects.filter(pk=model_id).first()
    with _cache_lock:
        _cache[model_id] = (now + float(app_settings.CATALOGUE_CACHE_SECONDS), model)
    return model


def parameters_of(model: VideoModel) -> list[Any]:
    """The model's parameters as ``gmi.schema`` reads them, parsed once per cached catalogue row."""
    parsed = model.__dict__.get("_parsed_parameters")
    if parsed is None:
        parsed = schema.read_parameters(model.parameters)
        model.__dict__["_parsed_parameters"] = parsed
    return parsed


def forget_cached_models(**kwargs: Any) -> None:
    with _cache_lock:
        _cache.clear()


post_save.connect(forget_cached_models, sender=VideoModel, dispatch_uid="generations-catalogue-cache-save")
post_delete.connect(forget_cached_models, sender=VideoModel, dispatch_uid="generations-catalogue-cache-delete")


def image_parameter(params: list[Any]) -> Any:
    """The parameter of a model that takes its (first) image, or None: a file or URL input for images."""
    for param in params:
        if param.kind in ("file", "url") and "image" in (param.accept or ()):
            return param
    return None


def image_to_video_model(*, prefer: str | None = None) -> Any:
    """An enabled model that takes an image: ``prefer`` when it does, else the first in the picker."""
    models = list(enabled_models())
    ordered = sorted(models, key=lambda m: m.pk != prefer)
    for model in ordered:
        if image_parameter(schema.read_parameters(model.parameters)) is not None:
            return model
    return None
