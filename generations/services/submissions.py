"""Submitting, quoting, cancelling, deleting and re-running generations."""
from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from typing import Any, TypeVar

from django.db import IntegrityError, transaction
from django.utils import timezone

from .. import permissions, signals
from ..conf import app_settings
from ..exceptions import (
    IdempotencyConflict,
    InvalidInput,
    InvalidTransition,
    ModelUnavailable,
    NotFound,
    PayloadInvalid,
)
from ..gmi import schema
from ..models import (
    Generation,
    GenerationEvent,
    IdempotencyKey,
    Membership,
    Team,
    VideoModel,
)
from ..policies import quota_policy, submit_policy
from ..selectors import catalogue as catalogue_reads
from ..selectors import quotas as quota_reads
from ..types import User
from . import catalogue, mirroring, moderation, quota_alerts, quotas, remote, shards, waiting_line
from .lifecycle import transition
from .webhooks import endpoints as webhook_endpoints

logger = logging.getLogger("generations.submissions")

T = TypeVar("T")


def _enabled_model(model_id: str) -> VideoModel:
    model = catalogue_reads.cached_model(model_id)
    if model is None:
        raise ModelUnavailable(f"There is no model {model_id!r}. Pick one from the catalogue.")
    if not model.enabled or not model.available:
        raise ModelUnavailable(f"The model {model_id!r} is not available at the moment.")
    return model


def _team_for(user: User, team: Team | str | None) -> Team | None:
    if team in (None, ""):
        return None
    if not isinstance(team, Team):
        team = Team.objects.filter(slug=team).first()
    if team is None or not Membership.objects.filter(team=team, user=user).exists():
        # Same answer for "no such team" and "not yours": other teams are not disclosed.
        raise NotFound("You have no team with this slug.")
    return team


def submitter_team(*, user: User, team: Team | str | None) -> Team | None:
    """The team a submission names, when ``user`` is in it (``NotFound`` otherwise); None for none."""
    return _team_for(user, team)


def prepare(*, user: User, model_id: str, payload: Any, team: Team | str | None = None) -> dict[str, Any]:
    """Validate a submission without creating anything; shared by submit and quote."""
    return prepare_for_team(user=user, model_id=model_id, payload=payload, team=_team_for(user, team))


def prepare_for_team(*, user: User, model_id: str, payload: Any, team: Team | None,
                     blocked_terms: tuple[str, ...] | None = None, policy_checked: bool = False) -> dict[str, Any]:
    """``prepare`` for a team already checked by ``submitter_team``; a batch checks the team and reads
    the ``blocked_terms`` (``moderation.blocked_terms``) once for all its items, and asks the submit
    policy once per model (``policy_checked`` for the model's later items): a policy may read the
    database, and a batch's cost must not grow with its size."""
    model = _enabled_model(model_id)
    team_obj = team
    if not policy_checked:
        submit_policy().check_submit(user=user, model=model, team=team_obj)
    # Size first: everything after it reads the text closely, and the quote endpoint is free to call.
    errors = schema.size_errors(payload, max_text=int(app_settings.MAX_PROMPT_CHARS),
                                max_total=int(app_settings.MAX_PAYLOAD_CHARS))
    if errors:
        raise PayloadInvalid(errors)
    params = catalogue_reads.parameters_of(model)
    cleaned, errors = schema.validate_payload(params, payload, url_problem=catalogue.input_url_problem)
    if errors:
        raise PayloadInvalid(errors)
    moderation.check_prompt(schema.all_prompt_text(params, cleaned), terms=blocked_terms)
    video_seconds = schema.requested_seconds(params, cleaned) or int(app_settings.DEFAULT_VIDEO_SECONDS)
    credits = quota_policy().price(model=model, video_seconds=video_seconds)
    return {
        "model": model, "team": team_obj, "payload": cleaned, "video_seconds": int(video_seconds),
        "credits": credits, "prompt": schema.prompt_text(cleaned),
    }


def quote_generation(*, user: User, model_id: str, payload: Any, team: Team | str | None = None) -> dict[str, Any]:
    """What the job would cost and whether it would be accepted now. Creates nothing."""
    prepared = prepare(user=user, model_id=model_id, payload=payload, team=team)
    return quota_reads.quote(
        user=user, team=prepared["team"], video_seconds=prepared["video_seconds"], credits=prepared["credits"]
    )


