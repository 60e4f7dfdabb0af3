"""Notifications members receive (bell, e-mail), their preferences, and quota alerts (imported by ``models``)."""
from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone


class Notification(models.Model):
    """One message to one member: shown in the bell, e-mailed when their preference says so.

    ``dedupe_key`` makes recording idempotent: the same event (a job's success, a quota
    threshold in a period) is recorded once per recipient, by a unique constraint.
    """

    class Kind(models.TextChoices):
        GENERATION_SUCCEEDED = "generation_succeeded", "Video ready"
        GENERATION_FAILED = "generation_failed", "Job failed"
        GENERATION_REMOVED = "generation_removed", "Video removed by moderation"
        QUOTA_THRESHOLD = "quota_threshold", "Quota alert"
        WEBHOOK_DISABLED = "webhook_disabled", "Webhook disabled"
        DAILY_SUMMARY = "daily_summary", "Daily summary (staff)"
        CATALOGUE_HELD_BACK = "catalogue_held_back", "New models held back (staff)"
        FILES_EXPIRING = "files_expiring", "Files to be removed"

    class EmailStatus(models.TextChoices):
        NONE = "", "Not e-mailed"
        PENDING = "pending", "Waiting to be sent"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"
        SKIPPED = "skipped", "Not sent (no address, or the account is inactive)"

    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                                  related_name="gmi_notifications")
    kind = models.CharField(max_length=40, choices=Kind.choices)
    title = models.CharField(max_length=200)
    body = models.TextField(blank=True)
    link = models.CharField(max_length=500, blank=True, help_text="A path on this site.")
    generation = models.ForeignKey("generations.Generation", on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="+")
    team = models.ForeignKey("generations.Team", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    data = models.JSONField(default=dict, blank=True, help_text="What the e-mail templates show beyond the text.")
    dedupe_key = models.CharField(max_length=200, blank=True)
    read_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    # E-mail: due at once, or at the end of the member's digest window; claimed by a batch token.
    email_status = models.CharField(max_length=12, choices=EmailStatus.choices, default="", blank=True)
    email_due_at = models.DateTimeField(null=True, blank=True)
    emailed_at = models.DateTimeField(null=True, blank=True)
    email_batch = models.CharField(max_length=32, blank=True)
    email_attempts = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ("-created_at", "-id")
        constraints = [
            models.UniqueConstraint(fields=["recipient", "dedupe_key"], condition=~Q(dedupe_key=""),
                                    name="gen_notice_once"),
        ]
        indexes = [
            models.Index(fields=["recipient", "-created_at"], name="gen_notice_recipient"),
            # The bell's question on every page: only unread rows are in this index.
            models.Index(fields=["recipient"], condition=Q(read_at__isnull=True), name="gen_notice_unread"),
            models.Index(fields=["email_due_at"], condition=Q(email_status="pending"), name="gen_notice_email_due"),
        ]

    def __str__(self) -> str:
        return self.title


class NotificationPreference(models.Model):
    """How one member wants one kind of notification: off, in the bell only, or also by e-mail (maybe as a digest)."""

    class Channel(models.TextChoices):
        OFF = "off", "Off"
        IN_APP = "in_app", "In the app"
        EMAIL = "email", "In the app and by e-mail"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="gmi_notification_preferences")
    kind = models.CharField(max_length=40, choices=Notification.Kind.choices)
    channel = models.CharField(max_length=10, choices=Channel.choices)
    digest = models.BooleanField(default=False, help_text="E-mails of this kind wait and go out together.")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "kind"], name="gen_notice_pref_unique")]

    def __str__(self) -> str:
        return f"{self.user} {self.kind}: {self.channel}"


class QuotaAlert(models.Model):
    """A quota threshold crossed: at most one per subject, metric, period and threshold (announced once)."""

    subject = models.CharField(max_length=40, help_text='"user:<id>" or "team:<id>".')
    metric = models.CharField(max_length=40)
    period = models.CharField(max_length=16)
    threshold = models.PositiveSmallIntegerField(help_text="Percent of the limit.")
    limit = models.PositiveIntegerField()
    used = models.DecimalField(max_digits=14, decimal_places=2)
    generation = models.ForeignKey("generations.Generation", on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="+", help_text="The job whose reservation crossed it.")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ("-created_at",)
        constraints = [
            models.UniqueConstraint(fields=["subject", "metric", "period", "threshold"], name="gen_quota_alert_once"),
        ]

    def __str__(self) -> str:
        return f"{self.subject} {self.metric} {self.period} {self.threshold}%"
