"""The one place a generation's status changes: allowed transitions, conditional writes, history, settlement."""
from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any, cast

from django.db import transaction
from django.utils import timezone

from .. import signals
from ..conf import app_settings
from ..exceptions import InvalidTransition
from ..models import Generation, GenerationEvent
from ..types import User
from . import quotas
from .notifications import recording as notifications
from .webhooks import recording as webhooks

logger = logging.getLogger("generations.lifecycle")

S = Generation.Status

ALLOWED: dict[str, frozenset[str]] = {
    S.QUEUED: frozenset({S.DISPATCHED, S.FAILED, S.CANCELLED}),
    # A job can succeed at GMI between two polls, so dispatched may skip processing.
    S.DISPATCHED: frozenset({S.PROCESSING, S.MIRRORING, S.FAILED, S.CANCELLED}),
    S.PROCESSING: frozenset({S.MIRRORING, S.FAILED, S.CANCELLED}),
    S.MIRRORING: frozenset({S.SUCCEEDED, S.FAILED}),
    S.SUCCEEDED: frozenset({S.MIRRORING}),  # staff re-mirror
    S.FAILED: frozenset({S.QUEUED}),  # staff retry
    S.CANCELLED: frozenset(),
}


def transition(
    generation: Generation,
    to: str,
    *,
    expected: str | None = None,
    actor: User | None = None,
    note: str = "",
    **fields: Any,
) -> bool:
    """Move ``generation`` from ``expected`` (default: its current status) to ``to``.

    The write is conditional on the row still being in ``expected``, so of two
    workers racing on the same job exactly one wins; the loser gets False and must
    not act further. Raises ``InvalidTransition`` for a move the lifecycle forbids.
    Reaching ``failed`` or ``cancelled`` refunds the job's quota usage and reaching
    ``succeeded`` turns reservations into charges, in the same transaction.
    ``fields`` are written in the same UPDATE and copied onto ``generation``. Moving to
    ``mirroring`` takes the mirror lease; the caller hands the job to a copy after commit
    (``mirroring.schedule_mirror``, or the engine's own mirror threads).
    """
    current = expected or generation.status
    if to not in ALLOWED.get(current, ()):
        raise InvalidTransition(f"A {current} generation cannot become {to}.")
    now = timezone.now()
    updates: dict[str, Any] = {"status": to, "updated_at": now, **fields}
    if to in Generation.TERMINAL:
        updates.setdefault("finished_at", now)
        for field in ("next_check_at", "send_lease_until", "mirror_lease_until"):
            updates.setdefault(field, None)
    elif to == S.MIRRORING:
        # The caller hands the job to a copy at once: its lease keeps the sweep from handing it out again.
        updates.setdefault("next_check_at", None)
        updates.setdefault("mirror_lease_until", now + timedelta(seconds=app_settings.MIRROR_LEASE))
    with transaction.atomic():
        changed = Generation.objects.filter(pk=generation.pk, status=current).update(**updates)
        if not changed:
            return False
        for key, value in updates.items():
            setattr(generation, key, value)
        GenerationEvent.objects.create(
            generation=generation, from_status=current, to_status=to, note=note[:2000], actor=actor, created_at=now
        )
        if to in (S.FAILED, S.CANCELLED):
            quotas.refund_generation(generation, note=f"{to}: {note}"[:200])
        elif to == S.SUCCEEDED and current == S.MIRRORING:
            quotas.charge_generation(generation)
        transaction.on_commit(lambda: _announce(generation, to))
    logger.info("generation %s: %s -> %s %s", generation.pk, current, to, note,
                extra={"generation_id": str(generation.pk), "upstream_request_id": generation.upstream_request_id})
    return True


def _announce(generation: Generation, to: str) -> None:
    signal = cast(dict[str, signals.Signal], {
        S.DISPATCHED: signals.generation_dispatched,
        S.SUCCEEDED: signals.generation_succeeded,
        S.FAILED: signals.generation_failed,
        S.CANCELLED: signals.generation_cancelled,
    }).get(to)
    if signal is not None:
        signal.send(sender=Generation, generation=generation)
    event_type = webhooks.STATUS_EVENTS.get(to)
    if event_type is not None:
        _record_webhooks(generation, event_type)
    if to in notifications.STATUS_KINDS:
        _record_notifications(notifications.announce_status, generation=generation, status=to)


def announce_moderation(generation: Generation, *, decision: str) -> None:
    """After a moderation decision committed: the same announcement path as a status change."""
    signals.generation_moderated.send(sender=Generation, generation=generation, decision=decision)
    _record_webhooks(generation, "generation.moderated")
    _record_notifications(notifications.announce_moderation, generation=generation, decision=decision)


def _record_notifications(announce: Any, **kwargs: Any) -> None:
    # As with webhooks: rows only (e-mail goes out in a task), and a notification problem
    # must not break the change that already committed.
    try:
        announce(**kwargs)
    except Exception:
        logger.exception("could not record notifications for generation %s", kwargs["generation"].pk)


def _record_webhooks(generation: Generation, event_type: str) -> None:
    # The one place events become webhook deliveries. Rows only: sending happens in a
    # task of its own, never in the engine's thread; and a webhook problem must not
    # break the status change that already committed.
    try:
        webhooks.record_generation_event(generation=generation, event_type=event_type)
    except Exception:
        logger.exception("could not record %s webhooks for generation %s", event_type, generation.pk)


def record_event(generation: Generation, *, note: str, actor: User | None = None) -> None:
    """A history line that is not a status change (moderation, staff actions)."""
    GenerationEvent.objects.create(
        generation=generation, from_status=generation.status, to_status=generation.status, note=note[:2000],
        actor=actor,
    )
