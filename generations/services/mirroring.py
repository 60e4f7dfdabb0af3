"""Mirroring: copy a finished job's video and thumbnail into the site's storage, verified, then publish."""
from __future__ import annotations

import contextvars
import errno
import logging
import threading
import time
import uuid
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.files import File
from django.core.files.storage import storages
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from .. import log_context, media, queue, telemetry
from ..client import get_client
from ..conf import app_settings
from ..exceptions import GenerationError
from ..gmi.base import RemoteState
from ..gmi.errors import GMIError
from ..models import Generation
from ..net import download as net_download
from ..net.download import Downloaded, download
from ..net.errors import DownloadError, DownloadExpired, DownloadFailed, DownloadRefused
from . import pools
from .lifecycle import transition

logger = logging.getLogger("generations.mirroring")

S = Generation.Status


def generation_storage():
    return storages[app_settings.STORAGE_ALIAS]


#: Errors of our own disk: a copy that meets one waits for room, it is not GMI's failure.
_DISK_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS})
#: The longest a storage outage is left alone before a copy tries again.
STORAGE_RETRY_CEILING = 30.0


class StorageUnavailable(GenerationError):
    """Our storage (or the disk a download lands on) refused a write: the job waits, it does not fail."""


class _StorageGate:
    """While storage refuses writes, copies wait instead of each downloading a video only to fail.

    The first copy after a failure waits ``POLL_INTERVAL``, then twice as long, up to
    ``STORAGE_RETRY_CEILING``; the copy that finds the gate open is the probe, and its
    success opens it for all.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.failures = 0
        self.closed_until = 0.0

    def wait_left(self) -> float:
        return max(0.0, self.closed_until - time.monotonic())

    def failed(self) -> float:
        with self._lock:
            self.failures += 1
            base = float(app_settings.POLL_INTERVAL)
            delay = min(STORAGE_RETRY_CEILING, float(app_settings.MAX_POLL_INTERVAL),
                        base * 2 ** min(self.failures - 1, 10))
            self.closed_until = max(self.closed_until, time.monotonic() + delay)
            return delay

    def succeeded(self) -> None:
        with self._lock:
            self.failures, self.closed_until = 0, 0.0


storage_gate = _StorageGate()


@dataclass(frozen=True)
class StoredFile:
    name: str
    size: int
    sha256: str
    content_type: str


def schedule_mirror(generation: Generation) -> None:
    """Have a job that moved to ``mirroring`` (which took its lease) copied by a task after commit.

    The engine hands the jobs it moves to its own mirror threads instead; this is the path for everyone else.
    """
    transaction.on_commit(lambda: queue.enqueue_mirror(generation.pk))


def claim_due_mirrors(*, now=None, limit: int = 50) -> list[Any]:
    """Take the lease of mirroring jobs whose copy was lost or whose retry time has come; return their ids.

    The caller hands each to a copy (the engine to its mirror threads, a task through ``queue``).
    """
    now = now or timezone.now()
    due = list(
        Generation.objects.filter(status=S.MIRRORING)
        .filter(Q(next_check_at__isnull=True) | Q(next_check_at__lte=now))
        .filter(Q(mirror_lease_until__isnull=True) | Q(mirror_lease_until__lte=now))
        .values_list("pk", "mirror_lease_until")[:limit]
    )
    claimed = []
    for pk, old in due:
        won = Generation.objects.filter(pk=pk, status=S.MIRRORING, mirror_lease_until=old).update(
            mirror_lease_until=now + timedelta(seconds=app_settings.MIRROR_LEASE)
        )
        if won:
            claimed.append(pk)
    return claimed


def mirror_generation(generation_id: Any) -> bool:
    """Copy the outcome files of a ``mirroring`` job into storage and mark it ``succeeded``.

    Files are downloaded to a temporary file (host allow-list, address checks, size
    cap, deadline), verified (complete MP4 / JPEG / PNG), saved under a new unique
    name, checked in storage, and only then does the row point at them. Returns True
    when the job ended (succeeded or failed), False when it will be tried again.
    """
    now = timezone.now()
    closed_for = storage_gate.wait_left()
    if closed_for > 0:
        # Storage refused a write a moment ago: try again when the gate opens, without a download.
        Generation.objects.filter(pk=generation_id, status=S.MIRRORING, mirror_started_at__isnull=True).update(
            mirror_lease_until=None, next_check_at=now + timedelta(seconds=closed_for))
        return False
    claimed = Generation.objects.filter(pk=generation_id, status=S.MIRRORING).filter(
        Q(mirror_started_at__isnull=True) | Q(mirror_started_at__lt=now - timedelta(seconds=app_settings.MIRROR_LEASE))
    ).update(mirror_started_at=now, mirror_lease_until=now + timedelta(seconds=app_settings.MIRROR_LEASE),
             mirror_attempts=F("mirror_attempts") + 1)  # counted as it starts: a killed worker reports nothing
    if not claimed:
        return False
    generation = Generation.objects.get(pk=generation_id)
    with log_context.job(generation):
        return _mirror_claimed(generation)


def _mirror_claimed(generation: Generation) -> bool:
    if generation.mirror_attempts > app_settings.MIRROR_ATTEMPTS:
        # Earlier attempts died without reporting (a killed worker): stop here rather than loop.
        return _give_up(generation, "The copy was interrupted too many times.")
    try:
        video, thumbnail = _copy_outcome(generation)
    except StorageUnavailable as exc:
        return _storage_failed(generation, exc)
    except DownloadRefused as exc:
        return _give_up(generation, f"The finished video could not be copied: {exc}", code="mirror_refused")
    except (DownloadError, media.MediaInvalid, OSError) as exc:
        return _mirror_failed(generation, exc)
    storage_gate.succeeded()
    old_names = [generation.video_name, generation.thumbnail_name]
    fields: dict[str, Any] = {
        "video_name": video.name, "video_size": video.size, "video_sha256": video.sha256,
        "video_content_type": video.content_type, "mirror_started_at": None,
        "thumbnail_name": thumbnail.name if thumbnail else "", "thumbnail_size": thumbnail.size if thumbnail else None,
        "thumbnail_sha256": thumbnail.sha256 if thumbnail else "",
        "thumbnail_content_type": thumbnail.content_type if thumbnail else "",
    }
    if not transition(generation, S.SUCCEEDED, expected=S.MIRRORING, note=f"Mirrored {video.size} bytes", **fields):
        _discard([video, *([thumbnail] if thumbnail else [])])  # someone else finished or failed it meanwhile
        return True
    transaction.on_commit(lambda: delete_files([n for n in old_names if n]))
    telemetry.MIRROR_BYTES.inc(video.size + (thumbnail.size if thumbnail else 0))
    if generation.upstream_finished_at:
        telemetry.STATUS_LAG.observe(max(0.0, (timezone.now() - generation.upstream_finished_at).total_seconds()))
    return True


def _copy_outcome(generation: Generation) -> tuple[StoredFile, StoredFile | None]:
    """The video and its thumbnail copied into storage; on an error neither is left there.

    The thumbnail is downloaded and checked beside the video rather than after it, so a
    job pays GMI's storage round trip once; it is written to storage after the video, as
    before. A thumbnail that cannot be downloaded or is not an image costs nothing but
    itself; anything else it meets (no room, our storage refusing) ends the attempt as the
    video's own error would.
    """
    thumbnail_fetch = _fetch_aside(generation)
    try:
        try:
            video = _mirror_one(generation, generation.outcome_video_url, kind="video")
        except DownloadExpired:
            if not _refresh_outcome_urls(generation):
                raise
            thumbnail_fetch = _fetch_aside(generation, unless_fetched=thumbnail_fetch)
            video = _mirror_one(generation, generation.outcome_video_url, kind="video")
    except BaseException:
        _close_when_done(thumbnail_fetch)  # its temporary file goes as the download ends; nothing waits for it
        raise
    try:
        thumbnail = _thumbnail_of(generation, thumbnail_fetch)
    except BaseException:
        _discard([video])
        raise
    return video, thumbnail


def _thumbnail_pool() -> pools.ThreadPool:
    # As many threads as copies at once: a copy that gets this far waits for its own thumbnail,
    # so none waits behind another's for long.
    return pools.named_pool("thumbnails", int(app_settings.MIRROR_CONCURRENCY))


_Fetched = tuple[Downloaded, str]  # the temporary file and the media type it was checked as


def _fetch_aside(generation: Generation, *, unless_fetched: Future | None = None) -> Future | None:
    """The thumbnail's download and check, started on the thumbnail threads (None: the job has none).

    ``unless_fetched``: an earlier download, kept when it succeeded (a refreshed URL names
    the same file), else tried again at the job's current URL.
    """
    if unless_fetched is not None:
        try:
            unless_fetched.result()
        except BaseException:
            pass
        else:
            if generation.outcome_thumbnail_url:
                return unless_fetched
        _close_when_done(unless_fetched)
    url = generation.outcome_thumbnail_url
    if not url:
        return None
    # The job's log context goes along, so lines about its thumbnail name the job.
    return _thumbnail_pool().submit(contextvars.copy_context().run, _fetch_checked, url, kind="thumbnail")


def _close_when_done(fetch: Future | None) -> None:
    """Delete a thumbnail download's temporary file as the download ends, without waiting for it."""
    if fetch is not None:
        fetch.add_done_callback(_close_fetched)


