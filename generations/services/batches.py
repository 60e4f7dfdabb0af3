"""Batches: many jobs (or one prompt over several models, a compare) validated, reserved and queued as one."""
from __future__ import annotations

import hashlib
import json
import logging
from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone

from .. import signals
from ..conf import app_settings
from ..exceptions import (
    IdempotencyConflict,
    InvalidInput,
    InvalidTransition,
    ModelUnavailable,
    NotFound,
    PayloadInvalid,
    PromptBlocked,
)
from ..models import Batch, Generation, GenerationEvent, Team
from ..selectors import quotas as quota_reads
from ..types import User
from . import moderation, quota_alerts, quotas, shards, submissions, waiting_line

logger = logging.getLogger("generations.batches")

MIN_COMPARE, MAX_COMPARE = 2, 4


def _request_hash(items: Any, team: Any, visibility: Any, kind: str) -> str:
    body = json.dumps({"items": items, "team": team, "visibility": visibility, "kind": kind},
                      sort_keys=True, default=str)
    return hashlib.sha256(body.encode()).hexdigest()


def _check_shape(items: Any) -> None:
    most = int(app_settings.BATCH_MAX_ITEMS)
    if not isinstance(items, list) or not items:
        raise InvalidInput({"items": [f"Send a list of 1 to {most} jobs, each {{\"model\", \"payload\"}}."]})
    if len(items) > most:
        raise InvalidInput({"items": [f"A batch holds at most {most} jobs; this one has {len(items)}. "
                                      "Split it into several batches."]})


def prepare_items(*, user: User, items: Any, team: Team | None) -> list[dict[str, Any]]:
    """Validate every item in one pass; raise ``InvalidInput`` keyed ``items[i].field`` listing all problems.

    Nothing is created. Errors about the member (an inactive or unapproved account) are
    not per item and raise at once, as for one submission.
    """
    _check_shape(items)
    errors: dict[str, list[str]] = {}
    prepared: list[dict[str, Any]] = []
    terms = moderation.blocked_terms()
    allowed_models: set[str] = set()  # the submit policy is asked once per model, not once per job
    for index, item in enumerate(items):
        where = f"items[{index}]"
        if not isinstance(item, dict):
            errors[where] = ['Each job is an object {"model", "payload"}.']
            continue
        model_id, payload = item.get("model"), item.get("payload")
        unknown = sorted(set(item) - {"model", "payload"})
        if unknown:
            errors[where] = [f"Unknown field(s): {', '.join(map(str, unknown))}. A job has only model and payload."]
        if not isinstance(model_id, str) or not model_id:
            errors[f"{where}.model"] = ["Name a model from the catalogue."]
            continue
        if not isinstance(payload, dict):
            errors[f"{where}.payload"] = ["Must be a JSON object of parameter names to values."]
            continue
        try:
            prepared.append(submissions.prepare_for_team(user=user, model_id=model_id, payload=payload, team=team,
                                                         blocked_terms=terms,
                                                         policy_checked=model_id in allowed_models))
        except ModelUnavailable as exc:
            errors[f"{where}.model"] = [exc.message]
        except PayloadInvalid as exc:
            for field, problems in exc.errors.items():
                errors[f"{where}.payload.{field}"] = list(problems)
        except PromptBlocked as exc:
            errors[f"{where}.payload"] = [exc.message]
        allowed_models.add(model_id)  # a refusal by the policy (NotAllowed) has ended the whole batch
    if errors:
        raise InvalidInput(errors, message=f"{len({k.split('.')[0] for k in errors})} of {len(items)} jobs "
                                           "need changes; nothing was submitted.")
    return prepared


def quote_batch(*, user: User, items: Any, team: Team | str | None = None) -> dict[str, Any]:
    """What the batch would cost together and whether it would be accepted now. Creates nothing."""
    team_obj = submissions.submitter_team(user=user, team=team)
    prepared = prepare_items(user=user, items=items, team=team_obj)
    result = quota_reads.quote(
        user=user, team=team_obj, video_seconds=sum(p["video_seconds"] for p in prepared),
        credits=sum((Decimal(p["credits"]) for p in prepared), Decimal(0)), jobs=len(prepared),
    )
    result["jobs"] = len(prepared)
    result["items"] = [{"model": p["model"].pk, "video_seconds": p["video_seconds"],
                        "credits": _number(Decimal(p["credits"]))} for p in prepared]
    return result


