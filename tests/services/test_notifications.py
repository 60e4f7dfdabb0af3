"""Notifications: recorded after status changes, quota thresholds and disabled webhooks; e-mailed through
Django's outbox, one at a time, combined or as a digest, never a storm; preferences and signed unsubscribe links."""
from __future__ import annotations

import threading
import time
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core import mail, signing
from django.db import connection
from django.utils import timezone

from generations import notification_kinds
from generations.exceptions import InvalidInput
from generations.models import (
    Generation,
    Membership,
    Notification,
    NotificationPreference,
    QuotaAlert,
    UserProfile,
    WebhookDelivery,
    WebhookEndpoint,
)
from generations.policies import NotificationPolicy
from generations.selectors import notifications as notification_reads
from generations.selectors import quotas as quota_reads
from generations.services import moderation, quota_alerts, submissions
from generations.services.lifecycle import transition
from generations.services.notifications import delivery as notification_delivery
from generations.services.notifications import inbox as notification_inbox
from generations.services.notifications import preferences as notification_preferences
from generations.services.notifications import recording as notification_recording
from generations.services.webhooks import delivery as webhook_delivery
from generations.services.webhooks import signing as webhook_signing
from tests.helpers.factories import GenerationFactory, MembershipFactory, TeamFactory, UserFactory, VideoModelFactory
from tests.helpers.settings import TEST_API_KEY, override_generations
from tests.helpers.threads import run_concurrently

S = Generation.Status
K = Notification.Kind
PAYLOAD = {"prompt": "a lighthouse in a storm", "durationSeconds": 4}

pytestmark = pytest.mark.django_db


def run_after_commit() -> None:
    """Run what was registered for after commit, as a commit would (a test's transaction never commits)."""
    while connection.run_on_commit:
        _, callback, _ = connection.run_on_commit.pop(0)
        callback()


def finish(generation: Generation) -> None:
    for status in (S.DISPATCHED, S.PROCESSING, S.MIRRORING, S.SUCCEEDED):
        assert transition(generation, status)


def prefer(user, kind, channel, *, digest=False):
    NotificationPreference.objects.update_or_create(user=user, kind=kind,
                                                    defaults={"channel": channel, "digest": digest})


def endpoint(user, *events, team=None):
    # Made directly: registering checks the target's address, and no name resolves here.
    return WebhookEndpoint.objects.create(owner=user, team=team, url="https://hooks.example.com/in",
                                          events=list(events), secret=webhook_signing.new_secret())


def submit(user, **kwargs):
    return submissions.submit_generation(user=user, model_id="Veo3", payload=dict(PAYLOAD), **kwargs)


@pytest.fixture
def veo(db):
    return VideoModelFactory(id="Veo3", price_credits=Decimal("10"))


# --------------------------------------------------------------------------- status changes


def test_a_finished_video_tells_its_owner_in_the_bell_and_by_one_email(user, settings):
    settings.GENERATIONS = {**settings.GENERATIONS, "SITE_URL": "https://portal.example.com"}
    generation = GenerationFactory(owner=user, prompt="a red kite over green hills")
    finish(generation)
    run_after_commit()

    notice = Notification.objects.get(recipient=user)
    assert (notice.kind, notice.title, notice.read_at) == (K.GENERATION_SUCCEEDED, "Your video is ready", None)
    assert "a red kite over green hills" in notice.body
    assert notice.link == f"/generations/{generation.pk}/" and notice.generation_id == generation.pk
    assert notice.email_status == "pending"
    assert mail.outbox == []  # rows only: e-mail goes out in the task

    assert notification_delivery.send_pending_emails()["emails"] == 1
    [message] = mail.outbox
    assert message.to == [user.email] and message.subject == "Your video is ready"
    assert f"https://portal.example.com/generations/{generation.pk}/" in message.body
    html, mimetype = message.alternatives[0]
    assert mimetype == "text/html" and f"https://portal.example.com/generations/{generation.pk}/" in html
    unsubscribe = message.extra_headers["List-Unsubscribe"].strip("<>")
    assert unsubscribe.startswith("https://portal.example.com/notifications/unsubscribe/")
    assert unsubscribe in message.body
    assert message.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    notice.refresh_from_db()
    assert notice.email_status == "sent"
    assert notification_delivery.send_pending_emails()["emails"] == 0  # nothing twice


