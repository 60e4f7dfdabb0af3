"""Webhook endpoints members register and the deliveries recorded for them (imported by ``models``)."""
from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone


class WebhookEndpoint(models.Model):
    """Where a member (or, for a team, one of its owners/admins) wants events sent."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="gmi_webhooks")
    # Named by string: this module is imported by ``models`` and must not import it back.
    team = models.ForeignKey("generations.Team", on_delete=models.CASCADE, null=True, blank=True,
                             related_name="webhooks", help_text="Set: events of the team's generations.")
    url = models.CharField(max_length=2000)
    events = models.JSONField(default=list)
    secret = models.CharField(max_length=100, help_text="whsec_ + base64 of 24 random bytes.")
    previous_secret = models.CharField(max_length=100, blank=True)
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True)
    enabled = models.BooleanField(default=True)
    disabled_reason = models.CharField(max_length=300, blank=True)
    failing_since = models.DateTimeField(null=True, blank=True, help_text="First failure since the last success.")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ("-created_at",)

    def __str__(self) -> str:
        return self.url


class WebhookDelivery(models.Model):
    """One message to one target, retried until it succeeds or is given up; its id is stable across attempts."""

    class Status(models.TextChoices):
        PENDING = "pending"
        SUCCEEDED = "succeeded"
        FAILED = "failed"  # the last attempt failed; another one is due at next_attempt_at
        GAVE_UP = "gave_up"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, null=True, blank=True,
                                 related_name="deliveries")
    url = models.CharField(max_length=2000, blank=True, help_text="A submission's own webhook (no endpoint).")
    # Whose share of the sending pool and of the waiting-message caps this uses: the endpoint's
    # creator, or for a submission's own webhook the job's owner. Kept on the row, so the runner
    # can take deliveries turn by turn per owner without a join, and a deleted account's go with it.
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, null=True, blank=True,
                              related_name="+")
    generation = models.ForeignKey("generations.Generation", on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="+")
    event_type = models.CharField(max_length=40)
    message_id = models.CharField(max_length=40, db_index=True)
    payload = models.JSONField()
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_latency_ms = models.PositiveIntegerField(null=True, blank=True)
    last_response = models.TextField(blank=True, help_text="The first 1 KB of the last answer.")
    last_error = models.CharField(max_length=500, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    claimed_until = models.DateTimeField(null=True, blank=True,
                                         help_text="Set while a runner sends it; nothing else moves it until then.")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ("-created_at",)
        verbose_name_plural = "webhook deliveries"
        indexes = [
            # The runner's question, "what is due", touches only rows still to send.
            models.Index(fields=["next_attempt_at"], name="gen_webhook_due",
                         condition=models.Q(status__in=["pending", "failed"])),
            # The caps' questions: messages still waiting per owner, per endpoint, per submission URL.
            models.Index(fields=["owner", "endpoint"], name="gen_webhook_waiting_owner",
                         condition=models.Q(status__in=["pending", "failed"])),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} {self.message_id}"
