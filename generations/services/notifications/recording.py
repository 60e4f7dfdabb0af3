"""Recording notifications after an event committed: one row per recipient, as each one's preference
says; the e-mail goes out later (``delivery``)."""
from __future__ import annotations

from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.utils import timezone

from ... import metrics, permissions, reports, words
from ...conf import app_settings
from ...gmi.redaction import Redactor
from ...models import Generation, Notification, NotificationPreference, Team, WebhookEndpoint
from ...policies import NotificationEvent, notification_policy
from . import C, K, site_path

E = Notification.EmailStatus

#: The status a transition reaches → the kind it announces to the generation's owner.
STATUS_KINDS: dict[str, str] = {
    Generation.Status.SUCCEEDED: K.GENERATION_SUCCEEDED,
    Generation.Status.FAILED: K.GENERATION_FAILED,
}

@lru_cache(maxsize=4)
def _redactor(key: str) -> Redactor:
    return Redactor([key])


def notify(event: NotificationEvent, *, now: datetime | None = None) -> list[Notification]:
    """Record ``event`` for each recipient the policy names, as each one's preference says; never sends.

    Meant to run after the change committed, also in the engine's thread: one query for
    the preferences and one INSERT for all recipients, then ``policy.deliver`` (by default
    it asks for the e-mail task). A repeated event (same ``dedupe_key``) is recorded once
    per recipient, by a unique constraint. The GMI key is redacted from every text.
    Returns the rows recorded.
    """
    policy = notification_policy()
    recipients = list(dict.fromkeys(getattr(r, "pk", r) for r in policy.recipients_for(event)))
    if not recipients:
        return []
    now = now or timezone.now()
    preferences = policy.preferences_for(user_ids=recipients, kind=event.kind)
    redactor = _redactor(str(app_settings.API_KEY or ""))
    title = redactor.text(event.title)[:200]
    body = redactor.text(event.body)
    data = redactor.data(event.data)
    digest_due = now + timedelta(minutes=float(app_settings.NOTIFICATION_DIGEST_MINUTES))
    rows = []
    for user_id in recipients:
        channel, digest = preferences.get(user_id, (C.OFF, False))
        if channel not in (C.IN_APP, C.EMAIL):
            continue
        email = channel == C.EMAIL
        rows.append(Notification(
            recipient_id=user_id, kind=event.kind, title=title, body=body, link=event.link[:500],
            generation=event.generation, team=event.team, data=data, dedupe_key=event.dedupe_key[:200],
            created_at=now, email_status=E.PENDING if email else E.NONE,
            email_due_at=(digest_due if digest else now) if email else None,
        ))
    recorded = _insert_all(rows)
    if recorded:
        policy.deliver(recorded)
    return recorded


def _insert_all(rows: list[Notification]) -> list[Notification]:
    """``rows`` (one event's, for several recipients) in one INSERT; those recorded before are left out.

    Several rows go in a savepoint (or a transaction of their own after a commit), so a refused
    INSERT leaves a caller's transaction usable; a single row needs no transaction around it.
    """
    if len(rows) <= 1:
        return [row for row in rows if _insert(row)]
    if _bulk_insert(rows):
        return rows
    # The event was announced before, to some of them at least: the others still hear of it.
    told = set(Notification.objects.filter(dedupe_key=rows[0].dedupe_key, recipient_id__in=[
        row.recipient_id for row in rows]).values_list("recipient_id", flat=True))
    rows = [row for row in rows if row.recipient_id not in told]
    if len(rows) > 1 and _bulk_insert(rows):
        return rows
    return [row for row in rows if _insert(row)]  # one left, or announced at this moment elsewhere too


def _bulk_insert(rows: list[Notification]) -> bool:
    """Whether ``rows`` went in; False (nothing inserted) when the dedupe key refused one of them."""
    try:
        with transaction.atomic():
            Notification.objects.bulk_create(rows)
    except IntegrityError:
        if not rows[0].dedupe_key:
            raise
        for row in rows:
            row.pk = None  # a batch that went in before the refused one was rolled back with it
        return False
    return True


def _insert(row: Notification) -> bool:
    # After a commit (autocommit) a refused INSERT harms nothing; inside a transaction it needs
    # a savepoint, or it would break the caller's transaction.
    try:
        if row.dedupe_key and transaction.get_connection().in_atomic_block:
            with transaction.atomic():
                row.save(force_insert=True)
        else:
            row.save(force_insert=True)
    except IntegrityError:
        if not row.dedupe_key:
            raise
        return False  # recorded before: the same event announced again
    return True