def test_a_failed_job_email_carries_the_reason(user):
    generation = GenerationFactory(owner=user)
    transition(generation, S.FAILED, error="The prompt was refused by the content policy.", error_code="content_policy")
    run_after_commit()

    notice = Notification.objects.get(recipient=user, kind=K.GENERATION_FAILED)
    assert "refused this prompt under its content policy" in notice.body  # the reason in words
    assert notice.data["error_code"] == "content_policy"
    notification_delivery.send_pending_emails()
    assert "refused this prompt under its content policy" in mail.outbox[0].body


def test_the_gmi_key_never_appears_in_a_notification_or_an_email(user, settings):
    settings.GENERATIONS = {**settings.GENERATIONS, "API_KEY": TEST_API_KEY}
    generation = GenerationFactory(owner=user, prompt=f"leak {TEST_API_KEY}")
    transition(generation, S.FAILED, error=f"upstream said: bad key {TEST_API_KEY.upper()}")
    run_after_commit()
    notification_delivery.send_pending_emails()

    notice = Notification.objects.get(recipient=user)
    stored = f"{notice.title} {notice.body} {notice.data}"
    message = mail.outbox[0]
    sent = message.subject + message.body + message.alternatives[0][0] + str(message.extra_headers)
    for text in (stored, sent):
        assert TEST_API_KEY.lower() not in text.lower()
    assert "[redacted]" in notice.body


def test_in_app_only_records_no_email_and_off_records_nothing(user, other_user):
    prefer(user, K.GENERATION_SUCCEEDED, "in_app")
    prefer(other_user, K.GENERATION_SUCCEEDED, "off")
    finish(GenerationFactory(owner=user))
    finish(GenerationFactory(owner=other_user))
    run_after_commit()

    assert Notification.objects.get(recipient=user).email_status == ""
    assert not Notification.objects.filter(recipient=other_user).exists()
    assert notification_delivery.send_pending_emails()["emails"] == 0 and mail.outbox == []


def test_a_staff_remirror_does_not_announce_the_same_video_twice(user):
    generation = GenerationFactory(owner=user)
    finish(generation)
    transition(generation, S.MIRRORING)
    transition(generation, S.SUCCEEDED)
    run_after_commit()
    assert Notification.objects.filter(recipient=user, kind=K.GENERATION_SUCCEEDED).count() == 1


def test_a_rejected_video_tells_its_owner_why(user, staff_user):
    generation = GenerationFactory(owner=user, succeeded=True)
    moderation.moderate_generation(generation=generation, moderator=staff_user, decision="approve")
    moderation.moderate_generation(generation=generation, moderator=staff_user, decision="reject",
                                   reason="Shows a real person without consent.")
    run_after_commit()
    notice = Notification.objects.get(recipient=user)
    assert notice.kind == K.GENERATION_REMOVED and "without consent" in notice.body


class ExplodingPolicy(NotificationPolicy):
    def recipients_for(self, event):
        raise RuntimeError("the notification system is down")


def test_a_failing_notification_never_breaks_the_status_change(user):
    endpoint(user, "generation.succeeded")
    generation = GenerationFactory(owner=user)
    with override_generations(NOTIFICATION_POLICY="tests.services.test_notifications.ExplodingPolicy"):
        finish(generation)
        run_after_commit()
    generation.refresh_from_db()
    assert generation.status == S.SUCCEEDED
    assert not Notification.objects.exists()
    assert WebhookDelivery.objects.filter(event_type="generation.succeeded").count() == 1


ROUTED: list[Notification] = []


class RoutingPolicy(NotificationPolicy):
    """A host that sends its members' notices into its own system instead of e-mail."""

    def deliver(self, notifications):
        ROUTED.extend(notifications)


def test_a_host_policy_receives_the_recorded_notifications(user):
    ROUTED.clear()
    with override_generations(NOTIFICATION_POLICY="tests.services.test_notifications.RoutingPolicy"):
        finish(GenerationFactory(owner=user))
        run_after_commit()
    assert [n.kind for n in ROUTED] == [K.GENERATION_SUCCEEDED] and ROUTED[0].pk is not None