def _number(value: Decimal) -> int | float:
    return int(value) if value == value.to_integral_value() else float(value)


def submit_batch(
    *,
    user: User,
    items: Any,
    team: Team | str | None = None,
    visibility: str | None = None,
    idempotency_key: str | None = None,
    kind: str = Batch.Kind.BATCH,
) -> Batch:
    """Accept every job of a batch or none: validate all, reserve the quota of all in one move, queue all.

    Raises ``InvalidInput`` (per-item errors, ``items[i].field``), ``NotFound`` (team),
    ``NotAllowed``, ``QuotaExceeded`` or ``IdempotencyConflict``, and then creates nothing.
    The counters move once by the batch's sums, with the same conditional UPDATE as a
    single submission, so concurrent batches against a quota accept exactly what fits.
    Each job joins its owner's fair waiting line like any other. With ``idempotency_key``,
    the same request again returns the first batch.
    """
    team_key, resolved_visibility = submissions.request_defaults(team=team, visibility=visibility,
                                                                 idempotency_key=idempotency_key)
    request_hash = _request_hash(items, team_key, resolved_visibility, kind)
    if idempotency_key:
        existing = _idempotent_replay(user, idempotency_key, request_hash)
        if existing is not None:
            return existing
    if kind == Batch.Kind.COMPARE:
        _check_compare(items)
    team_obj = submissions.submitter_team(user=user, team=team)
    prepared = prepare_items(user=user, items=items, team=team_obj)
    if resolved_visibility not in Generation.Visibility.values:
        raise InvalidInput({"visibility": ["Must be 'private' or 'team'."]})
    if resolved_visibility == Generation.Visibility.TEAM and team_obj is None:
        raise InvalidInput({"visibility": ["Choose a team to share these videos with, or make them private."]})
    return submissions.create_once(
        lambda: _create(user=user, team=team_obj, visibility=resolved_visibility, prepared=prepared,
                        kind=kind, idempotency_key=idempotency_key or "", request_hash=request_hash),
        idempotency_key=idempotency_key, replay=lambda key: _idempotent_replay(user, key, request_hash))


def _check_compare(items: Any) -> None:
    if not isinstance(items, list) or not (MIN_COMPARE <= len(items) <= MAX_COMPARE):
        raise InvalidInput({"items": [f"Compare {MIN_COMPARE} to {MAX_COMPARE} models."]})
    models = [item.get("model") for item in items if isinstance(item, dict)]
    if len(set(map(str, models))) != len(models):
        raise InvalidInput({"items": ["Pick each model once."]})


def _create(*, user: User, team: Team | None, visibility: str, prepared: list[dict[str, Any]], kind: str,
            idempotency_key: str, request_hash: str) -> Batch:
    now = timezone.now()
    count = len(prepared)
    per_item = [
        quota_reads.charges_for(user=user, team=team, video_seconds=p["video_seconds"], credits=Decimal(p["credits"]))
        for p in prepared
    ]
    # Counters first and once, by the sums: a refused batch writes nothing else.
    taken = quotas.take_usage(charges=quota_reads.charges_for(
        user=user, team=team, video_seconds=sum(p["video_seconds"] for p in prepared),
        credits=sum((Decimal(p["credits"]) for p in prepared), Decimal(0)), jobs=count), now=now)
    batch = Batch.objects.create(owner=user, team=team, kind=kind, size=count, idempotency_key=idempotency_key,
                                 request_hash=request_hash, created_at=now)
    last_seq = waiting_line.join_line(owner_id=user.pk, created_at=now, count=count)
    initial = moderation.initial_moderation(visibility=visibility)
    generations = []
    for index, p in enumerate(prepared):
        generations.append(Generation(
            owner=user, team=team, visibility=visibility, model=p["model"], api=p["model"].api,
            payload=p["payload"], prompt=p["prompt"][:5000], video_seconds=p["video_seconds"],
            credits=p["credits"], moderation=initial, batch=batch,
            # Apart by a microsecond, in the batch's order: the line sends a member's jobs oldest first.
            created_at=now + timedelta(microseconds=index), line_seq=last_seq - count + 1 + index,
        ))
    Generation.objects.bulk_create(generations)
    GenerationEvent.objects.bulk_create([
        GenerationEvent(generation=g, from_status="", to_status=Generation.Status.QUEUED,
                        note="Accepted (batch)", actor=user, created_at=now)
        for g in generations
    ])
    quotas.record_batch_reservations(items=list(zip(generations, per_item, strict=True)), taken=taken, now=now)
    if generations:
        quota_alerts.announce_on_commit(generations[0], taken, now=now)
    transaction.on_commit(lambda: _after_submit(generations))
    batch._prefetched_generations = generations  # type: ignore[attr-defined]  # the answer needs no re-read
    return batch


