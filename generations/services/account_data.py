"""A member's data: the export of everything they own as a zip, and the deletion of their account.

Export: a background task writes a zip (``generations.json``, ``ledger.json`` and each
stored file) to a temporary file on disk, copying every file from storage in 1 MB
chunks, then saves the zip into the generations storage; it can be downloaded for
``EXPORT_HOURS``, then ``expire_exports`` deletes it. Memory stays flat whatever the
videos weigh.

Deletion: the password is confirmed (``confirm_password``, the one check), teams the
member owns pass to an admin (or the deletion is refused), running jobs are cancelled,
files leave storage, and personal data is erased. The account row stays, anonymised
and inactive, because ledger rows and generations point at it: team and site totals
still add up, and nothing can log in as it again.
"""
from __future__ import annotations

import copy
import json
import logging
import shutil
import tempfile
import uuid
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.core.files import File
from django.db import transaction
from django.db.models import Q
from django.http import HttpRequest
from django.utils import timezone

from ..conf import app_settings
from ..exceptions import InvalidTransition, TeamNeedsOwner
from ..models import (
    ApiToken,
    DataExport,
    Flag,
    Generation,
    IdempotencyKey,
    LedgerEntry,
    Membership,
    Notification,
    NotificationPreference,
    Upload,
    UserProfile,
    WaitingLine,
    WebhookEndpoint,
)
from ..selectors.quotas import plain_number
from ..types import User
from . import accounts, mirroring, submissions

logger = logging.getLogger("generations.account_data")

CHUNK = 1024 * 1024
#: Bytes of an object a storage may hold in memory while it is read; the rest goes to a temporary file.
SPILL_AFTER = 8 * CHUNK
#: A pending export untouched this long was lost with its task (a broker restart): it is built again.
EXPORT_LEASE = timedelta(minutes=30)
E = DataExport.Status
Role = Membership.Role


# --------------------------------------------------------------------------- export


def request_export(*, user: User) -> DataExport:
    """Start building ``user``'s export in the background; a pending one is returned instead of a second."""
    pending = DataExport.objects.filter(user=user, status=E.PENDING).first()
    if pending is not None:
        return pending
    export = DataExport.objects.create(user=user)
    transaction.on_commit(lambda: _enqueue(export.pk))
    return export


def _enqueue(export_id: Any) -> None:
    # Local: queue imports nothing of the app at module level, and services reach it only after commit.
    from .. import queue

    queue.enqueue_export(export_id)


def _number(value: Decimal | None) -> int | float | None:
    return None if value is None else plain_number(value)


def _file_entries(generation: Generation) -> list[tuple[str, str]]:
    """(name in storage, name in the zip) of a generation's stored files."""
    entries = []
    for kind, name in (("video", generation.video_name), ("thumbnail", generation.thumbnail_name)):
        if name:
            extension = name.rsplit(".", 1)[-1] if "." in name else "bin"
            entries.append((name, f"files/{generation.pk}/{kind}.{extension}"))
    return entries


def _generation_record(generation: Generation) -> dict[str, Any]:
    return {
        "id": str(generation.pk), "model": generation.model_id, "status": generation.status,
        "title": generation.display_title, "prompt": generation.prompt, "payload": generation.payload,
        "team": generation.team.slug if generation.team else None, "visibility": generation.visibility,
        "favorite": generation.favorite, "keep": generation.keep, "error": generation.error,
        "video_seconds": generation.video_seconds, "credits": _number(generation.credits),
        "created_at": generation.created_at.isoformat(),
        "finished_at": generation.finished_at.isoformat() if generation.finished_at else None,
        "deleted_at": generation.deleted_at.isoformat() if generation.deleted_at else None,
        "files_removed_at": generation.files_removed_at.isoformat() if generation.files_removed_at else None,
        "video_sha256": generation.video_sha256 or None, "video_size": generation.video_size,
        "files": [in_zip for _, in_zip in _file_entries(generation)],
    }


def _write_json_array(zf: zipfile.ZipFile, name: str, records: Iterator[dict[str, Any]]) -> None:
    """One JSON array written record by record: the history is never held in memory at once."""
    with zf.open(name, "w") as out:
        out.write(b"[")
        for index, record in enumerate(records):
            out.write((b",\n" if index else b"\n") + json.dumps(record, ensure_ascii=False).encode())
        out.write(b"\n]\n")