@pytest.mark.django_db(transaction=True)
def test_recording_a_notification_after_commit_costs_two_queries(django_assert_num_queries):
    generation = GenerationFactory(owner=UserFactory(username="counted"), succeeded=True)
    with django_assert_num_queries(2):  # the preference, the INSERT
        notification_recording.announce_status(generation=generation, status=S.SUCCEEDED)
    with django_assert_num_queries(2):  # announced again: the unique key refuses the INSERT
        assert notification_recording.announce_status(generation=generation, status=S.SUCCEEDED) == []
    assert Notification.objects.count() == 1


# --------------------------------------------------------------------------- e-mail: bursts and digests


def _finished_jobs(owner, count: int) -> list[Generation]:
    VideoModelFactory(id="Veo3")
    rows = Generation.objects.bulk_create([
        Generation(owner=owner, model_id="Veo3", prompt=f"clip {n}", status=S.MIRRORING, payload={"prompt": "x"})
        for n in range(count)
    ])
    for generation in rows:
        assert transition(generation, S.SUCCEEDED)
    return rows


def test_a_thousand_finished_jobs_make_one_digest_for_a_member_who_wants_one(user):
    prefer(user, K.GENERATION_SUCCEEDED, "email", digest=True)
    now = timezone.now()
    _finished_jobs(user, 1000)
    run_after_commit()
    assert Notification.objects.filter(recipient=user, email_status="pending").count() == 1000

    # the digest collects
    assert notification_delivery.send_pending_emails(now=now + timedelta(minutes=5))["emails"] == 0
    counts = notification_delivery.send_pending_emails(now=now + timedelta(minutes=61))
    assert (counts["emails"], counts["notifications"]) == (1, 1000)
    [digest] = mail.outbox
    assert digest.subject == "1000 updates from the Video Portal"
    assert "and 950 more" in digest.body
    assert notification_delivery.send_pending_emails(now=now + timedelta(minutes=200))["emails"] == 0
    assert len(mail.outbox) == 1


def test_a_burst_without_a_digest_is_combined_never_a_storm(user):
    _finished_jobs(user, 30)
    run_after_commit()
    now = timezone.now()
    assert notification_delivery.send_pending_emails(now=now)["emails"] == 1  # the 30 that were waiting, in one
    assert mail.outbox[0].subject == "30 updates from the Video Portal"

    _finished_jobs(user, 20)
    run_after_commit()
    for seconds in (2, 10, 30):  # the wakes of a burst: the member was e-mailed moments ago
        assert notification_delivery.send_pending_emails(now=now + timedelta(seconds=seconds))["emails"] == 0
    assert notification_delivery.send_pending_emails(now=now + timedelta(seconds=61))["notifications"] == 20
    assert len(mail.outbox) == 2


def test_each_member_gets_their_own_email(user, other_user):
    finish(GenerationFactory(owner=user))
    finish(GenerationFactory(owner=other_user))
    run_after_commit()
    assert notification_delivery.send_pending_emails()["emails"] == 2
    assert sorted(m.to[0] for m in mail.outbox) == sorted([user.email, other_user.email])


def test_one_members_backlog_does_not_hold_up_anyone_elses_email(user, other_user):
    now = timezone.now()
    Notification.objects.create(recipient=user, kind=K.GENERATION_SUCCEEDED, title="sent moments ago",
                                email_status="sent", emailed_at=now - timedelta(seconds=5))
    Notification.objects.bulk_create([
        Notification(recipient=user, kind=K.GENERATION_SUCCEEDED, title=f"clip {n}", email_status="pending",
                     email_due_at=now - timedelta(hours=1, seconds=n))
        for n in range(5000)
    ])
    Notification.objects.create(recipient=other_user, kind=K.GENERATION_FAILED, title="Your job failed",
                                email_status="pending", email_due_at=now)
    counts = notification_delivery.send_pending_emails(now=now)
    assert counts["emails"] == 1
    assert [m.to for m in mail.outbox] == [[other_user.email]]
    assert Notification.objects.filter(recipient=user, email_status="pending").count() == 5000


