"""The data of the portal: catalogue, generations and their history, teams, quotas, ledger, tokens."""
from __future__ import annotations

import random
import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

#: Jobs are spread over this many shards, each polled by one engine (fixed for the life of a site).
SHARDS = 64


def random_shard() -> int:
    return random.randrange(SHARDS)


class VideoModel(models.Model):
    """A model in GMI's catalogue, as last synced, plus what staff decide about it."""

    class PriceUnit(models.TextChoices):
        JOB = "job", "per job"
        SECOND = "second", "per second of video"

    id = models.CharField("model id", max_length=200, primary_key=True)  # case-sensitive, as GMI spells it
    api = models.CharField(max_length=32, default="requestqueue")
    display_name = models.CharField(max_length=200, blank=True)
    brief_description = models.TextField(blank=True)
    detailed_description = models.TextField(blank=True, help_text="Markdown, as published by GMI.")
    modalities = models.JSONField(default=dict, blank=True)
    parameters = models.JSONField(default=list, blank=True, help_text="GMI's raw parameter schema.")
    raw = models.JSONField(default=dict, blank=True)
    enabled = models.BooleanField(default=True, help_text="Members may submit jobs to enabled models.")
    available = models.BooleanField(default=True, help_text="False once the model disappeared upstream.")
    position = models.PositiveIntegerField(default=100, help_text="Lower comes first in the model picker.")
    price_credits = models.DecimalField(max_digits=10, decimal_places=2, default=0)
    price_unit = models.CharField(max_length=10, choices=PriceUnit.choices, default=PriceUnit.JOB)
    synced_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["position", "id"]
        verbose_name = "model"

    def __str__(self) -> str:
        return self.display_name or self.id

    @property
    def label(self) -> str:
        return self.display_name or self.id


class Team(models.Model):
    """A tenant: members share a gallery tab and pooled monthly limits."""

    name = models.CharField(max_length=120)
    slug = models.SlugField(max_length=140, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # Pools; null means the site default (GENERATIONS["DEFAULT_TEAM_LIMITS"]).
    monthly_video_seconds = models.PositiveIntegerField(null=True, blank=True)
    monthly_credits = models.PositiveIntegerField(null=True, blank=True)
    sharing_enabled = models.BooleanField(
        default=True, help_text="Members may make public share links of the team's videos (staff may turn it off).")
    storage_bytes = models.PositiveBigIntegerField(
        null=True, blank=True, help_text="Bytes of mirrored files the team's videos may hold (empty: the site default)."
    )
    retention_days = models.PositiveSmallIntegerField(
        null=True, blank=True,
        help_text="Delete the files of the team's videos this many days after they finish (fewer than the site's "
                  "GMI_RETENTION_DAYS only; kept videos stay). Empty: the site's setting.",
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    class Role(models.TextChoices):
        OWNER = "owner", "Owner"
        ADMIN = "admin", "Admin"
        MEMBER = "member", "Member"

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="gmi_memberships")
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.MEMBER)
    joined_at = models.DateTimeField(auto_now_add=True)
    # Null while someone else added this member and they have not opened the team yet:
    # until then its videos stay out of their gallery (services.teams.hide_unopened_teams).
    seen_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["team", "user"], name="gen_membership_unique")]
        ordering = ["team", "role", "user"]

    def __str__(self) -> str:
        return f"{self.user} in {self.team} ({self.role})"

    @property
    def can_manage(self) -> bool:
        return self.role in (self.Role.OWNER, self.Role.ADMIN)


