"""Moderation: blocked prompt terms, members' reports and staff decisions (imported by ``models``)."""
from __future__ import annotations

from django.conf import settings
from django.db import models


class BlockedTerm(models.Model):
    """A prompt term that refuses a submission (matched case- and spelling-insensitively)."""

    term = models.CharField(max_length=200)
    normalized = models.CharField(max_length=200, unique=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["normalized"]

    def __str__(self) -> str:
        return self.term


class Flag(models.Model):
    """A member's report of a visible video, waiting in the staff's review queue."""

    generation = models.ForeignKey("generations.Generation", on_delete=models.CASCADE, related_name="flags")
    reporter = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    reason = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Flag on {self.generation_id}"


class ModerationDecision(models.Model):
    """Who approved or rejected a generation, when and why."""

    class Decision(models.TextChoices):
        APPROVE = "approve", "Approved"
        REJECT = "reject", "Rejected"

    generation = models.ForeignKey("generations.Generation", on_delete=models.CASCADE,
                                   related_name="moderation_decisions")
    moderator = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    decision = models.CharField(max_length=10, choices=Decision.choices)
    reason = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.decision} {self.generation_id}"