def _request_hash(model_id: str, payload: Any, team: Any, visibility: Any) -> str:
    body = json.dumps({"model": model_id, "payload": payload, "team": team, "visibility": visibility},
                      sort_keys=True, default=str)
    return hashlib.sha256(body.encode()).hexdigest()


def request_defaults(*, team: Team | str | None, visibility: str | None,
                     idempotency_key: str | None) -> tuple[str | None, str]:
    """The team's slug and the visibility a submission (or batch) resolves to, for its idempotency hash.

    The defaults are resolved before hashing, so spelling out a default is the same request.
    Refuses an ``Idempotency-Key`` no client could mean (``InvalidInput``).
    """
    if idempotency_key is not None and not (0 < len(idempotency_key) <= 200):
        raise InvalidInput({"Idempotency-Key": ["Use a key of 1 to 200 characters."]})
    team_key = (team.slug if isinstance(team, Team) else team) or None
    return team_key, visibility or (Generation.Visibility.TEAM if team_key else Generation.Visibility.PRIVATE)


def submit_generation(
    *,
    user: User,
    model_id: str,
    payload: Any,
    team: Team | str | None = None,
    visibility: str | None = None,
    idempotency_key: str | None = None,
    rerun_of: Generation | None = None,
    webhook: str | None = None,
    webhook_events_filter: list[str] | None = None,
) -> Generation:
    """Accept a job: validate it, reserve its quota and queue it for GMI.

    Raises ``PayloadInvalid``, ``ModelUnavailable``, ``NotAllowed``, ``PromptBlocked``,
    ``QuotaExceeded`` or ``IdempotencyConflict`` and then creates nothing. Nothing is
    sent to GMI here: the dispatcher sends queued jobs fairly once the transaction
    has committed. With ``idempotency_key``, a repeated call with the same body
    returns the first generation instead of creating another.
    """
    team_key, resolved_visibility = request_defaults(team=team, visibility=visibility,
                                                     idempotency_key=idempotency_key)
    request_hash = _request_hash(model_id, payload, team_key, resolved_visibility)
    if idempotency_key:
        existing = _idempotent_replay(user, idempotency_key, request_hash)
        if existing is not None:
            return existing
    webhook_url, webhook_filter = webhook_endpoints.check_submission_webhook(
        url=webhook, events_filter=webhook_events_filter, user=user)
    prepared = prepare(user=user, model_id=model_id, payload=payload, team=team)
    team_obj = prepared["team"]
    if visibility in (None, ""):
        visibility = Generation.Visibility.TEAM if team_obj else Generation.Visibility.PRIVATE
    if visibility not in Generation.Visibility.values:
        raise InvalidInput({"visibility": ["Must be 'private' or 'team'."]})
    if visibility == Generation.Visibility.TEAM and team_obj is None:
        raise InvalidInput({"visibility": ["Choose a team to share this video with, or make it private."]})

    def create() -> Generation:
        charges = quota_reads.charges_for(
            user=user, team=team_obj, video_seconds=prepared["video_seconds"], credits=prepared["credits"]
        )
        # Counters first: a refused submission writes nothing else.
        now = timezone.now()
        taken = quotas.take_usage(charges=charges, now=now)
        generation = Generation(
            owner=user, team=team_obj, visibility=visibility, model=prepared["model"],
            api=prepared["model"].api, payload=prepared["payload"], prompt=prepared["prompt"][:5000],
            video_seconds=prepared["video_seconds"], credits=prepared["credits"],
            moderation=moderation.initial_moderation(visibility=visibility), rerun_of=rerun_of,
            created_at=now, line_seq=waiting_line.join_line(owner_id=user.pk, created_at=now),
            webhook=webhook_url, webhook_events_filter=webhook_filter,
        )
        generation.save(force_insert=True)
        GenerationEvent.objects.create(generation=generation, from_status="", to_status=Generation.Status.QUEUED,
                                       note="Accepted", actor=user, created_at=now)
        quotas.record_reservations(generation=generation, taken=taken, now=now)
        quota_alerts.announce_on_commit(generation, taken, now=now)
        if idempotency_key:
            # Last, so the row is written with its generation; a concurrent twin fails here and replays.
            IdempotencyKey.objects.create(user=user, key=idempotency_key, request_hash=request_hash,
                                          generation=generation)
        transaction.on_commit(lambda: _after_submit(generation))
        return generation

    return create_once(create, idempotency_key=idempotency_key,
                       replay=lambda key: _idempotent_replay(user, key, request_hash))