def _close_fetched(done: Future) -> None:
    if done.exception() is None:
        done.result()[0].close()


def _thumbnail_of(generation: Generation, fetch: Future | None) -> StoredFile | None:
    if fetch is None:
        return None
    try:
        fetched, file_type = fetch.result()
        with fetched:
            return _store(generation, fetched, file_type, kind="thumbnail")
    except (DownloadError, media.MediaInvalid) as exc:
        # A missing thumbnail must not cost the member their video.
        logger.warning("generation %s: thumbnail not mirrored: %s", generation.pk, exc)
        return None


def _give_up(generation: Generation, reason: str, *, code: str = "mirror_failed") -> bool:
    """End a mirroring job that cannot be copied.

    A re-mirror of a video that is already stored goes back to ``succeeded`` with the
    earlier copy (the member keeps a good video); a first copy fails, refunded.
    """
    if generation.video_name and generation_storage().exists(generation.video_name):
        transition(generation, S.SUCCEEDED, expected=S.MIRRORING, mirror_started_at=None,
                   note=f"Re-mirror failed, the earlier copy is kept: {reason}")
        telemetry.MIRROR_FAILURES.labels(result="earlier_copy_kept").inc()
        return True
    telemetry.MIRROR_FAILURES.labels(result="failed").inc()
    transition(generation, S.FAILED, expected=S.MIRRORING, note=reason, error_code=code, error=reason,
               mirror_started_at=None)
    return True


