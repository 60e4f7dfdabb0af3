"""Notifications: recorded after events (rows only), e-mailed by a task (one, combined or as a digest), preferences,
signed unsubscribe links and the staff's daily summary."""
from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from django.contrib.auth import get_user_model
from django.core import signing
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, transaction
from django.db.models import Exists, F, Min, OuterRef, QuerySet
from django.template.loader import select_template
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from .. import metrics, permissions, reports, words
from ..conf import app_settings
from ..exceptions import InvalidInput
from ..gmi.redaction import Redactor
from ..models import Generation, Notification, NotificationPreference, Team, WebhookEndpoint
from ..policies import NotificationEvent, notification_policy
from ..types import User

logger = logging.getLogger("generations.notifications")

K = Notification.Kind
C = NotificationPreference.Channel
E = Notification.EmailStatus
ALL_CHANNELS: tuple[str, ...] = (C.OFF, C.IN_APP, C.EMAIL)


@dataclass(frozen=True)
class KindInfo:
    label: str
    help: str
    channels: tuple[str, ...] = ALL_CHANNELS
    staff_only: bool = False


#: Every kind a member may hear of, as the preferences page and the API describe it.
KINDS: dict[str, KindInfo] = {
    K.GENERATION_SUCCEEDED: KindInfo("Video ready", "One of your videos has finished and can be played."),
    K.GENERATION_FAILED: KindInfo("Job failed", "One of your jobs failed; the notice says why."),
    K.GENERATION_REMOVED: KindInfo("Video removed", "Staff removed one of your videos; the notice says why."),
    K.QUOTA_THRESHOLD: KindInfo("Quota alerts", "One of your quotas, or a pool of a team you run, reached 80 % or "
                                "100 % (once per threshold and period)."),
    K.WEBHOOK_DISABLED: KindInfo("Webhook disabled", "A webhook of yours was disabled after failing."),
    K.FILES_EXPIRING: KindInfo("Files to be removed", "The files of some of your videos will be deleted soon "
                               "under the site's retention (keep a video to spare it)."),
    K.DAILY_SUMMARY: KindInfo("Daily summary", "Jobs, failures and spend of the whole site over the last 24 hours.",
                              channels=(C.OFF, C.EMAIL), staff_only=True),
    K.CATALOGUE_HELD_BACK: KindInfo("New models held back", "A catalogue sync stored new models disabled because "
                                    "the most models allowed are enabled already.", staff_only=True),
}
#: The status a transition reaches → the kind it announces to the generation's owner.
STATUS_KINDS: dict[str, str] = {
    Generation.Status.SUCCEEDED: K.GENERATION_SUCCEEDED,
    Generation.Status.FAILED: K.GENERATION_FAILED,
}
#: At most this many notifications are listed in one combined e-mail (the rest are counted).
DIGEST_ITEMS = 50
#: Notifications claimed for one e-mail at most (a member's backlog beyond waits for the next).
EMAIL_BATCH = 1000
EMAIL_ATTEMPTS = 5
UNSUBSCRIBE_SALT = "generations.notifications.unsubscribe"
#: Signs the kinds an unsubscribe changed, for its page's Undo and "turn off entirely".
UNSUBSCRIBE_CHANGES_SALT = "generations.notifications.unsubscribe.changes"
#: How long that page's Undo stays valid: a page kept or copied cannot subscribe anyone later.
UNSUBSCRIBE_UNDO_MAX_AGE = timedelta(days=7)
#: An unsubscribe token naming this kind stands for every kind (combined e-mails).
EVERY_KIND = "all"


@lru_cache(maxsize=4)
def _redactor(key: str) -> Redactor:
    return Redactor([key])


def _path(name: str, *args: Any) -> str:
    try:
        return reverse(name, args=args or None)
    except NoReverseMatch:  # a host that mounts the app without this page
        return ""


def absolute(path: str) -> str:
    """A path on this site as an absolute URL (``SITE_URL``): e-mails have no request to build one from."""
    if not path or path.startswith(("http://", "https://")):
        return path
    return str(app_settings.SITE_URL).rstrip("/") + path


# --------------------------------------------------------------------------- recording