class RacingRunnersPolicy(NotificationPolicy):
    """Two runners that both found the member due before either claimed; the second goes on only after the
    first's e-mail went out, and a new notification arrived meanwhile."""

    both_ready: threading.Barrier
    first_sent: threading.Event

    def __init__(self) -> None:
        name = threading.current_thread().name
        if name.startswith("runner-"):
            self.both_ready.wait(timeout=30)
            if name == "runner-1":
                self.first_sent.wait(timeout=30)

    def send_email(self, message):
        super().send_email(message)
        if threading.current_thread().name == "runner-0":
            member = Notification.objects.filter(email_status="sent").values_list("recipient_id", flat=True)[0]
            Notification.objects.create(recipient_id=member, kind=K.GENERATION_FAILED, title="Another one",
                                        email_status="pending", email_due_at=timezone.now() - timedelta(seconds=1))
            self.first_sent.set()


@pytest.mark.django_db(transaction=True)
def test_two_runners_at_once_send_a_member_one_email_within_the_gap():
    member = UserFactory(username="raced")
    Notification.objects.create(recipient=member, kind=K.GENERATION_SUCCEEDED, title="Your video is ready",
                                email_status="pending", email_due_at=timezone.now() - timedelta(seconds=1))
    RacingRunnersPolicy.both_ready = threading.Barrier(2)
    RacingRunnersPolicy.first_sent = threading.Event()

    def run(index):
        threading.current_thread().name = f"runner-{index}"
        return notification_delivery.send_pending_emails()

    with override_generations(NOTIFICATION_POLICY="tests.services.test_notifications.RacingRunnersPolicy"):
        results = run_concurrently(2, run)
    assert all(isinstance(r, dict) for r in results), results
    assert len(mail.outbox) == 1, connection.vendor
    assert sum(r["emails"] for r in results) == 1
    assert Notification.objects.get(title="Another one").email_status == "pending"  # it waits for the gap


class BrokenMailPolicy(NotificationPolicy):
    def send_email(self, message):
        raise ConnectionRefusedError("SMTP is down")


def test_an_email_that_cannot_be_sent_is_tried_later_then_left_in_the_bell(user):
    finish(GenerationFactory(owner=user))
    run_after_commit()
    now = timezone.now()
    with override_generations(NOTIFICATION_POLICY="tests.services.test_notifications.BrokenMailPolicy"):
        assert notification_delivery.send_pending_emails(now=now)["failed"] == 1
        notice = Notification.objects.get()
        assert notice.email_status == "pending" and notice.email_due_at > now
        for attempt in range(1, notification_delivery.EMAIL_ATTEMPTS):
            notification_delivery.send_pending_emails(now=now + timedelta(hours=attempt))
    notice.refresh_from_db()
    assert notice.email_status == "failed" and notice.read_at is None


def test_a_member_without_an_address_is_skipped():
    member = UserFactory(username="mailless", email="")
    finish(GenerationFactory(owner=member))
    run_after_commit()
    assert notification_delivery.send_pending_emails()["skipped"] == 1
    assert Notification.objects.get().email_status == "skipped" and mail.outbox == []


# --------------------------------------------------------------------------- quota thresholds


def test_a_user_quota_alerts_once_at_80_and_once_at_100_percent_per_period(veo, user, no_auto_dispatch):
    UserProfile.objects.create(user=user, daily_jobs=5)
    jobs = [submit(user) for _ in range(3)]
    run_after_commit()
    assert not Notification.objects.filter(kind=K.QUOTA_THRESHOLD).exists()
    jobs.append(submit(user))  # 4 of 5: 80 %
    run_after_commit()
    [alert] = Notification.objects.filter(recipient=user, kind=K.QUOTA_THRESHOLD)
    assert alert.data["quota"]["threshold"] == 80 and alert.data["quota"]["scope"] == "user"
    assert "4 of 5 jobs" in alert.body and alert.link == "/usage/"

    jobs.append(submit(user))  # 5 of 5: 100 %
    run_after_commit()
    submissions.cancel_generation(generation=jobs[-1], actor=user)  # back to 4, then 5 again
    jobs.append(submit(user))
    run_after_commit()

    thresholds = sorted(n.data["quota"]["threshold"] for n in Notification.objects.filter(kind=K.QUOTA_THRESHOLD))
    assert thresholds == [80, 100]
    assert QuotaAlert.objects.count() == 2
    assert QuotaAlert.objects.get(threshold=100).generation_id == jobs[4].pk