def _mirror_failed(generation: Generation, exc: Exception) -> bool:
    if generation.mirror_attempts >= app_settings.MIRROR_ATTEMPTS:
        return _give_up(generation, f"The finished video could not be copied after "
                                    f"{generation.mirror_attempts} attempts: {exc}")
    telemetry.MIRROR_FAILURES.labels(result="retry").inc()
    delay = min(300.0, float(app_settings.POLL_INTERVAL) * (2 ** generation.mirror_attempts))
    _try_again_in(generation, delay)
    logger.warning("generation %s: mirroring failed (%s); retry in %.0fs", generation.pk, exc, delay)
    return False


def _storage_failed(generation: Generation, exc: StorageUnavailable) -> bool:
    """Our storage refused: the job waits for it (the attempt is not counted) and nothing was published."""
    delay = storage_gate.failed()
    _try_again_in(generation, delay, mirror_attempts=F("mirror_attempts") - 1)
    logger.error("generation %s: storage refused the copy (%s); trying again in %.1fs", generation.pk, exc, delay)
    return False


def _try_again_in(generation: Generation, delay: float, **fields: Any) -> None:
    """Let go of a job still mirroring: its lease ends and the engine copies it again in ``delay`` seconds."""
    Generation.objects.filter(pk=generation.pk, status=S.MIRRORING).update(
        mirror_started_at=None, mirror_lease_until=None, next_check_at=timezone.now() + timedelta(seconds=delay),
        **fields,
    )


def _refresh_outcome_urls(generation: Generation) -> bool:
    """Outcome URLs are signed and expire: ask GMI for fresh ones."""
    if not generation.upstream_request_id:
        return False  # never reached GMI: there is nothing to ask about
    try:
        job = get_client().get_request(generation.upstream_request_id, model_id=generation.model_id)
    except GMIError as exc:
        logger.warning("generation %s: could not refresh outcome URLs: %s", generation.pk, exc)
        return False
    if job.state != RemoteState.SUCCEEDED or not job.video_url:
        return False
    generation.outcome_video_url = job.video_url
    generation.outcome_thumbnail_url = job.thumbnail_url or ""
    Generation.objects.filter(pk=generation.pk).update(
        outcome_video_url=job.video_url, outcome_thumbnail_url=job.thumbnail_url or "", upstream_response=job.raw
    )
    return True


