"""Site staff's workflows: on one generation, which actions apply, and retry, re-mirror and refund; and the
limits staff set on a member or a team (the admin and ``gmi_quota``).

The admin's buttons and its single and bulk actions ask ``action_refusal`` / ``actions_for``, so a
button is offered exactly when the action would run. The services below keep their own
preconditions too (they guard against races); these are the same rules. Approve and reject are
``moderation.moderate_generation``; cancel is ``submissions.cancel_generation`` (owners cancel too).
"""
from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone

from .. import metrics
from ..exceptions import InvalidTransition
from ..models import Generation, Team, UserProfile
from ..selectors.quotas import charges_for
from ..types import User
from . import audit, mirroring, quota_alerts, quotas, shards
from .lifecycle import record_event, transition

S = Generation.Status
M = Generation.Moderation

ACTIONS: tuple[str, ...] = ("approve", "reject", "retry", "cancel", "remirror", "refund")


def _in_words(statuses: tuple[str, ...]) -> str:
    labels = [Generation.Status(s).label.lower() for s in statuses]
    return labels[0] if len(labels) == 1 else ", ".join(labels[:-1]) + " or " + labels[-1]


def action_refusal(generation: Generation, action: str) -> str | None:
    """Why ``action`` (one of ``ACTIONS``) does not apply to ``generation`` now, or None when it does."""
    if action == "approve":
        return "already approved" if generation.moderation == M.APPROVED else None
    if action == "reject":
        return "already rejected" if generation.moderation == M.REJECTED else None
    if action == "retry":
        return None if generation.status == S.FAILED else "only failed jobs can be retried"
    if action == "cancel":
        return None if generation.is_cancellable else f"only {_in_words(Generation.CANCELLABLE)} jobs can be cancelled"
    if action == "remirror":
        if generation.status != S.SUCCEEDED:
            return "only succeeded jobs can be re-mirrored"
        if not generation.outcome_video_url:
            # Without GMI's outcome URL the copy could only fail, and failing refunds the job.
            return "GMI's outcome URL is not known, so there is nothing to copy from"
        return None
    if action == "refund":
        return None if generation.is_terminal else "only ended jobs can be refunded (cancel it first)"
    raise ValueError(f"Unknown staff action {action!r}.")


def actions_for(generation: Generation) -> list[str]:
    """The ``ACTIONS`` that apply to ``generation`` now, in their order."""
    return [action for action in ACTIONS if action_refusal(generation, action) is None]


def retry_generation(*, generation: Generation, actor: User) -> Generation:
    """Send a failed job again as a new attempt, reserving its quota anew.

    Raises ``InvalidTransition`` unless the job is failed (and still failed when written),
    or ``QuotaExceeded`` when the owner's quota no longer has room (nothing changes then).
    """
    if generation.status != S.FAILED:
        raise InvalidTransition("Only failed generations can be retried.")
    with transaction.atomic():
        attempt = generation.attempt + 1
        if not transition(
            generation, S.QUEUED, actor=actor, note=f"Retried by staff (attempt {attempt})",
            attempt=attempt, error="", error_code="", upstream_request_id=None, upstream_status="",
            send_started_at=None, finished_at=None, next_check_at=None, poll_failures=0, mirror_attempts=0,
            mirror_started_at=None,
        ):
            raise InvalidTransition("The generation changed meanwhile; reload and try again.")
        charges = charges_for(
            user=generation.owner, team=generation.team, video_seconds=generation.video_seconds,
            credits=Decimal(generation.credits),
        )
        now = timezone.now()
        taken = quotas.reserve_generation(generation, charges, now=now)
        quota_alerts.announce_on_commit(generation, taken, now=now)
        transaction.on_commit(shards.request_dispatch)
    return generation


def remirror_generation(*, generation: Generation, actor: User) -> Generation:
    """Copy a succeeded job's files again (e.g. after storage loss); the earlier copy stays if this fails.

    Raises ``InvalidTransition`` when GMI's outcome URL is unknown or the job is no longer succeeded.
    """
    if not generation.outcome_video_url:
        # Without GMI's outcome URL the copy could only fail, and failing would refund the job.
        raise InvalidTransition("GMI's outcome URL is not known, so there is nothing to copy from.")
    if not transition(generation, S.MIRRORING, actor=actor, note="Re-mirror requested by staff",
                      mirror_started_at=None, mirror_attempts=0):
        raise InvalidTransition("The generation changed meanwhile; reload and try again.")
    mirroring.schedule_mirror(generation)
    return generation


def refund_usage(*, generation: Generation, actor: User) -> int:
    """Give an ended job's usage back (e.g. GMI's fault), exactly once like every refund.

    Returns the number of ledger rows refunded: 0 when the job was refunded already.
    Raises ``InvalidTransition`` for a job that has not ended (cancel it first).
    """
    if not generation.is_terminal:
        raise InvalidTransition("Only ended jobs can be refunded (cancel it first).")
    with transaction.atomic():
        refunded = quotas.refund_generation(generation, note=f"Refunded by staff ({actor})"[:200])
        if refunded:
            record_event(generation, note=f"Usage refunded by {actor}", actor=actor)
    return refunded


def set_user_limits(*, user: User, limits: dict[str, int | None]) -> UserProfile:
    """Override a user's limits; a None value clears the override (back to the site default)."""
    unknown = set(limits) - set(metrics.USER_METRICS)
    if unknown:
        raise ValueError(f"Unknown limits: {', '.join(sorted(unknown))}")
    profile, _ = UserProfile.objects.get_or_create(user=user)
    return _set_limits(profile, limits)


def set_team_limits(*, team: Team, limits: dict[str, int | None]) -> Team:
    """Set a team's pools; None clears the override (back to the site default)."""
    unknown = set(limits) - set(metrics.TEAM_METRICS)
    if unknown:
        raise ValueError(f"Teams have no {', '.join(sorted(unknown))} pool")
    return _set_limits(team, limits)


def _set_limits(target: Any, limits: dict[str, int | None]) -> Any:
    """Write ``limits`` on a profile or a team, and audit what they were before."""
    previous = {name: getattr(target, name) for name in limits}
    for name, value in limits.items():
        setattr(target, name, value)
    if limits:
        target.save(update_fields=list(limits))
        audit.record_quota_change(target=target, previous=previous, limits=limits)
    return target