def _owned_generations(user: User):
    return Generation.objects.filter(owner=user).select_related("team").order_by("created_at", "pk")


def build_export(export_id: Any) -> bool:
    """Build the zip of one pending export (the task's work); True when it ended ready or failed."""
    now = timezone.now()
    claimed = DataExport.objects.filter(pk=export_id, status=E.PENDING).filter(
        Q(started_at__isnull=True) | Q(started_at__lt=now - EXPORT_LEASE)).update(started_at=now)
    if not claimed:
        return False
    export = DataExport.objects.select_related("user").get(pk=export_id)
    storage = mirroring.generation_storage()
    try:
        with tempfile.TemporaryFile(prefix="gmi-export-") as spool:
            with zipfile.ZipFile(spool, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
                _write_json_array(zf, "generations.json", (
                    _generation_record(g) for g in _owned_generations(export.user).iterator(chunk_size=500)))
                _write_json_array(zf, "ledger.json", (
                    {"generation": str(row.generation_id), "kind": row.kind, "metric": row.metric,
                     "period": row.period, "amount": _number(row.amount), "subject": row.subject,
                     "attempt": row.attempt, "note": row.note, "created_at": row.created_at.isoformat()}
                    for row in LedgerEntry.objects.filter(user=export.user).order_by("created_at", "pk")
                    .iterator(chunk_size=1000)))
                files = Generation.objects.filter(owner=export.user).exclude(video_name="", thumbnail_name="")
                for generation in files.only("pk", "video_name", "thumbnail_name").order_by("created_at", "pk") \
                        .iterator(chunk_size=500):
                    for name, in_zip in _file_entries(generation):
                        with _open_bounded(storage, name) as source, \
                                zf.open(in_zip, "w", force_zip64=True) as target:
                            shutil.copyfileobj(source, target, CHUNK)
            size = spool.tell()
            spool.seek(0)
            saved = storage.save(f"exports/{export.user.pk}/{uuid.uuid4().hex}.zip", File(spool, name="export.zip"))
    except Exception as exc:
        logger.exception("export %s of member %s failed", export.pk, export.user_id)
        DataExport.objects.filter(pk=export.pk).update(status=E.FAILED, finished_at=timezone.now(),
                                                       error=f"The export could not be built ({type(exc).__name__}).")
        return True
    finished = timezone.now()
    hours = float(app_settings.EXPORT_HOURS)
    if not DataExport.objects.filter(pk=export.pk, status=E.PENDING).update(
            status=E.READY, file_name=saved, size=size, finished_at=finished,
            expires_at=finished + timedelta(hours=hours)):
        mirroring.delete_files([saved])  # the account went meanwhile
    logger.info("export %s of member %s ready: %d bytes", export.pk, export.user_id, size)
    return True


def _open_bounded(storage: Any, name: str) -> Any:
    """``storage.open(name)`` that never holds a whole object in memory.

    django-storages' S3 file downloads the object into a SpooledTemporaryFile whose size
    limit is the storage's ``max_memory_size``, 0 by default, which means "never spill to
    disk": a 1 GB video would sit in memory. A copy of the storage with a limit is used then.
    """
    if hasattr(storage, "max_memory_size") and not storage.max_memory_size:
        storage = copy.copy(storage)
        storage.max_memory_size = SPILL_AFTER
    return storage.open(name, "rb")


def expire_exports(*, now: Any = None) -> dict[str, int]:
    """Delete the zips past their time; build again the pending exports whose task was lost."""
    now = now or timezone.now()
    expired = 0
    for export in DataExport.objects.filter(status=E.READY, expires_at__lt=now):
        if DataExport.objects.filter(pk=export.pk, status=E.READY).update(status=E.EXPIRED, file_name=""):
            mirroring.delete_files([export.file_name])
            expired += 1
    lost = list(DataExport.objects.filter(status=E.PENDING).filter(
        Q(started_at__lt=now - EXPORT_LEASE) | Q(started_at__isnull=True, created_at__lt=now - EXPORT_LEASE)
    ).values_list("pk", flat=True))
    for export_id in lost:
        _enqueue(export_id)
    return {"expired": expired, "restarted": len(lost)}


# --------------------------------------------------------------------------- deletion


def confirm_password(*, user: User, password: str, request: HttpRequest | None = None) -> None:
    """The one check that a password confirms an irreversible change: ``accounts.verify_password``.

    Raises ``WrongPassword``, or ``LockedOut`` while the account or address is locked out
    (the site's lock-out backend sees and counts every attempt).
    """
    accounts.verify_password(request=request, user=user, password=password)


@dataclass(frozen=True)
class Handover:
    team: str
    new_owner: str


def _plan_handovers(user: User) -> list[tuple[Membership, Membership | None]]:
    """For each team ``user`` alone owns: the admin who takes it over (None when the team is theirs alone).

    Raises ``TeamNeedsOwner`` when other members would be left with no owner and no admin.
    """
    plans = []
    for owned in Membership.objects.filter(user=user, role=Role.OWNER).select_related("team"):
        others = Membership.objects.filter(team=owned.team).exclude(user=user)
        if others.filter(role=Role.OWNER).exists():
            continue
        admin = others.filter(role=Role.ADMIN).order_by("joined_at", "pk").select_related("user").first()
        if admin is None and others.exists():
            raise TeamNeedsOwner(
                f"You own the team “{owned.team.name}” and it has no admin to take it over. Make a member an "
                "admin (or an owner), or remove its members, then delete your account.")
        plans.append((owned, admin))
    return plans


def delete_account(*, user: User, password: str, request: HttpRequest | None = None) -> list[Handover]:
    """Delete ``user``'s account after ``confirm_password``: files, personal data, sessions; ledger rows stay.

    Teams they alone own pass to their longest-standing admin (returned); a team with
    other members and no admin refuses the deletion (``TeamNeedsOwner``, nothing changed).
    A team of theirs alone is left without members. Running jobs are cancelled first.
    """
    confirm_password(user=user, password=password, request=request)
    plans = _plan_handovers(user)
    for generation in Generation.objects.filter(owner=user, status__in=Generation.ACTIVE):
        try:
            submissions.cancel_generation(generation=generation, actor=None)
        except InvalidTransition:
            pass  # it ended meanwhile
    names: list[str] = []
    handovers = []
    now = timezone.now()
    with transaction.atomic():
        for owned, admin in plans:
            if admin is not None:
                Membership.objects.filter(pk=admin.pk).update(role=Role.OWNER)
                handovers.append(Handover(team=owned.team.slug, new_owner=admin.user.get_username()))
        for video, thumbnail in Generation.objects.filter(owner=user).values_list("video_name", "thumbnail_name"):
            names += [n for n in (video, thumbnail) if n]
        names += [n for n in DataExport.objects.filter(user=user).values_list("file_name", flat=True) if n]
        Generation.objects.filter(owner=user).update(
            prompt="", title="", payload={}, error="", upstream_response=None, outcome_video_url="",
            outcome_thumbnail_url="", webhook="", video_name="", thumbnail_name="", visibility="private", team=None,
            deleted_at=now, updated_at=now)
        for model in (ApiToken, Upload, IdempotencyKey, NotificationPreference, DataExport):
            model.objects.filter(user=user).delete()
        Notification.objects.filter(recipient=user).delete()
        Flag.objects.filter(reporter=user).delete()
        WebhookEndpoint.objects.filter(owner=user, team__isnull=True).delete()
        Membership.objects.filter(user=user).delete()
        WaitingLine.objects.filter(owner=user).delete()
        UserProfile.objects.filter(user=user).update(webhook_secret="", previous_webhook_secret="",
                                                     current_team=None)
        _anonymise(user)
        transaction.on_commit(lambda: mirroring.delete_files(names))
    logger.info("account %s deleted; %d files removed, %d teams handed over", user.pk, len(names), len(handovers))
    return handovers


def _anonymise(user: User) -> None:
    """The row stays (ledger rows and generations point at it) with nothing personal left, and cannot log in."""
    placeholder = f"deleted-{uuid.uuid4().hex[:12]}"
    fields: dict[str, Any] = {}
    for name, value in ((user.USERNAME_FIELD, placeholder), ("email", ""), ("first_name", ""), ("last_name", "")):
        if hasattr(user, name):
            setattr(user, name, value)
            fields[name] = value
    user.set_unusable_password()
    user.is_active = False
    update = [*fields, "password", "is_active"]
    if hasattr(user, "is_staff"):
        user.is_staff = False
        user.is_superuser = False
        update += ["is_staff", "is_superuser"]
    # Every session ends with this save: Django checks a session against a hash of the password,
    # and an inactive account is refused by the authentication backends.
    user.save(update_fields=update)