def create_once(create: Callable[[], T], *, idempotency_key: str | None,
                replay: Callable[[str], T | None]) -> T:
    """Run ``create`` in a transaction; when it loses a race to a concurrent request with the same
    ``idempotency_key`` (the unique row refuses the second), return what the first made (``replay``).

    Without a key, or when the replay finds nothing, the ``IntegrityError`` stands.
    """
    try:
        with transaction.atomic():
            return create()
    except IntegrityError:
        if idempotency_key:
            existing = replay(idempotency_key)
            if existing is not None:
                return existing
        raise


def _idempotent_replay(user: User, key: str, request_hash: str) -> Generation | None:
    row = IdempotencyKey.objects.filter(user=user, key=key).select_related("generation").first()
    if row is None:
        return None
    if row.request_hash != request_hash:
        raise IdempotencyConflict()
    return row.generation


def _after_submit(generation: Generation) -> None:
    signals.generation_submitted.send(sender=Generation, generation=generation)
    shards.request_dispatch()


def cancel_generation(*, generation: Generation, actor: User | None = None) -> Generation:
    """Cancel a job that has not ended. Best effort upstream; usage is refunded at once.

    ``actor`` (None: the system) must be the owner or staff allowed to cancel others' jobs
    (``permissions.may_cancel``); anyone else gets ``NotFound``, as the edges answer.
    """
    if actor is not None and not permissions.may_cancel(actor, generation):
        raise NotFound("No such generation.")
    by_owner = actor is None or actor.pk == generation.owner_id
    for _ in range(3):  # the status may move under us (dispatched -> processing); try again
        generation.refresh_from_db()
        if not generation.is_cancellable:
            raise InvalidTransition(f"A {generation.get_status_display().lower()} generation cannot be cancelled.")
        if transition(generation, Generation.Status.CANCELLED, actor=actor, note="Cancelled",
                      error="Cancelled by its owner" if by_owner else "Cancelled by staff"):
            if generation.upstream_request_id:
                transaction.on_commit(lambda: remote.cancel_upstream(generation))
            return generation
    raise InvalidTransition("The generation changed while cancelling; try again.")


def delete_generation(*, generation: Generation, actor: User | None = None) -> None:
    """Remove a generation for its owner. Active jobs are cancelled first; files are deleted.

    The row stays (soft-deleted) so the ledger keeps adding up.
    """
    if generation.is_cancellable:
        try:
            cancel_generation(generation=generation, actor=actor)
        except InvalidTransition:
            generation.refresh_from_db()
    if generation.status == Generation.Status.MIRRORING:
        raise InvalidTransition("The video is being copied right now; delete it in a moment.")
    names = [generation.video_name, generation.thumbnail_name]
    # Conditional on the status we saw: a re-mirror starting meanwhile must not publish onto a deleted row.
    deleted = Generation.objects.filter(pk=generation.pk, status=generation.status, deleted_at__isnull=True).update(
        deleted_at=timezone.now(), video_name="", thumbnail_name="", updated_at=timezone.now()
    )
    if not deleted:
        raise InvalidTransition("The generation changed meanwhile; reload and try again.")
    transaction.on_commit(lambda: mirroring.delete_files(names))


def rerun_generation(*, generation: Generation, user: User, idempotency_key: str | None = None) -> Generation:
    """Submit the same model and payload again as ``user`` (who must be able to see it)."""
    team = generation.team if generation.team_id and Membership.objects.filter(
        team_id=generation.team_id, user=user).exists() else None
    return submit_generation(
        user=user, model_id=generation.model_id, payload=generation.payload, team=team,
        visibility=generation.visibility if team else Generation.Visibility.PRIVATE,
        idempotency_key=idempotency_key, rerun_of=generation,
    )
