"""The model catalogue: sync from GMI, keep staff decisions, never delete what generations point at."""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.utils import timezone

from .. import downloads
from ..client import get_client
from ..conf import app_settings
from ..gmi import schema
from ..gmi.errors import GMIError
from ..models import VideoModel

logger = logging.getLogger("generations.catalogue")


def sync_models(*, progress: Callable[[str], None] | None = None) -> dict[str, int]:
    """Fetch every model's detail from GMI and store it.

    New models are added enabled unless ``NEW_MODELS_ENABLED`` is False; staff settings (enabled, price, order) of known
    models are kept; models GMI no longer lists are marked unavailable, not deleted.
    One model whose detail cannot be read is reported and skipped, not fatal.
    Raises ``GMIError`` only when the model list itself cannot be read.
    """
    say = progress or (lambda message: None)
    client = get_client()
    api = app_settings.API
    ids = client.list_models()
    say(f"GMI lists {len(ids)} models.")
    counts = {"added": 0, "updated": 0, "failed": 0, "unavailable": 0}
    now = timezone.now()
    for index, model_id in enumerate(ids, start=1):
        try:
            info = client.get_model(model_id)
        except GMIError as exc:
            counts["failed"] += 1
            say(f"[{index}/{len(ids)}] {model_id}: could not read its detail ({exc})")
            continue
        defaults = {
            "api": api,
            "brief_description": info.brief_description or "",
            "detailed_description": info.detailed_description or "",
            "modalities": info.modalities or {},
            "parameters": info.parameters or [],
            "raw": info.raw or {},
            "available": True,
            "synced_at": now,
        }
        with transaction.atomic():
            _, created = VideoModel.objects.update_or_create(
                pk=model_id, defaults=defaults,
                create_defaults={**defaults, "position": 100 + index, "enabled": bool(app_settings.NEW_MODELS_ENABLED)},
            )
        counts["added" if created else "updated"] += 1
        say(f"[{index}/{len(ids)}] {model_id}: {'added' if created else 'updated'}")
    counts["unavailable"] = VideoModel.objects.filter(api=api, available=True).exclude(pk__in=ids).update(
        available=False, synced_at=now
    )
    forget_cached_models()  # the bulk update above sends no signals
    if counts["unavailable"]:
        say(f"{counts['unavailable']} models are no longer offered and were marked unavailable.")
    logger.info("model sync: %s", counts)
    return counts


def sync_models_safely() -> dict[str, int] | None:
    """For schedules: log instead of raising, so django-q2 does not redeliver forever."""
    try:
        return sync_models()
    except GMIError as exc:
        logger.warning("model sync failed: %s", exc)
        return None


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


def input_url_problem(url: str) -> str | None:
    """Why GMI must not be given ``url`` as a file or URL parameter (an image to animate, frames,
    references), or None when it may.

    GMI fetches these URLs itself, so they get the mirroring address policy (``downloads``):
    http(s) only, and a host that resolves only to public addresses (never private, loopback,
    link-local such as the cloud metadata address 169.254.169.254, carrier-grade NAT or
    reserved), unless it is GMI's own host or one listed exactly in ``MIRROR_ALLOWED_HOSTS``
    (GMI's storage, where uploads go). A name that does not resolve here is refused too: GMI
    might resolve it to something internal on its side.
    """
    allowed = [*app_settings.MIRROR_ALLOWED_HOSTS]
    if app_settings.BASE_URL:
        allowed.append(urlsplit(str(app_settings.BASE_URL)).netloc.rpartition("@")[2])
    try:
        downloads.check_url(url, allowed_hosts=allowed, public_hosts=True)
    except downloads.DownloadError as exc:
        return f"Must be a public http(s) URL that GMI can fetch: {exc.message}"
    return None
