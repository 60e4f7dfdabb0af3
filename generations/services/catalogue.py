"""The model catalogue: sync from GMI, keep staff decisions, never delete what generations point at."""
from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import markdown as markdown_lib
import nh3
from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone
from django.utils.html import escape

from ..client import api_name, get_client
from ..conf import app_settings
from ..gmi.errors import GMIError
from ..models import VideoModel
from ..net import policy
from ..net.errors import DownloadError
from ..selectors.catalogue import forget_cached_models
from .notifications import recording as notification_recording

logger = logging.getLogger("generations.catalogue")


GUIDE_NOTE = ("\n\n---\n\n*This guide was shortened to its first {kept:,} characters "
              "(GMI's is {total:,} characters long).*\n")


def sync_models(*, progress: Callable[[str], None] | None = None) -> dict[str, int]:
    """Fetch every model's detail from GMI and store it, within bounds whatever GMI lists.

    New models are added enabled unless ``NEW_MODELS_ENABLED`` is False, and only while fewer
    than ``CATALOGUE_MAX_ENABLED_MODELS`` models are enabled: past that they are stored
    disabled (``held_back``) and staff are told, so a catalogue of thousands never lands in
    every picker. Staff settings (enabled, price, order) of known models are kept; models GMI
    no longer lists are marked unavailable, not deleted. A guide longer than
    ``CATALOGUE_MAX_GUIDE_CHARS`` is stored shortened, with a note. Details are fetched
    ``CATALOGUE_SYNC_CONCURRENCY`` at a time, and the run stops starting new fetches after
    ``CATALOGUE_SYNC_SECONDS``: models never synced come first, then the least recently synced,
    so the next run carries on where this one stopped (``deferred``).
    One model whose detail cannot be read is reported and skipped, not fatal.
    Raises ``GMIError`` only when the model list itself cannot be read.
    """
    say = progress or (lambda message: None)
    client = get_client()
    api = api_name()
    listed = list(dict.fromkeys(client.list_models()))
    say(f"GMI lists {len(listed)} models.")
    known = dict(VideoModel.objects.filter(pk__in=listed).values_list("pk", "synced_at"))
    never = timezone.make_aware(datetime.min.replace(year=1)) if settings.USE_TZ else datetime.min
    # Never synced first (in GMI's order), then the longest unsynced: a run cut short by the deadline
    # leaves the rest to the next one.
    order = sorted(range(len(listed)), key=lambda i: (known.get(listed[i]) or never, i))
    counts = {"added": 0, "updated": 0, "failed": 0, "unavailable": 0, "held_back": 0, "deferred": 0}
    now = timezone.now()
    deadline = time.monotonic() + float(app_settings.CATALOGUE_SYNC_SECONDS)
    cap = app_settings.CATALOGUE_MAX_ENABLED_MODELS
    room = len(listed) if cap is None else max(0, int(cap) - VideoModel.objects.filter(
        enabled=True, available=True).count())
    # The first new models in GMI's order get the room left, however the fetches finish.
    may_enable = set([model_id for model_id in listed if model_id not in known][:room])
    held_back: list[str] = []
    workers = max(1, int(app_settings.CATALOGUE_SYNC_CONCURRENCY))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="catalogue-sync") as pool:
        pending: dict[Future[Any], tuple[int, str]] = {}
        queue = iter(order)
        done = 0
        while True:
            while len(pending) < workers * 2 and time.monotonic() < deadline:
                index = next(queue, None)
                if index is None:
                    break
                pending[pool.submit(client.get_model, listed[index])] = (index, listed[index])
            if not pending:
                break
            finished, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in finished:
                index, model_id = pending.pop(future)
                done += 1
                try:
                    info = future.result()
                except GMIError as exc:
                    counts["failed"] += 1
                    say(f"[{done}/{len(listed)}] {model_id}: could not read its detail ({exc})")
                    continue
                # Stored in this thread: the pool only waits on GMI.
                created, enable = _store(info, model_id=model_id, api=api, position=100 + index + 1, now=now,
                                         may_enable=model_id in may_enable)
                if created and bool(app_settings.NEW_MODELS_ENABLED) and not enable:
                    counts["held_back"] += 1
                    held_back.append(model_id)
                counts["added" if created else "updated"] += 1
                say(f"[{done}/{len(listed)}] {model_id}: {'added' if created else 'updated'}")
    counts["deferred"] = len(listed) - done
    # Models not reached before the deadline are still listed: they stay available.
    counts["unavailable"] = VideoModel.objects.filter(api=api, available=True).exclude(pk__in=listed).update(
        available=False, synced_at=now
    )
    forget_cached_models()  # the bulk update above sends no signals
    if counts["unavailable"]:
        say(f"{counts['unavailable']} models are no longer offered and were marked unavailable.")
    if counts["deferred"]:
        say(f"{counts['deferred']} models were not reached within {app_settings.CATALOGUE_SYNC_SECONDS} s; "
            "the next sync starts with them.")
    if held_back:
        rank = {model_id: i for i, model_id in enumerate(listed)}
        held_back.sort(key=rank.__getitem__)
        message = (f"{len(held_back)} new models were stored disabled: {cap} models are enabled already "
                   "(CATALOGUE_MAX_ENABLED_MODELS). Enable the ones members need in the admin.")
        say(message)
        logger.warning("model sync: %s First ones: %s", message, ", ".join(held_back[:10]))
        notification_recording.announce_catalogue_held_back(count=len(held_back), cap=int(cap or 0),
                                                            examples=held_back[:10], now=now)
    logger.info("model sync: %s", counts)
    return counts