class _DownloadedFile(File):
    """A downloaded temporary file that a local storage may move into place, as Django
    does with uploaded files, rather than copy it byte by byte a second time."""

    def temporary_file_path(self) -> str:
        return str(self.file.name)  # type: ignore[union-attr]  # always constructed around a named file


def _mirror_one(generation: Generation, url: str, *, kind: str) -> StoredFile:
    fetched, file_type = _fetch_checked(url, kind=kind)
    with fetched:
        return _store(generation, fetched, file_type, kind=kind)


def _fetch_checked(url: str, *, kind: str) -> _Fetched:
    """The file at ``url`` downloaded and verified as the ``kind`` it should be (the caller closes it)."""
    try:
        fetched = _fetch(url)
    except DownloadFailed as exc:
        if isinstance(exc.__cause__, OSError) and exc.__cause__.errno in _DISK_ERRNOS:
            raise StorageUnavailable(f"no room for the download: {exc.__cause__.strerror}") from exc
        raise
    try:
        expected = ("mp4",) if kind == "video" else ("jpeg", "png")
        fetched.file.seek(0)
        file_type = media.sniff(fetched.file.read(64))
        if file_type is None or file_type not in expected:
            raise media.MediaInvalid(f"The {kind} is not a {' or '.join(expected).upper()} file.")
        fetched.file.seek(0)
        media.verify(fetched.file, file_type)
    except BaseException:
        fetched.close()
        raise
    return fetched, file_type


def _fetch(url: str) -> Downloaded:
    """The outcome in a temporary file: from the backend when it holds it itself, else downloaded."""
    # Where Django keeps uploads on their way to storage: ideally the storage's disk,
    # so that the move in _store is a rename.
    # Only a URL no download could fetch is offered to the backend (the in-memory one's memory://).
    held = None if url.startswith(("http://", "https://")) else get_client().open_outcome(url)
    if held is not None:
        return net_download.held(held, url=url, tmp_dir=settings.FILE_UPLOAD_TEMP_DIR)
    return download(
        url,
        allowed_hosts=app_settings.MIRROR_ALLOWED_HOSTS,
        max_bytes=int(app_settings.MIRROR_MAX_BYTES),
        connect_timeout=float(app_settings.CONNECT_TIMEOUT),
        read_timeout=float(app_settings.READ_TIMEOUT),
        deadline=float(app_settings.MIRROR_DEADLINE),
        tmp_dir=settings.FILE_UPLOAD_TEMP_DIR,
    )


def _store(generation: Generation, fetched: Downloaded, file_type: str, *, kind: str) -> StoredFile:
    extension = media.extension(file_type)
    name = f"{generation.owner_id}/{generation.pk}/{kind}-{uuid.uuid4().hex[:12]}.{extension}"
    storage = generation_storage()
    fetched.file.seek(0)
    # A file-system storage moves the temporary file (Downloaded.close() then finds
    # nothing to delete); other storages read it as they would any file.
    try:
        saved = storage.save(name, _DownloadedFile(fetched.file, name=name))
        stored_size = storage.size(saved)
    except Exception as exc:  # whatever the backend raises (OSError, botocore's errors ...)
        # A disk that filled up mid-copy leaves the start of the file behind: remove it.
        delete_files([name])
        raise StorageUnavailable(f"{type(exc).__name__}: {exc}") from exc
    if stored_size != fetched.size:
        storage.delete(saved)
        raise media.MediaInvalid("The stored copy does not match the downloaded size.")
    return StoredFile(name=saved, size=fetched.size, sha256=fetched.sha256, content_type=media.CONTENT_TYPES[file_type])


def _discard(stored: list[StoredFile]) -> None:
    delete_files([f.name for f in stored])


def delete_files(names: list[str]) -> None:
    storage = generation_storage()
    for name in names:
        if not name:
            continue
        try:
            storage.delete(name)
        except Exception:  # storage hiccups must not undo the state change that already happened
            logger.exception("could not delete %s from storage", name)