class TeamInvitation(models.Model):
    """A way into a team: a link anyone holding it may accept (``username`` blank), or an invitation
    addressed to one username that only that account may accept or decline in the app."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField(blank=True)
    # Kept as typed, whether or not such an account exists, so inviting never tells who has one.
    username = models.CharField(max_length=150, blank=True, db_index=True)
    role = models.CharField(max_length=10, choices=Membership.Role.choices, default=Membership.Role.MEMBER)
    token = models.CharField(max_length=64, unique=True)
    invited_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    declined_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"Invitation to {self.team}"


class UserProfile(models.Model):
    """Per-user state of the app: quota overrides and account approval."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="gmi_profile")
    # Overrides of the site defaults; null means "use the default".
    daily_jobs = models.PositiveIntegerField(null=True, blank=True)
    concurrent_jobs = models.PositiveIntegerField(null=True, blank=True)
    monthly_video_seconds = models.PositiveIntegerField(null=True, blank=True)
    monthly_credits = models.PositiveIntegerField(null=True, blank=True)
    storage_bytes = models.PositiveBigIntegerField(null=True, blank=True)
    approved = models.BooleanField(default=True, help_text="False while a sign-up waits for staff approval.")
    # Signs deliveries to a submission's own ``webhook`` URL (they have no endpoint of their own).
    webhook_secret = models.CharField(max_length=100, blank=True)
    # After a rotation the old secret keeps signing (beside the new one) until this time.
    previous_webhook_secret = models.CharField(max_length=100, blank=True)
    previous_webhook_secret_expires_at = models.DateTimeField(null=True, blank=True)
    current_team = models.ForeignKey(Team, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")

    def __str__(self) -> str:
        return f"Profile of {self.user}"


TITLE_WORDS = 8
TITLE_CHARS = 80


def title_from_prompt(prompt: str) -> str:
    """A prompt's first words as a title: at most TITLE_WORDS words and TITLE_CHARS characters."""
    words = prompt.split()
    title = " ".join(words[:TITLE_WORDS])
    if len(title) > TITLE_CHARS:
        cut = title[:TITLE_CHARS]
        # An unbroken string (a URL, a script without spaces) has no word boundary to cut at.
        title = cut.rsplit(" ", 1)[0] if " " in cut else cut
    if title and (len(words) > TITLE_WORDS or title != " ".join(words)):
        title += "…"
    return title


class Generation(models.Model):
    """One video job. Its row is the truth: tasks only ever move it on."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        DISPATCHED = "dispatched", "Dispatched"
        PROCESSING = "processing", "Processing"
        MIRRORING = "mirroring", "Mirroring"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"

    class Visibility(models.TextChoices):
        PRIVATE = "private", "Private"
        TEAM = "team", "Team"

    class Moderation(models.TextChoices):
        NONE = "none", "Not reviewed"
        PENDING = "pending", "Awaiting approval"
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Rejected"

    ACTIVE = (Status.QUEUED, Status.DISPATCHED, Status.PROCESSING, Status.MIRRORING)
    AT_UPSTREAM = (Status.DISPATCHED, Status.PROCESSING)
    TERMINAL = (Status.SUCCEEDED, Status.FAILED, Status.CANCELLED)
    # Not MIRRORING: by then GMI has finished the job and its usage is spent.
    CANCELLABLE = (Status.QUEUED, *AT_UPSTREAM)

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="generations")
    team = models.ForeignKey(Team, on_delete=models.SET_NULL, null=True, blank=True, related_name="generations")
    visibility = models.CharField(max_length=10, choices=Visibility.choices, default=Visibility.PRIVATE)
    model = models.ForeignKey(VideoModel, on_delete=models.PROTECT, related_name="generations")
    payload = models.JSONField(default=dict)
    prompt = models.TextField(blank=True, help_text="The prompt, copied from the payload for search and display.")
    # What the owner calls it; blank reads as the prompt's first words (``display_title``).
    title = models.CharField(max_length=200, blank=True)
    favorite = models.BooleanField(default=False, help_text="Starred by its owner.")
    keep = models.BooleanField(default=False, help_text="Kept by its owner: retention spares its files.")
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.QUEUED, db_index=True)
    error = models.TextField(blank=True)
    error_code = models.CharField(max_length=40, blank=True)

    # What was reserved against the quotas when the job was accepted.
    video_seconds = models.PositiveIntegerField(default=0)
    credits = models.DecimalField(max_digits=12, decimal_places=2, default=0)

    # Upstream
    api = models.CharField(max_length=32, default="requestqueue")
    upstream_request_id = models.CharField(max_length=200, null=True, blank=True, unique=True)
    upstream_status = models.CharField(max_length=60, blank=True)
    upstream_response = models.JSONField(null=True, blank=True, help_text="GMI's last answer, for debugging.")
    send_started_at = models.DateTimeField(
        null=True, blank=True, help_text="Set just before the POST to GMI: marks the crash window."
    )
    send_attempts = models.PositiveSmallIntegerField(default=0)
    attempt = models.PositiveSmallIntegerField(default=1, help_text="Raised each time staff retry the job.")
    upstream_finished_at = models.DateTimeField(null=True, blank=True)

    # When the engine next looks at the job: polls it at GMI, reconciles or sends again a send, retries a copy.
    next_check_at = models.DateTimeField(null=True, blank=True)
    # The leases: until they end, a send in flight or a copy under way is left to whoever holds it.
    send_lease_until = models.DateTimeField(null=True, blank=True)
    mirror_lease_until = models.DateTimeField(null=True, blank=True)
    poll_failures = models.PositiveIntegerField(default=0)
    # Which engine drives the job: the one leasing this shard (services/shards.py).
    shard = models.PositiveSmallIntegerField(default=random_shard)

    # Mirroring
    outcome_video_url = models.TextField(blank=True)
    outcome_thumbnail_url = models.TextField(blank=True)
    mirror_started_at = models.DateTimeField(null=True, blank=True)
    mirror_attempts = models.PositiveSmallIntegerField(default=0)
    video_name = models.CharField(max_length=300, blank=True)
    video_size = models.BigIntegerField(null=True, blank=True)
    video_content_type = models.CharField(max_length=100, blank=True)
    video_sha256 = models.CharField(max_length=64, blank=True)
    thumbnail_name = models.CharField(max_length=300, blank=True)
    thumbnail_size = models.BigIntegerField(null=True, blank=True)
    thumbnail_content_type = models.CharField(max_length=100, blank=True)
    thumbnail_sha256 = models.CharField(max_length=64, blank=True)
    # Retention (services/retention.py): the sizes above stay for the history; the names are cleared.
    files_removed_at = models.DateTimeField(null=True, blank=True, help_text="When retention deleted the files.")
    files_retention_days = models.PositiveSmallIntegerField(null=True, blank=True,
                                                            help_text="The retention that removed them, in days.")
    retention_warned_at = models.DateTimeField(null=True, blank=True,
                                               help_text="When the owner was told the files would go.")

    # Moderation
    moderation = models.CharField(max_length=10, choices=Moderation.choices, default=Moderation.NONE)
    moderation_reason = models.TextField(blank=True)

    webhook = models.CharField(max_length=2000, blank=True, help_text="This job's own webhook URL.")
    webhook_events_filter = models.JSONField(default=list, blank=True, help_text="Empty: every event.")
    rerun_of = models.ForeignKey("self", on_delete=models.SET_NULL, null=True, blank=True, related_name="reruns")
    batch = models.ForeignKey("generations.Batch", on_delete=models.SET_NULL, null=True, blank=True,
                              related_name="generations")
    # The owner's running number for jobs entering the waiting line (see WaitingLine): a
    # waiting job's index among its owner's waiting jobs is line_seq - head_seq.
    line_seq = models.PositiveIntegerField(null=True, blank=True, editable=False)
    deleted_at = models.DateTimeField(null=True, blank=True, help_text="Deleted by its owner; kept for the ledger.")
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    dispatched_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["owner", "-created_at"], name="gen_owner_created"),
            models.Index(fields=["team", "visibility", "-created_at"], name="gen_team_created"),
            models.Index(fields=["status", "next_check_at"], name="gen_status_check"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(visibility="private") | Q(team__isnull=False), name="gen_team_visibility_needs_team"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.model_id} {self.id} ({self.status})"

    @property
    def display_title(self) -> str:
        """The owner's title, else the prompt's first words (never cut inside a word)."""
        return self.title or title_from_prompt(self.prompt)

    @property
    def is_active(self) -> bool:
        return self.status in self.ACTIVE

    @property
    def is_terminal(self) -> bool:
        return self.status in self.TERMINAL

    @property
    def is_cancellable(self) -> bool:
        """Whether the job may still be cancelled (``CANCELLABLE``); who may cancel it is ``permissions.may_cancel``."""
        return self.status in self.CANCELLABLE

    @property
    def has_video(self) -> bool:
        return self.status == self.Status.SUCCEEDED and bool(self.video_name)

    @property
    def files_expired(self) -> bool:
        """Retention deleted the files: the row, its history and its ledger stay."""
        return self.files_removed_at is not None

    @property
    def is_removed(self) -> bool:
        return self.moderation == self.Moderation.REJECTED

    @property
    def duration(self):
        if self.finished_at:
            return self.finished_at - self.created_at
        return None


class GenerationEvent(models.Model):
    """The status history of a generation, one row per transition."""

    generation = models.ForeignKey(Generation, on_delete=models.CASCADE, related_name="events")
    from_status = models.CharField(max_length=12, blank=True)
    to_status = models.CharField(max_length=12)
    note = models.TextField(blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.from_status or '∅'} → {self.to_status}"


class UsageCounter(models.Model):
    """Usage of one metric by one user or team in one period.

    Reservations are a conditional UPDATE on this row (``used + n <= limit``), which
    is exact under concurrency on SQLite and PostgreSQL alike.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    team = models.ForeignKey(Team, on_delete=models.CASCADE, null=True, blank=True, related_name="usage_counters")
    metric = models.CharField(max_length=40)
    period = models.CharField(max_length=16, help_text="YYYY-MM-DD for daily metrics, YYYY-MM for monthly ones.")
    used = models.DecimalField(max_digits=14, decimal_places=2, default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "metric", "period"], name="gen_usage_user_unique",
                                    condition=Q(team__isnull=True)),
            models.UniqueConstraint(fields=["team", "metric", "period"], name="gen_usage_team_unique",
                                    condition=Q(user__isnull=True)),
            models.CheckConstraint(condition=Q(used__gte=0), name="gen_usage_not_negative"),
            models.CheckConstraint(
                condition=(
                    (Q(user__isnull=False) & Q(team__isnull=True)) | (Q(user__isnull=True) & Q(team__isnull=False))
                ),
                name="gen_usage_one_subject",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user or self.team} {self.metric} {self.period}: {self.used}"