def _idempotent_replay(user: User, key: str, request_hash: str) -> Batch | None:
    batch = Batch.objects.filter(owner=user, idempotency_key=key).first()
    if batch is None:
        return None
    if batch.request_hash != request_hash:
        raise IdempotencyConflict()
    return batch


def _after_submit(generations: list[Generation]) -> None:
    for generation in generations:
        signals.generation_submitted.send(sender=Generation, generation=generation)
    shards.request_dispatch()


def cancel_batch(*, batch: Batch, actor: User) -> list[Generation]:
    """Cancel every job of the batch that has not ended (and can still be cancelled); return those cancelled.

    Jobs that ended, or are being copied into storage (their usage is spent), are left as
    they are. A job that moves on while this runs is left too.
    """
    cancelled = []
    for generation in Generation.objects.filter(batch=batch, deleted_at__isnull=True,
                                                status__in=Generation.CANCELLABLE).order_by("created_at"):
        try:
            cancelled.append(submissions.cancel_generation(generation=generation, actor=actor))
        except InvalidTransition:
            continue
    return cancelled


def preview_batch(*, user: User, items: Any, team: Team | str | None = None) -> dict[str, Any]:
    """Each job with its own problems, and the quote of the whole batch when none has any. Creates nothing.

    For pages that show a batch row by row before anything is sent; the checks are those of
    ``submit_batch`` (``prepare_items``), so a preview without errors is a batch that submits.
    """
    team_obj = submissions.submitter_team(user=user, team=team)
    _check_shape(items)
    rows: list[dict[str, Any]] = [{"index": index, "model": item.get("model") if isinstance(item, dict) else None,
             "payload": item.get("payload") if isinstance(item, dict) else item, "errors": []}
            for index, item in enumerate(items)]
    try:
        quote = quote_batch(user=user, items=items, team=team_obj)
    except InvalidInput as exc:
        for key, problems in exc.errors.items():
            head, _, field = key.partition(".")
            index = int(head[len("items["):-1]) if head.startswith("items[") else None
            if index is None:
                continue
            label = field.removeprefix("payload.") if field else ""
            rows[index]["errors"] += [f"{label}: {p}" if label and label != "payload" else p for p in problems]
        return {"rows": rows, "quote": None, "valid": False}
    return {"rows": rows, "quote": quote, "valid": True}


def keep_compare_choice(*, batch: Batch, generation: Generation, user: User, delete_others: bool = False) -> int:
    """Star the compare's chosen video (``favorite``); with ``delete_others``, delete the rest. Returns deletions.

    Only the batch's owner may (``NotFound`` otherwise); the others are deleted as their
    owner deletes any video (active ones are cancelled first, usage given back).
    """
    if batch.owner_id != getattr(user, "pk", None) or generation.batch_id != batch.pk:
        raise NotFound("No such video in this compare.")
    Generation.objects.filter(pk=generation.pk).update(favorite=True, updated_at=timezone.now())
    deleted = 0
    if delete_others:
        for other in Generation.objects.filter(batch=batch, deleted_at__isnull=True).exclude(pk=generation.pk):
            try:
                submissions.delete_generation(generation=other, actor=user)
                deleted += 1
            except InvalidTransition:
                continue  # being copied right now: left for the member to delete in a moment
    return deleted