def test_a_team_pool_alerts_its_owners_and_admins_not_its_members(veo, no_auto_dispatch):
    team = TeamFactory(name="Studio", monthly_video_seconds=20)
    owner = MembershipFactory(team=team, role=Membership.Role.OWNER).user
    admin = MembershipFactory(team=team, role=Membership.Role.ADMIN).user
    member = MembershipFactory(team=team, role=Membership.Role.MEMBER).user
    for _ in range(4):  # 16 of 20 seconds
        submit(member, team=team.slug)
    run_after_commit()

    alerted = set(Notification.objects.filter(kind=K.QUOTA_THRESHOLD).values_list("recipient_id", flat=True))
    assert alerted == {owner.pk, admin.pk}
    alert = Notification.objects.get(recipient=owner, kind=K.QUOTA_THRESHOLD)
    assert alert.team_id == team.pk and alert.data["quota"]["scope"] == "team"
    assert alert.data["quota"]["metric"] == "monthly_video_seconds" and alert.link == f"/teams/{team.slug}/"
    assert alert.title.startswith("Studio:")


def test_a_quota_without_limits_never_alerts(veo, user, no_auto_dispatch):
    with override_generations(DEFAULT_LIMITS={"daily_jobs": None, "monthly_video_seconds": None}):
        for _ in range(5):
            submit(user)
    run_after_commit()
    assert not QuotaAlert.objects.exists()


def test_the_quota_object_describes_the_crossing():
    crossing = quota_alerts.Crossing(charge=quota_reads.Charge("monthly_credits", Decimal("12.5"), 100, user=None),
                                     period="2026-12", threshold=80, used=Decimal("82.5"))
    assert crossing.quota == {
        "metric": "monthly_credits", "limit": 100, "used": 82.5, "percent": 82.5, "threshold": 80,
        "period": "2026-12", "scope": "user", "resets_at": crossing.quota["resets_at"],
    }
    assert crossing.quota["resets_at"].startswith("2027-01-01")


@pytest.mark.django_db(transaction=True)
def test_simultaneous_submissions_cross_each_threshold_once(no_auto_dispatch):
    VideoModelFactory(id="Veo3")
    racer = UserFactory(username="threshold-racer")
    UserProfile.objects.create(user=racer, daily_jobs=10)

    def attempt(_):
        return submit(racer)

    results = run_concurrently(10, attempt)
    assert all(isinstance(r, Generation) for r in results), results
    alerts = Notification.objects.filter(recipient=racer, kind=K.QUOTA_THRESHOLD)
    assert sorted(n.data["quota"]["threshold"] for n in alerts) == [80, 100]


# --------------------------------------------------------------------------- webhooks disabled


def test_a_disabled_webhook_tells_its_owner_once(user):
    hook = endpoint(user, "generation.failed")
    webhook_delivery._disable(hook, reason="The receiver answered 410 Gone.")
    webhook_delivery._disable(hook, reason="The receiver answered 410 Gone.")  # a second failing delivery of the batch
    notice = Notification.objects.get(recipient=user)
    assert notice.kind == K.WEBHOOK_DISABLED
    assert "https://hooks.example.com/in" in notice.body and "410 Gone" in notice.body


def test_a_disabled_team_webhook_tells_the_teams_current_managers(user):
    team = TeamFactory()
    MembershipFactory(team=team, user=user, role=Membership.Role.ADMIN)
    owner = MembershipFactory(team=team, role=Membership.Role.OWNER).user
    plain = MembershipFactory(team=team, role=Membership.Role.MEMBER).user
    hook = WebhookEndpoint.objects.create(owner=user, team=team, url="https://hooks.example.com/team",
                                          events=["generation.failed"], secret=webhook_signing.new_secret())
    Membership.objects.filter(team=team, user=user).update(role=Membership.Role.MEMBER)  # the creator stepped down
    webhook_delivery._disable(hook, reason="The receiver answered 410 Gone.")
    told = set(Notification.objects.filter(kind=K.WEBHOOK_DISABLED).values_list("recipient_id", flat=True))
    assert told == {owner.pk} and plain.pk not in told


# --------------------------------------------------------------------------- staff summary, preferences