class LedgerEntry(models.Model):
    """Every reservation, charge and refund, readable by staff; sums to the counters."""

    class Kind(models.TextChoices):
        RESERVE = "reserve", "Reserved"
        CHARGE = "charge", "Charged"
        REFUND = "refund", "Refunded"

    generation = models.ForeignKey(Generation, on_delete=models.CASCADE, related_name="ledger")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    team = models.ForeignKey(Team, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    subject = models.CharField(max_length=40, help_text='"user:<id>" or "team:<id>": whose counter moved.')
    attempt = models.PositiveSmallIntegerField(default=1)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    metric = models.CharField(max_length=40)
    period = models.CharField(max_length=16)
    amount = models.DecimalField(max_digits=14, decimal_places=2)
    note = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "ledger entries"
        constraints = [
            # Exactly-once settlement: a second refund of the same thing cannot exist.
            models.UniqueConstraint(fields=["generation", "attempt", "kind", "metric", "subject"],
                                    name="gen_ledger_once"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.amount} {self.metric}"


class ApiToken(models.Model):
    """A personal API token. Only its SHA-256 is stored; the key is shown once."""

    class Scope(models.TextChoices):
        # "read": GET/HEAD/OPTIONS only; "read+submit": everything the account may do through the API.
        READ = "read", "Read only"
        READ_SUBMIT = "read+submit", "Read and submit"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="gmi_tokens")
    name = models.CharField(max_length=100, default="API token")
    prefix = models.CharField(max_length=12, db_index=True)
    key_hash = models.CharField(max_length=64, unique=True)
    scope = models.CharField(max_length=20, choices=Scope.choices, default=Scope.READ_SUBMIT)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True, help_text="None: until revoked.")
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_expired(self) -> bool:
        return self.expires_at is not None and self.expires_at <= timezone.now()

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None and not self.is_expired

    def allows_method(self, method: str) -> bool:
        """Whether the token's scope covers an HTTP method (read-only tokens: safe methods only)."""
        return self.scope == self.Scope.READ_SUBMIT or method.upper() in ("GET", "HEAD", "OPTIONS")