def notify(event: NotificationEvent, *, now: datetime | None = None) -> list[Notification]:
    """Record ``event`` for each recipient the policy names, as each one's preference says; never sends.

    Meant to run after the change committed, also in the engine's thread: one query for
    the preferences and one INSERT per recipient, then ``policy.deliver`` (by default it
    asks for the e-mail task). A repeated event (same ``dedupe_key``) is recorded once
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
    recorded = []
    for user_id in recipients:
        channel, digest = preferences.get(user_id, (C.OFF, False))
        if channel not in (C.IN_APP, C.EMAIL):
            continue
        email = channel == C.EMAIL
        row = Notification(
            recipient_id=user_id, kind=event.kind, title=title, body=body, link=event.link[:500],
            generation=event.generation, team=event.team, data=data, dedupe_key=event.dedupe_key[:200],
            created_at=now, email_status=E.PENDING if email else E.NONE,
            email_due_at=(digest_due if digest else now) if email else None,
        )
        if _insert(row):
            recorded.append(row)
    if recorded:
        policy.deliver(recorded)
    return recorded


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
        kind=kind, title=title, body=body, link=_path("generations:detail", generation.pk), generation=generation,
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
        link=_path("generations:detail", generation.pk), generation=generation, data={"reason": reason},
        dedupe_key=f"{K.GENERATION_REMOVED}:{generation.pk}",
    ))


def announce_quota_threshold(*, generation: Generation | None, quota: dict[str, Any],
                             team: Team | None = None) -> list[Notification]:
    """A quota crossed a threshold (``quotas`` announces each once per period and subject).

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
    link = _path("generations:team", team.slug) if team is not None else _path("generations:usage")
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
        link=_path("generations:gallery"), user_id=owner_id,
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
        link=_path("generations:webhook", endpoint.pk), team=endpoint.team,
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
            kind=K.DAILY_SUMMARY, title=title, body=body, link=_path("admin:generations_usage"), user_id=user.pk,
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
            link=_path("admin:generations_videomodel_changelist"), user_id=user_id,
            data={"count": count, "cap": cap, "examples": examples}, dedupe_key=f"{K.CATALOGUE_HELD_BACK}:{day}",
        ), now=now)
    return recorded


# --------------------------------------------------------------------------- reading, marking read


def mark_read(*, user: User, ids: Iterable[int] | None = None, now: datetime | None = None) -> int:
    """Mark the member's notifications read: those of ``ids`` (others' ids are ignored), or all. Returns how many."""
    qs = Notification.objects.filter(recipient=user, read_at__isnull=True)
    if ids is not None:
        qs = qs.filter(pk__in=list(ids))
    return qs.update(read_at=now or timezone.now())


def open_notification(*, user: User, notification_id: int) -> Notification | None:
    """The member's notification (None for anyone else's), marked read."""
    notification = Notification.objects.filter(recipient=user, pk=notification_id).first()
    if notification is not None and notification.read_at is None:
        notification.read_at = timezone.now()
        Notification.objects.filter(pk=notification.pk, read_at__isnull=True).update(read_at=notification.read_at)
    return notification


# --------------------------------------------------------------------------- preferences


def kinds_for(user: User) -> list[str]:
    """The kinds ``user`` may choose for (the daily summary only for staff who may read every generation)."""
    staff = permissions.can_view_any_generation(user)
    return [kind for kind, info in KINDS.items() if staff or not info.staff_only]


def preferences_of(user: User) -> list[dict[str, Any]]:
    """Each kind the member may choose for, with their choice (or the default) and the channels offered."""
    chosen = {p.kind: p for p in NotificationPreference.objects.filter(user=user)}
    rows = []
    for kind in kinds_for(user):
        info = KINDS[kind]
        pref = chosen.get(kind)
        channel = pref.channel if pref else str(app_settings.NOTIFICATION_DEFAULTS.get(kind, C.IN_APP))
        rows.append({"kind": kind, "label": info.label, "help": info.help, "channel": channel,
                     "digest": pref.digest if pref else False, "channels": list(info.channels)})
    return rows