def _store(info: Any, *, model_id: str, api: str, position: int, now: datetime,
           may_enable: bool) -> tuple[bool, bool]:
    """Write one model's detail; (created, enabled) of a new row."""
    guide = capped_guide(info.detailed_description or "")
    raw = dict(info.raw or {})
    if "detailed_description" in raw:
        raw["detailed_description"] = guide  # the raw copy must not keep what the cap cut
    defaults = {
        "api": api,
        "brief_description": (info.brief_description or "")[:2000],
        "detailed_description": guide,
        "modalities": info.modalities or {},
        "parameters": info.parameters or [],
        "raw": raw,
        "available": True,
        "synced_at": now,
    }
    enable = bool(app_settings.NEW_MODELS_ENABLED) and may_enable
    with transaction.atomic():
        _, created = VideoModel.objects.update_or_create(
            pk=model_id, defaults=defaults, create_defaults={**defaults, "position": position, "enabled": enable},
        )
    return created, enable


def capped_guide(text: str) -> str:
    """``text`` within ``CATALOGUE_MAX_GUIDE_CHARS``: cut at a line break near the cap, with a note saying so."""
    cap = int(app_settings.CATALOGUE_MAX_GUIDE_CHARS)
    if len(text) <= cap:
        return text
    cut = text.rfind("\n", 0, cap)
    kept = text[: cut if cut > cap // 2 else cap].rstrip()
    return kept + GUIDE_NOTE.format(kept=len(kept), total=len(text))


def render_guide(text: str) -> str:
    """A model's guide (Markdown written upstream) as sanitised HTML, within the guide cap.

    Rendered once per distinct text and kept in the cache: the submit page shows it on every
    request, and Markdown plus sanitising costs far more than a lookup.
    """
    if not text:
        return ""
    text = capped_guide(text)
    key = "generations:guide:" + hashlib.blake2b(text.encode("utf-8", "replace"), digest_size=16).hexdigest()
    html = cache.get(key)
    if html is None:
        try:
            html = nh3.clean(markdown_lib.markdown(text, extensions=["extra", "sane_lists"], output_format="html"),
                             tags=_GUIDE_TAGS)
        except Exception:
            html = f"<p>{escape(text)}</p>"
        cache.set(key, html, timeout=24 * 3600)
    return html


#: No images in upstream guides: a remote one is a tracking pixel that reports every reader
#: to its host (and the page's CSP would block it anyway); a relative one points nowhere.
_GUIDE_TAGS = set(nh3.ALLOWED_TAGS) - {"img"}


def sync_models_safely() -> dict[str, int] | None:
    """For schedules: log instead of raising, so django-q2 does not redeliver forever."""
    try:
        return sync_models()
    except GMIError as exc:
        logger.warning("model sync failed: %s", exc)
        return None


def input_url_problem(url: str) -> str | None:
    """Why GMI must not be given ``url`` as a file or URL parameter (an image to animate, frames,
    references), or None when it may.

    GMI fetches these URLs itself, so they get the mirroring address policy (``net.policy``):
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
        policy.check_url(url, allowed_hosts=allowed, public_hosts=True)
    except DownloadError as exc:
        return f"Must be a public http(s) URL that GMI can fetch: {exc.message}"
    return None
