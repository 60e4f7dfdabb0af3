"""The engine's own tables: the fair waiting line, the dispatch lock, shard leases and heartbeats (imported by
``models``)."""
from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q


class WaitingLine(models.Model):
    """One user's summary in the fair waiting line, so a place in line is arithmetic, not a scan.

    A submission bumps ``last_seq`` in the same transaction that queues the job; the
    dispatcher's ``refresh_snapshot`` moves ``head_seq`` (the oldest waiting job's number)
    and ``last_sent_at`` after each pass. The user has ``last_seq - head_seq + 1`` jobs waiting.
    """

    owner = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, primary_key=True,
                                 related_name="+")
    last_seq = models.PositiveIntegerField(default=0)
    head_seq = models.PositiveIntegerField(default=1)
    oldest_at = models.DateTimeField(null=True, blank=True, help_text="When the oldest waiting job was accepted.")
    last_sent_at = models.DateTimeField(null=True, blank=True, help_text="When a job of theirs was last sent.")

    class Meta:
        indexes = [
            models.Index(fields=["owner"], condition=Q(last_seq__gte=F("head_seq")), name="gen_line_waiting"),
        ]

    def __str__(self) -> str:
        return f"waiting line of {self.owner_id}"

    @property
    def waiting(self) -> int:
        return max(self.last_seq - self.head_seq + 1, 0)


class DispatchLock(models.Model):
    """A single row locked while choosing which queued jobs go to GMI next.

    It also carries the site-wide pause GMI asks for with 429 + Retry-After: every
    worker honours it, not only the one that was told.
    """

    name = models.CharField(max_length=40, primary_key=True)
    paused_until = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return self.name


class EngineShard(models.Model):
    """The lease of one shard of jobs: the engine named ``owner`` drives them while ``beat_at`` is fresh."""

    shard = models.PositiveSmallIntegerField(primary_key=True)
    owner = models.CharField(max_length=64, blank=True)
    beat_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"engine shard {self.shard}"


class EngineBeat(models.Model):
    """One running engine (one per qcluster): its heartbeat decides each engine's fair share of shards."""

    owner = models.CharField(max_length=64, primary_key=True)
    cluster = models.CharField(max_length=200, blank=True)
    beat_at = models.DateTimeField()
    started_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"engine {self.owner} ({self.cluster})"
