"""The audit trail: who did what to which account, team, token, secret or quota (imported by ``models``)."""
from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class AuditEvent(models.Model):
    """One security-relevant action, recorded by ``services.audit.record_event`` and only read afterwards.

    The actor and the target are also kept as text, so the row still says who and what after
    the user, team or object is deleted. ``data`` never holds a secret (the service strips them).
    """

    class Action(models.TextChoices):
        LOGIN = "auth.login", "Signed in"
        LOGIN_FAILED = "auth.login_failed", "Sign-in failed"
        LOGOUT = "auth.logout", "Signed out"
        TOKEN_CREATED = "token.created", "API token created"
        TOKEN_REVOKED = "token.revoked", "API token revoked"
        MFA_RESET = "auth.mfa_reset", "Second factor reset by staff"
        WEBHOOK_CREATED = "webhook.created", "Webhook endpoint created"
        WEBHOOK_ROTATED = "webhook.secret_rotated", "Webhook secret rotated"
        WEBHOOK_DELETED = "webhook.deleted", "Webhook endpoint deleted"
        SUBMISSION_SECRET_ROTATED = "webhook.submission_secret_rotated", "Submission webhook secret rotated"
        MEMBER_ADDED = "team.member_added", "Team member added"
        MEMBER_INVITED = "team.member_invited", "Team member invited"
        MEMBER_ACCEPTED = "team.invitation_accepted", "Team invitation accepted"
        MEMBER_REMOVED = "team.member_removed", "Team member removed"
        ROLE_CHANGED = "team.role_changed", "Team role changed"
        QUOTA_CHANGED = "quota.changed", "Quota changed"
        MODERATION_DECIDED = "moderation.decided", "Moderation decision"

    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                              related_name="+")
    actor_name = models.CharField(max_length=150, blank=True, help_text="The actor's username when it acted.")
    action = models.CharField(max_length=64, choices=Action.choices, db_index=True)
    target_type = models.CharField(max_length=100, blank=True)
    target_id = models.CharField(max_length=64, blank=True)
    target_label = models.CharField(max_length=200, blank=True)
    # Named by string: this module is imported by ``models`` and must not import it back.
    team = models.ForeignKey("generations.Team", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    team_label = models.CharField(max_length=140, blank=True, help_text="The team's slug when it happened.")
    client_ip = models.GenericIPAddressField(null=True, blank=True)
    request_id = models.CharField(max_length=128, blank=True)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ("-created_at", "-id")
        indexes = [models.Index(fields=["actor", "-created_at"], name="gen_audit_actor_idx"),
                   models.Index(fields=["team", "-created_at"], name="gen_audit_team_idx")]

    def __str__(self) -> str:
        who = self.actor_name or "someone"
        what = f" {self.target_label}" if self.target_label else ""
        return f"{who}: {self.get_action_display()}{what}"