def test_the_daily_summary_goes_to_active_staff_who_opted_in_once_a_day(user, staff_user):
    quiet_staff = UserFactory(username="quiet", staff=True)
    departed = UserFactory(username="departed", staff=True, is_active=False)
    demoted = UserFactory(username="demoted")  # opted in while staff
    for opted_in in (staff_user, departed, demoted):
        prefer(opted_in, K.DAILY_SUMMARY, "email")
    GenerationFactory(owner=user, succeeded=True, credits=Decimal("12"))
    GenerationFactory(owner=user, failed=True)
    GenerationFactory(owner=user, cancelled=True)

    assert notification_recording.record_daily_summaries() == 1
    assert notification_recording.record_daily_summaries() == 0  # the schedule ran twice
    notification_delivery.send_pending_emails()
    [message] = mail.outbox
    assert message.to == [staff_user.email]
    assert "3 jobs, 1 failed, 12 credits" in message.subject
    assert "upstream_failed: 1" in message.body
    assert not Notification.objects.filter(recipient__in=[quiet_staff, departed, demoted]).exists()


def test_members_cannot_opt_into_the_staff_summary(user):
    with pytest.raises(InvalidInput):
        notification_preferences.set_preferences(user=user, choices={K.DAILY_SUMMARY: {"channel": "email"}})
    assert K.DAILY_SUMMARY not in [row["kind"] for row in notification_reads.preferences_of(user)]


def test_preferences_keep_what_is_left_out_and_refuse_unknown_channels(user):
    notification_preferences.set_preferences(user=user, choices={K.GENERATION_SUCCEEDED: {"channel": "in_app"}})
    notification_preferences.set_preferences(user=user, choices={K.GENERATION_SUCCEEDED: {"digest": True}})
    row = next(r for r in notification_reads.preferences_of(user) if r["kind"] == K.GENERATION_SUCCEEDED)
    assert (row["channel"], row["digest"]) == ("in_app", True)
    with pytest.raises(InvalidInput):
        notification_preferences.set_preferences(user=user, choices={K.GENERATION_SUCCEEDED: {"channel": "pager"}})


def test_an_unsubscribe_token_names_one_member_and_kind_and_cannot_be_forged(user, other_user):
    token = notification_preferences.unsubscribe_token(user_id=user.pk, kind=K.GENERATION_SUCCEEDED)
    assert notification_preferences.read_unsubscribe_token(token=token) == (user, [K.GENERATION_SUCCEEDED])
    assert not NotificationPreference.objects.exists()  # reading the token changes nothing
    done = notification_preferences.unsubscribe(token=token)
    assert done.user == user and done.kinds == done.changed == [K.GENERATION_SUCCEEDED]
    assert NotificationPreference.objects.get(user=user, kind=K.GENERATION_SUCCEEDED).channel == "in_app"
    assert not NotificationPreference.objects.filter(user=other_user).exists()
    with pytest.raises(InvalidInput):
        notification_preferences.unsubscribe(token=token[:-2] + "xx")


def test_marking_read_touches_only_the_members_own_notifications(user, other_user):
    finish(GenerationFactory(owner=user))
    finish(GenerationFactory(owner=other_user))
    run_after_commit()
    theirs = Notification.objects.get(recipient=other_user)
    assert notification_inbox.mark_read(user=user, ids=[theirs.pk]) == 0
    assert notification_inbox.mark_read(user=user) == 1
    theirs.refresh_from_db()
    assert theirs.read_at is None


def channels_of(user):
    return {row["kind"]: row["channel"] for row in notification_reads.preferences_of(user)}


def test_stop_all_from_a_digest_stops_every_email_and_undo_opts_into_nothing_new(staff_user):
    prefer(staff_user, K.DAILY_SUMMARY, "email")
    token = notification_preferences.unsubscribe_token(user_id=staff_user.pk, kind=notification_kinds.EVERY_KIND)
    done = notification_preferences.unsubscribe(token=token)
    channels = channels_of(staff_user)
    assert set(done.kinds) == set(done.changed) == set(notification_kinds.KINDS) and channels[K.DAILY_SUMMARY] == "off"
    assert {channels[k] for k in done.kinds if k != K.DAILY_SUMMARY} == {"in_app"}
    notification_preferences.revise_unsubscribe(token=token, changes=done.changes, channel="email")  # "undo"
    assert set(channels_of(staff_user).values()) == {"email"}