def set_preferences(*, user: User, choices: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """Save the member's choices ``{kind: {"channel"?, "digest"?}}`` (kinds left out keep theirs), in one query.

    Raises ``InvalidInput`` for an unknown kind, a kind the member may not choose for, or a
    channel that kind does not offer.
    """
    allowed = kinds_for(user)
    current = {row["kind"]: row for row in preferences_of(user)}
    errors: dict[str, list[str]] = {}
    rows = []
    for kind, choice in choices.items():
        if kind not in allowed:
            errors[kind] = [f"Unknown notification kind. Known: {', '.join(allowed)}."]
            continue
        channel = choice.get("channel", current[kind]["channel"])
        if channel not in KINDS[kind].channels:
            errors[kind] = [f"Choose one of: {', '.join(KINDS[kind].channels)}."]
            continue
        digest = bool(choice.get("digest", current[kind]["digest"]))
        rows.append(NotificationPreference(user=user, kind=kind, channel=channel, digest=digest))
    if errors:
        raise InvalidInput(errors)
    if rows:
        NotificationPreference.objects.bulk_create(rows, update_conflicts=True, unique_fields=["user", "kind"],
                                                   update_fields=["channel", "digest", "updated_at"])
    return preferences_of(user)


def unsubscribe_token(*, user_id: Any, kind: str) -> str:
    """A signed token for the unsubscribe link of ``kind`` (or ``"all"``) in a member's e-mails."""
    return signing.dumps({"u": user_id, "k": kind}, salt=UNSUBSCRIBE_SALT, compress=True)


def unsubscribe_url(*, user_id: Any, kind: str) -> str:
    path = _path("generations:notification-unsubscribe", unsubscribe_token(user_id=user_id, kind=kind))
    return absolute(path)


@dataclass(frozen=True)
class Unsubscription:
    """What an unsubscribe link names, and what a step on its page changed."""

    user: Any
    #: The kinds the link names (for ``"all"``: every kind the member may choose for).
    kinds: list[str]
    #: The kinds the link changed, which the page's Undo and "turn off entirely" act on.
    changed: list[str]
    #: Where those kinds are now: ``in_app`` (e-mails stopped; a kind without a bell goes off), ``off`` or ``email``.
    channel: str
    #: ``changed``, signed for the page's forms (``UNSUBSCRIBE_CHANGES_SALT``, valid ``UNSUBSCRIBE_UNDO_MAX_AGE``).
    changes: str


def _invalid_link() -> InvalidInput:
    return InvalidInput({"token": ["This unsubscribe link is not valid."]})


def read_unsubscribe_token(*, token: str) -> tuple[Any, list[str]]:
    """The member and the kinds an unsubscribe token names; changes nothing. Raises ``InvalidInput``,
    also for a link older than ``UNSUBSCRIBE_LINK_DAYS`` (a forwarded or leaked e-mail does not
    keep working for ever)."""
    days = int(app_settings.UNSUBSCRIBE_LINK_DAYS)
    try:
        value = signing.loads(token, salt=UNSUBSCRIBE_SALT, max_age=timedelta(days=days))
    except signing.SignatureExpired:
        raise InvalidInput({"token": [f"This unsubscribe link has expired: links in our e-mails work for {days} "
                                      "days. Choose what you are e-mailed about on the notification settings "
                                      "page (after signing in)."]}) from None
    except signing.BadSignature:
        raise _invalid_link() from None
    if not isinstance(value, dict):
        raise _invalid_link()
    user_id, kind = value.get("u"), value.get("k")
    user = get_user_model().objects.filter(pk=user_id).first() if isinstance(user_id, (int, str)) else None
    if user is None or (kind != EVERY_KIND and kind not in KINDS):
        raise _invalid_link()
    return user, kinds_for(user) if kind == EVERY_KIND else [kind]


def unsubscribe(*, token: str) -> Unsubscription:
    """Apply an unsubscribe link (the page's button, or a mail client's one-click POST): of the kinds it
    names, those that come by e-mail stop (in-app; off for a kind without a bell, the staff's summary).

    Works without a session: the signature is the authority. Kinds that are off or in-app are
    left as they are, and only the kinds changed are carried (signed) to the page's Undo.
    Raises ``InvalidInput`` for a token that does not verify.
    """
    user, kinds = read_unsubscribe_token(token=token)
    current = {row["kind"]: row["channel"] for row in preferences_of(user)}
    changed = [k for k in kinds if current.get(k) == C.EMAIL]
    if changed:
        set_preferences(user=user, choices={
            k: {"channel": C.IN_APP if C.IN_APP in KINDS[k].channels else C.OFF} for k in changed})
    changes = signing.dumps({"u": user.pk, "k": changed}, salt=UNSUBSCRIBE_CHANGES_SALT, compress=True)
    return Unsubscription(user=user, kinds=kinds, changed=changed, channel=C.IN_APP, changes=changes)


def revise_unsubscribe(*, token: str, changes: str, channel: str) -> Unsubscription:
    """The unsubscribe page's second step: the kinds the link changed go off entirely (``channel`` off),
    or come by e-mail again (``email``, Undo).

    ``changes`` is the signed value ``unsubscribe`` returned: only those kinds change, only for
    the member the link names, and only within ``UNSUBSCRIBE_UNDO_MAX_AGE`` of the unsubscribe,
    so a page kept or copied cannot subscribe anyone to e-mails later. Raises ``InvalidInput``.
    """
    user, kinds = read_unsubscribe_token(token=token)
    if channel not in (C.OFF, C.EMAIL):
        raise InvalidInput({"channel": [f"Choose one of: {C.OFF}, {C.EMAIL}."]})
    try:
        value = signing.loads(changes, salt=UNSUBSCRIBE_CHANGES_SALT, max_age=UNSUBSCRIBE_UNDO_MAX_AGE)
    except signing.SignatureExpired:
        raise InvalidInput({"changes": ["This page has expired: choose on the notification settings page "
                                        "(after signing in)."]}) from None
    except signing.BadSignature:
        raise _invalid_link() from None
    if not isinstance(value, dict) or str(value.get("u")) != str(user.pk) or not isinstance(value.get("k"), list):
        raise _invalid_link()
    allowed = kinds_for(user)
    changed = [k for k in kinds if k in value["k"] and k in allowed and channel in KINDS[k].channels]
    if changed:
        set_preferences(user=user, choices={k: {"channel": channel} for k in changed})
    return Unsubscription(user=user, kinds=kinds, changed=changed, channel=channel, changes=changes)


# --------------------------------------------------------------------------- e-mail


def send_pending_emails(*, now: datetime | None = None, limit: int = 200) -> dict[str, int]:
    """Send the notification e-mails that are due: at most one e-mail per member per run and per
    ``NOTIFICATION_EMAIL_GAP_SECONDS``, so a burst never becomes a storm.

    A member is e-mailed when one of their pending notifications is due (at once, or at the
    end of their digest window); that e-mail carries every notification of theirs still
    pending, one as it is, several combined into one digest. Members are picked in SQL, the
    longest waiting first (one member's backlog never holds up the others). Each batch is
    claimed under a lock on the member, after asking again whether they were e-mailed within
    the gap, by a conditional update: two runners never send the same notification, nor one
    member two e-mails within the gap. A failing send is retried a few times, later.
    ``waiting`` counts members found e-mailed within the gap at the claim.
    """
    now = now or timezone.now()
    gap = now - timedelta(seconds=float(app_settings.NOTIFICATION_EMAIL_GAP_SECONDS))
    due = Notification.objects.filter(email_status=E.PENDING, email_due_at__lte=now)
    # Distinct members in SQL, those e-mailed within the gap left out, the longest waiting first:
    # one member's backlog, however long, takes one place in the run, not the whole window.
    recent = _emailed_since(gap).filter(recipient_id=OuterRef("recipient_id"))
    recipients = list(
        due.order_by().exclude(Exists(recent)).values("recipient_id").annotate(first=Min("email_due_at"))
        .order_by("first", "recipient_id").values_list("recipient_id", flat=True)[:limit])
    counts = {"emails": 0, "notifications": 0, "waiting": 0, "failed": 0, "skipped": 0}
    if not recipients:
        return counts
    policy = notification_policy()
    for user_id in recipients:
        claimed = _claim(user_id, now=now, gap=gap)
        if claimed is None:
            counts["waiting"] += 1
            continue
        user, rows = claimed
        if not rows:
            continue
        address = _address(user) if user is not None else ""
        if not address:
            Notification.objects.filter(pk__in=[r.pk for r in rows]).update(email_status=E.SKIPPED)
            counts["skipped"] += len(rows)
            continue
        try:
            policy.send_email(build_email(user=user, address=address, notifications=rows))
        except Exception:
            logger.exception("could not e-mail %s notifications to user %s", len(rows), user_id)
            _give_back(rows, now=now)
            counts["failed"] += len(rows)
            continue
        counts["emails"] += 1
        counts["notifications"] += len(rows)
    return counts


def _emailed_since(gap: datetime) -> QuerySet[Notification]:
    """Notifications e-mailed after ``gap``: a member with one waits before the next e-mail."""
    return Notification.objects.filter(email_status=E.SENT, emailed_at__gt=gap)


def _claim(user_id: Any, *, now: datetime, gap: datetime) -> tuple[Any, list[Notification]] | None:
    # Per member, in one transaction: lock the member's row, ask again whether they were e-mailed
    # within the gap, then claim. Two runners that both picked this member queue on the lock, and
    # the second sees the first's claim (None: the member waits for the gap).
    with transaction.atomic():
        user = get_user_model().objects.select_for_update().filter(pk=user_id).first()
        if _emailed_since(gap).filter(recipient_id=user_id).exists():
            return None
        ids = list(Notification.objects.filter(recipient_id=user_id, email_status=E.PENDING)
                   .order_by("created_at", "id").values_list("pk", flat=True)[:EMAIL_BATCH])
        if not ids:
            return user, []
        token = uuid.uuid4().hex
        Notification.objects.filter(pk__in=ids, email_status=E.PENDING).update(
            email_status=E.SENT, email_batch=token, emailed_at=now, email_attempts=F("email_attempts") + 1)
    return user, list(Notification.objects.filter(pk__in=ids, email_batch=token).order_by("created_at", "id"))


def _give_back(rows: list[Notification], *, now: datetime) -> None:
    # Tried again later (5, 10, 15 ... minutes); after EMAIL_ATTEMPTS the notification stays in the bell only.
    for row in rows:
        if row.email_attempts >= EMAIL_ATTEMPTS:
            Notification.objects.filter(pk=row.pk).update(email_status=E.FAILED, email_batch="")
        else:
            Notification.objects.filter(pk=row.pk).update(
                email_status=E.PENDING, email_batch="", emailed_at=None,
                email_due_at=now + timedelta(minutes=5 * row.email_attempts))


def _address(user: Any) -> str:
    if not getattr(user, "is_active", True):
        return ""
    field = user.get_email_field_name() if hasattr(user, "get_email_field_name") else "email"
    return str(getattr(user, field, "") or "")


def build_email(*, user: Any, address: str, notifications: list[Notification]) -> EmailMultiAlternatives:
    """One e-mail (text and HTML) for ``notifications`` of one member: a single one, or a digest of several."""
    kinds = list(dict.fromkeys(n.kind for n in notifications))
    unsubscribe_kind = kinds[0] if len(kinds) == 1 else EVERY_KIND
    items = [{
        "notification": n, "url": absolute(n.link), "kind_label": KINDS[n.kind].label if n.kind in KINDS else n.kind,
    } for n in notifications[:DIGEST_ITEMS]]
    context = {
        "user": user, "site_url": str(app_settings.SITE_URL).rstrip("/"), "items": items,
        "notification": notifications[0], "url": absolute(notifications[0].link),
        "more": max(0, len(notifications) - DIGEST_ITEMS), "count": len(notifications),
        "notifications_url": absolute(_path("generations:notifications")),
        "preferences_url": absolute(_path("generations:notification-preferences")),
        "unsubscribe": [{"label": KINDS[k].label if k in KINDS else k, "url": unsubscribe_url(user_id=user.pk, kind=k)}
                        for k in kinds],
        "unsubscribe_url": unsubscribe_url(user_id=user.pk, kind=unsubscribe_kind),
        "unsubscribe_all_url": unsubscribe_url(user_id=user.pk, kind=EVERY_KIND),
    }
    if len(notifications) == 1:
        one = notifications[0]
        names = [f"generations/email/{one.kind}", "generations/email/notification"]
        subject = one.title
    else:
        names = ["generations/email/digest"]
        subject = f"{len(notifications)} updates from the Video Portal"
    text = select_template([f"{n}.txt" for n in names]).render(context)
    html = select_template([f"{n}.html" for n in names]).render(context)
    message = EmailMultiAlternatives(
        subject=" ".join(subject.split())[:200], body=text,
        from_email=app_settings.NOTIFICATION_FROM_EMAIL or None, to=[address],
        headers={
            # RFC 8058: mail clients offer "unsubscribe" and POST to the link, without a log-in.
            "List-Unsubscribe": f"<{context['unsubscribe_url']}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            "Auto-Submitted": "auto-generated",
        },
    )
    message.attach_alternative(html, "text/html")
    return message