def _excerpt(text: str, length: int = 120) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= length else text[: length - 1].rstrip() + "…"


def announce_status(*, generation: Generation, status: str) -> list[Notification]:
    """After a status change committed: tell the owner their video is ready, or that the job failed and why."""
    kind = STATUS_KINDS.get(status)
    if kind is None:
        return []
    what = f"“{_excerpt(generation.prompt)}” ({generation.model_id})" if generation.prompt else generation.model_id
    data: dict[str, Any] = {"status": status, "model": generation.model_id}
    if kind == K.GENERATION_SUCCEEDED:
        title, body = "Your video is ready", f"{what} has finished."
    else:
        # Plain words from the error code (GMI's own text, which may carry signed URLs, stays with staff).
        reason = words.failure_words(generation)
        title, body = "Your video could not be made", f"{what} failed. {reason}"
        data.update(error=reason, error_code=generation.error_code)
    return notify(NotificationEvent(
        kind=kind, title=title, body=body, link=site_path("generations:detail", generation.pk), generation=generation,
        data=data, dedupe_key=f"{kind}:{generation.pk}:{generation.attempt}",
    ))


def announce_moderation(*, generation: Generation, decision: str) -> list[Notification]:
    """After a moderation decision committed: a rejected video's owner is told that it was removed, and why."""
    if decision != "reject":
        return []
    reason = generation.moderation_reason or "No reason was given."
    return notify(NotificationEvent(
        kind=K.GENERATION_REMOVED, title="Your video was removed",
        body=f"Staff removed “{_excerpt(generation.prompt)}”: {reason}",
        link=site_path("generations:detail", generation.pk), generation=generation, data={"reason": reason},
        dedupe_key=f"{K.GENERATION_REMOVED}:{generation.pk}",
    ))


def announce_quota_threshold(*, generation: Generation | None, quota: dict[str, Any],
                             team: Team | None = None) -> list[Notification]:
    """A quota crossed a threshold (``quota_alerts`` announces each once per period and subject).

    ``quota`` is the object of the ``quota.threshold`` webhook body (metric, limit, used,
    percent, threshold, period, scope); a team's pool alerts the team's owners and admins.
    """
    metric = quota["metric"]
    label, unit = metrics.label(metric).lower(), metrics.unit(metric)
    amount = f"{_number(quota['used'])} of {_number(quota['limit'])} {unit}".strip()
    if int(quota["threshold"]) >= 100:
        title = f"Quota reached: {label}" if team is None else f"{team.name}: pool reached ({label})"
        consequence = "New jobs that need it are refused until it resets."
    else:
        title = (f"{quota['threshold']} % of your quota used: {label}" if team is None
                 else f"{team.name}: {quota['threshold']} % of the pool used ({label})")
        consequence = "New jobs are still accepted."
    resets = quota.get("resets_at")
    when = f" It resets on {resets[:10]}." if resets else ""
    whose = f"{team.name}'s pool, {label}" if team is not None else metrics.label(metric)
    during = f"on {quota['period']}" if len(str(quota["period"])) == 10 else f"in {quota['period']}"
    body = f"{whose}: {amount} used {during}. {consequence}{when}"
    link = site_path("generations:team", team.slug) if team is not None else site_path("generations:usage")
    subject = f"team:{team.pk}" if team is not None else f"user:{generation.owner_id if generation else ''}"
    return notify(NotificationEvent(
        # A pool's alert is about the pool: the job that crossed it may be a member's private one.
        kind=K.QUOTA_THRESHOLD, title=title, body=body, link=link, generation=generation if team is None else None,
        team=team,
        user_id=generation.owner_id if team is None and generation is not None else None, data={"quota": quota},
        dedupe_key=f"quota:{subject}:{metric}:{quota['period']}:{quota['threshold']}",
    ))


def announce_files_expiring(*, owner_id: Any, count: int, removed_on: datetime, days: int,
                            batch: str) -> list[Notification]:
    """Retention will delete the files of ``count`` of a member's videos from ``removed_on`` (once per ``batch``)."""
    videos = "1 video" if count == 1 else f"{count} videos"
    return notify(NotificationEvent(
        kind=K.FILES_EXPIRING, title=f"Files of {videos} will be removed on {removed_on.date().isoformat()}",
        body=f"This site keeps the files of finished videos for {days} days. The files of {videos} of yours "
             f"will be deleted from {removed_on.date().isoformat()}; their pages and history stay. Download them, "
             "or mark a video “keep” to spare it.",
        link=site_path("generations:gallery"), user_id=owner_id,
        data={"count": count, "removed_on": removed_on.isoformat(), "days": days},
        dedupe_key=f"{K.FILES_EXPIRING}:{batch}",
    ))


