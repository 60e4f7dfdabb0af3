"""E-mailing recorded notifications from a task: at most one e-mail per member per gap, one notice
as it is or several combined into a digest, retried a few times when the send fails."""
from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.db.models import Exists, F, Min, OuterRef, QuerySet
from django.template.loader import select_template
from django.utils import timezone

from ...conf import app_settings
from ...models import Notification
from ...notification_kinds import EVERY_KIND, KINDS
from ...policies import notification_policy
from . import absolute, site_path
from .preferences import unsubscribe_url

logger = logging.getLogger("generations.notifications")

E = Notification.EmailStatus
#: At most this many notifications are listed in one combined e-mail (the rest are counted).
DIGEST_ITEMS = 50
#: Notifications claimed for one e-mail at most (a member's backlog beyond waits for the next).
EMAIL_BATCH = 1000
EMAIL_ATTEMPTS = 5


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
        "notifications_url": absolute(site_path("generations:notifications")),
        "preferences_url": absolute(site_path("generations:notification-preferences")),
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