def test_stop_all_leaves_a_kind_that_was_off_off_and_one_in_the_bell_in_the_bell(user):
    prefer(user, K.GENERATION_REMOVED, "off")
    prefer(user, K.QUOTA_THRESHOLD, "in_app")
    token = notification_preferences.unsubscribe_token(user_id=user.pk, kind=notification_kinds.EVERY_KIND)
    done = notification_preferences.unsubscribe(token=token)
    assert K.GENERATION_REMOVED not in done.changed and K.QUOTA_THRESHOLD not in done.changed
    channels = channels_of(user)
    assert channels[K.GENERATION_REMOVED] == "off" and channels[K.QUOTA_THRESHOLD] == "in_app"
    assert channels[K.GENERATION_SUCCEEDED] == channels[K.WEBHOOK_DISABLED] == "in_app"


def test_undo_restores_exactly_the_kinds_the_unsubscribe_changed(user):
    prefer(user, K.GENERATION_REMOVED, "off")
    prefer(user, K.QUOTA_THRESHOLD, "in_app")
    before = channels_of(user)
    token = notification_preferences.unsubscribe_token(user_id=user.pk, kind=notification_kinds.EVERY_KIND)
    done = notification_preferences.unsubscribe(token=token)
    assert set(done.changed) == {K.GENERATION_SUCCEEDED, K.GENERATION_FAILED, K.WEBHOOK_DISABLED,
                                 K.FILES_EXPIRING}

    off = notification_preferences.revise_unsubscribe(token=token, changes=done.changes, channel="off")
    assert off.changed == done.changed
    assert {k for k, c in channels_of(user).items() if c == "off"} == {*done.changed, K.GENERATION_REMOVED}
    undone = notification_preferences.revise_unsubscribe(token=token, changes=done.changes, channel="email")
    assert undone.changed == done.changed and channels_of(user) == before


def test_undo_refuses_a_value_for_another_member_another_salt_or_older_than_seven_days(user, other_user,
                                                                                      monkeypatch):
    token = notification_preferences.unsubscribe_token(user_id=user.pk, kind=K.GENERATION_SUCCEEDED)
    theirs_token = notification_preferences.unsubscribe_token(user_id=other_user.pk, kind=K.GENERATION_SUCCEEDED)
    theirs = notification_preferences.unsubscribe(token=theirs_token)
    notification_preferences.unsubscribe(token=token)
    for changes in (theirs.changes,  # another member's page
                    token,  # signed, but as a link, not as a page's value
                    signing.dumps({"u": user.pk, "k": [K.GENERATION_SUCCEEDED]}, salt="another.salt")):
        with pytest.raises(InvalidInput):
            notification_preferences.revise_unsubscribe(token=token, changes=changes, channel="email")
    assert channels_of(user)[K.GENERATION_SUCCEEDED] == channels_of(other_user)[K.GENERATION_SUCCEEDED] == "in_app"

    failed = notification_preferences.unsubscribe_token(user_id=user.pk, kind=K.GENERATION_FAILED)
    done = notification_preferences.unsubscribe(token=failed)
    later = time.time() + notification_preferences.UNSUBSCRIBE_UNDO_MAX_AGE.total_seconds() + 60
    monkeypatch.setattr(signing.time, "time", lambda: later)  # the clock the signature is checked by
    with pytest.raises(InvalidInput, match="expired"):
        notification_preferences.revise_unsubscribe(token=failed, changes=done.changes, channel="email")
    assert channels_of(user)[K.GENERATION_FAILED] == "in_app"


def test_undo_acts_only_on_the_kinds_its_link_names(user):
    every = notification_preferences.unsubscribe_token(user_id=user.pk, kind=notification_kinds.EVERY_KIND)
    done = notification_preferences.unsubscribe(token=every)
    one = notification_preferences.unsubscribe_token(user_id=user.pk, kind=K.GENERATION_FAILED)
    undone = notification_preferences.revise_unsubscribe(token=one, changes=done.changes, channel="email")
    assert undone.changed == [K.GENERATION_FAILED]
    assert {k for k, c in channels_of(user).items() if c == "email"} == {K.GENERATION_FAILED}