def announce_webhook_disabled(*, endpoint: WebhookEndpoint, now: datetime | None = None) -> list[Notification]:
    """An endpoint was disabled (410, or failing for days): its owner is told why, or for a team's
    endpoint the team's current owners and admins (its creator may no longer be one)."""
    now = now or timezone.now()
    return notify(NotificationEvent(
        kind=K.WEBHOOK_DISABLED, title="Your webhook was disabled",
        body=f"Deliveries to {endpoint.url} have stopped: {endpoint.disabled_reason} Once the receiver answers "
             "again, enable the endpoint on its page.",
        link=site_path("generations:webhook", endpoint.pk), team=endpoint.team,
        user_id=endpoint.owner_id if endpoint.team_id is None else None,
        data={"endpoint": str(endpoint.pk), "url": endpoint.url, "reason": endpoint.disabled_reason},
        dedupe_key=f"{K.WEBHOOK_DISABLED}:{endpoint.pk}:{now.isoformat()}",
    ), now=now)


def _number(value: Any) -> str:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return str(value)
    return f"{int(number):,}" if number.is_integer() else f"{number:,.2f}".rstrip("0").rstrip(".")


def record_daily_summaries(*, now: datetime | None = None) -> int:
    """The staff's daily summary (jobs, failures, spend of the last 24 h) for each staff member who opted in.

    Only active staff the admin lets read generations receive it; once per staff member and
    day, however often the schedule runs. Returns how many were recorded.
    """
    now = now or timezone.now()
    # Who is staff is asked of the permission rule, not of user fields a host's user model may lack.
    opted_in = NotificationPreference.objects.filter(kind=K.DAILY_SUMMARY, channel=C.EMAIL).select_related("user")
    staff = [p.user for p in opted_in if permissions.can_view_any_generation(p.user)]
    if not staff:
        return 0
    summary = reports.last_day_summary(now=now)
    day = timezone.localdate(now).isoformat()
    title = (f"Daily summary {day}: {summary['jobs']} jobs, {summary['failed']} failed, "
             f"{_number(summary['credits'])} credits")
    body = (f"In the last 24 hours: {summary['jobs']} jobs from {summary['users']} members, {summary['succeeded']} "
            f"succeeded, {summary['failed']} failed, {summary['cancelled']} cancelled, {summary['running']} still "
            f"running; {_number(summary['credits'])} credits and {summary['video_seconds']} seconds of video.")
    recorded = 0
    for user in staff:
        recorded += len(notify(NotificationEvent(
            kind=K.DAILY_SUMMARY, title=title, body=body, link=site_path("admin:generations_usage"), user_id=user.pk,
            data={"summary": summary}, dedupe_key=f"{K.DAILY_SUMMARY}:{day}",
        ), now=now))
    return recorded


def announce_catalogue_held_back(*, count: int, cap: int, examples: list[str],
                                 now: datetime | None = None) -> list[Notification]:
    """A sync stored ``count`` new models disabled (``CATALOGUE_MAX_ENABLED_MODELS`` reached): the active
    staff who may change the catalogue are told, once per day."""
    now = now or timezone.now()
    User = get_user_model()
    staff = [u.pk for u in User.objects.filter(is_active=True, is_staff=True) if permissions.can_change_catalogue(u)]
    if not staff:
        return []
    day = timezone.localdate(now).isoformat()
    names = ", ".join(examples[:5]) + (" ..." if count > 5 else "")
    recorded: list[Notification] = []
    for user_id in staff:
        recorded += notify(NotificationEvent(
            kind=K.CATALOGUE_HELD_BACK, title=f"{count} new models were stored disabled",
            body=f"{cap} models are enabled already, the most a sync leaves enabled. New ones ({names}) wait "
                 "in the admin until staff enable them.",
            link=site_path("admin:generations_videomodel_changelist"), user_id=user_id,
            data={"count": count, "cap": cap, "examples": examples}, dedupe_key=f"{K.CATALOGUE_HELD_BACK}:{day}",
        ), now=now)
    return recorded