class IdempotencyKey(models.Model):
    """Makes a retried POST /generations/ return the first generation."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=200)
    request_hash = models.CharField(max_length=64)
    generation = models.ForeignKey(Generation, on_delete=models.CASCADE, null=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "key"], name="gen_idempotency_unique")]

    def __str__(self) -> str:
        return f"idempotency key {self.key}"


class Upload(models.Model):
    """A reference file sent through GMI's upload API."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="gmi_uploads")
    public_url = models.TextField()
    file_type = models.CharField(max_length=10)
    size = models.BigIntegerField()
    sha256 = models.CharField(max_length=64)
    original_name = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.original_name or self.public_url


# Registered with the app from here (the models module Django loads); they live apart to keep this file short.
from .audit_models import AuditEvent  # noqa: E402, F401
from .engine_models import DispatchLock, EngineBeat, EngineShard, WaitingLine  # noqa: E402, F401
from .export_models import DataExport  # noqa: E402, F401
from .moderation_models import BlockedTerm, Flag, ModerationDecision  # noqa: E402, F401
from .notification_models import Notification, NotificationPreference, QuotaAlert  # noqa: E402, F401
from .studio_models import Batch, Collection, CollectionItem, ShareLink  # noqa: E402, F401
from .webhook_models import WebhookDelivery, WebhookEndpoint  # noqa: E402, F401
