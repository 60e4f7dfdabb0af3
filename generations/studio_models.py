"""Studio work on generations: batches, share links and collections (imported by ``models``)."""
from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone


class Batch(models.Model):
    """Jobs submitted together in one request (a batch of prompts, or one prompt compared over models).

    Its generations point at it (``Generation.batch``); quota was reserved for all of them at once.
    """

    class Kind(models.TextChoices):
        BATCH = "batch", "Batch"
        COMPARE = "compare", "Compare"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="gmi_batches")
    # Named by string: this module is imported by ``models`` and must not import it back.
    team = models.ForeignKey("generations.Team", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.BATCH)
    size = models.PositiveSmallIntegerField(default=0)
    idempotency_key = models.CharField(max_length=200, blank=True)
    request_hash = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ("-created_at",)
        verbose_name_plural = "batches"
        constraints = [
            models.UniqueConstraint(fields=["owner", "idempotency_key"], condition=~Q(idempotency_key=""),
                                    name="gen_batch_idempotency_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} of {self.size} ({self.pk})"


class ShareLink(models.Model):
    """A public, expiring link to one video. Only the token's SHA-256 is stored; the URL is shown once."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    generation = models.ForeignKey("generations.Generation", on_delete=models.CASCADE, related_name="share_links")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    token_hash = models.CharField(max_length=64, unique=True)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    show_prompt = models.BooleanField(default=False, help_text="The page shows the prompt.")
    show_owner = models.BooleanField(default=False, help_text="The page shows who made the video.")
    allow_download = models.BooleanField(default=True, help_text="The page offers a download button.")
    views = models.PositiveIntegerField(default=0)
    last_viewed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ("-created_at",)

    def __str__(self) -> str:
        return f"share link {self.pk} of {self.generation_id}"

    @property
    def is_live(self) -> bool:
        return self.revoked_at is None and self.expires_at > timezone.now()


class Collection(models.Model):
    """A named set of videos: personal, or shared with a team whose members may add and remove."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="gmi_collections")
    team = models.ForeignKey("generations.Team", on_delete=models.CASCADE, null=True, blank=True,
                             related_name="collections")
    name = models.CharField(max_length=120)
    generations = models.ManyToManyField("generations.Generation", through="CollectionItem", related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("name", "created_at")
        indexes = [models.Index(fields=["owner", "name"], name="gen_collection_owner")]

    def __str__(self) -> str:
        return self.name


class CollectionItem(models.Model):
    collection = models.ForeignKey(Collection, on_delete=models.CASCADE, related_name="items")
    generation = models.ForeignKey("generations.Generation", on_delete=models.CASCADE,
                                   related_name="collection_items")
    added_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    added_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ("-added_at", "-id")
        constraints = [models.UniqueConstraint(fields=["collection", "generation"], name="gen_collection_item_once")]

    def __str__(self) -> str:
        return f"{self.generation_id} in {self.collection_id}"
