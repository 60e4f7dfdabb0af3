"""Reads of quotas: what a job would take from each counter, the counters' periods, what is used
and remains for a member or a team, and a quote; the ledger that moves the counters is
``services.quotas``."""
from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import Q, QuerySet, Sum
from django.utils import timezone

from .. import metrics
from ..models import Generation, Team, UsageCounter
from ..policies import quota_policy
from ..types import User

DAILY = ("daily_jobs",)


@dataclass(frozen=True)
class Charge:
    """One amount a job takes from one counter."""

    metric: str
    amount: Decimal
    limit: int | None
    user: User | None = None
    team: Team | None = None

    @property
    def subject(self) -> str:
        return f"team:{self.team.pk}" if self.team is not None else f"user:{getattr(self.user, 'pk', None)}"

    @property
    def scope(self) -> str:
        return "team" if self.team is not None else "user"


def _site_today(now: datetime | None) -> date:
    # The site's zone, not the active one: a host that activates each member's own zone
    # must not split one counter into several.
    return timezone.localdate(now or timezone.now(), timezone.get_default_timezone())


def period_for(metric: str, now: datetime | None = None) -> str:
    """Periods follow the site time zone: calendar days and calendar months."""
    today = _site_today(now)
    return today.isoformat() if metric in DAILY else today.strftime("%Y-%m")


def resets_at(metric: str, now: datetime | None = None) -> datetime | None:
    if metric == metrics.CONCURRENT_JOBS or metric in metrics.STORED_METRICS:
        return None
    today = _site_today(now)
    if metric in DAILY:
        start = today + timedelta(days=1)
    else:
        days = calendar.monthrange(today.year, today.month)[1]
        start = today.replace(day=1) + timedelta(days=days)
    return timezone.make_aware(datetime.combine(start, time.min), timezone.get_default_timezone())


def charges_for(*, user: User, team: Team | None, video_seconds: int, credits: Decimal,
                jobs: int = 1) -> list[Charge]:
    """What ``jobs`` jobs (a batch: their summed seconds and credits) take from each counter."""
    policy = quota_policy()
    limits = policy.user_limits(user)
    charges = [
        Charge("daily_jobs", Decimal(jobs), limits["daily_jobs"], user=user),
        Charge("monthly_video_seconds", Decimal(video_seconds), limits["monthly_video_seconds"], user=user),
        Charge("monthly_credits", Decimal(credits), limits["monthly_credits"], user=user),
        # Measured, not counted: a job takes no bytes at submit time; take_usage asks for room.
        Charge(metrics.STORAGE_BYTES, Decimal(0), limits.get(metrics.STORAGE_BYTES), user=user),
    ]
    if team is not None:
        team_limits = policy.team_limits(team)
        charges += [
            Charge("monthly_video_seconds", Decimal(video_seconds), team_limits["monthly_video_seconds"], team=team),
            Charge("monthly_credits", Decimal(credits), team_limits["monthly_credits"], team=team),
            Charge(metrics.STORAGE_BYTES, Decimal(0), team_limits.get(metrics.STORAGE_BYTES), team=team),
        ]
    return charges


def storage_used(*, user: User | None = None, team: Team | None = None) -> int:
    """Bytes of mirrored files stored now for ``user``'s videos (all of them) or ``team``'s, from the recorded sizes.

    A file counts while its name is on the row: retention and deletion clear the name, so
    what they freed stops counting at once.
    """
    qs = Generation.objects.filter(team=team) if team is not None else Generation.objects.filter(owner=user)
    sizes = qs.aggregate(
        video=Sum("video_size", filter=~Q(video_name="")), thumbnail=Sum("thumbnail_size", filter=~Q(thumbnail_name=""))
    )
    return int(sizes["video"] or 0) + int(sizes["thumbnail"] or 0)


def is_full(charge: Charge) -> bool:
    """A stored metric's "room left now": full once what is stored reaches the limit.

    A job's size is known only once it is mirrored, so a submission is accepted while the
    owner (or the team) is below the limit and refused once the stored bytes reach it.
    """
    return charge.limit is not None and storage_used(user=charge.user, team=charge.team) >= charge.limit


def counter_qs(charge: Charge, period: str) -> QuerySet[UsageCounter]:
    """The counter ``charge`` moves in ``period`` (a team's has no user, a user's no team)."""
    if charge.team is not None:
        return UsageCounter.objects.filter(team=charge.team, user__isnull=True, metric=charge.metric, period=period)
    return UsageCounter.objects.filter(user=charge.user, team__isnull=True, metric=charge.metric, period=period)


def in_flight_count(user: User) -> int:
    """Jobs of ``user`` at GMI now, counted from job state so a crashed worker never leaks a slot."""
    return Generation.objects.filter(in_flight_q(), owner=user).count()


def in_flight_q() -> Q:
    """A job holding one of its owner's concurrent slots: at GMI, or being sent there now."""
    return Q(status__in=Generation.AT_UPSTREAM) | Q(status=Generation.Status.QUEUED, send_started_at__isnull=False)


def usage_for_user(user: User, now: datetime | None = None) -> dict[str, Any]:
    """Limits, usage, what remains and when each resets, for the user and each of their teams."""
    now = now or timezone.now()
    policy = quota_policy()
    limits = policy.user_limits(user)
    used: dict[str, Decimal | int] = {}
    for metric in metrics.COUNTED_USER_METRICS:
        counter = UsageCounter.objects.filter(
            user=user, team__isnull=True, metric=metric, period=period_for(metric, now)
        ).first()
        used[metric] = counter.used if counter else Decimal(0)
    used[metrics.CONCURRENT_JOBS] = in_flight_count(user)
    _add_stored(limits, used, user=user)
    result = _describe(limits, used, now)
    teams = []
    for team in Team.objects.filter(memberships__user=user).order_by("name"):
        teams.append({"team": team.slug, "name": team.name, **usage_for_team(team, now)})
    result["teams"] = teams
    return result


def usage_for_team(team: Team, now: datetime | None = None) -> dict[str, Any]:
    now = now or timezone.now()
    limits = quota_policy().team_limits(team)
    used: dict[str, Decimal | int] = {}
    _add_stored(limits, used, team=team)
    for metric in limits:
        if metric in used:
            continue
        counter = UsageCounter.objects.filter(
            team=team, user__isnull=True, metric=metric, period=period_for(metric, now)
        ).first()
        used[metric] = counter.used if counter else Decimal(0)
    return _describe(limits, used, now)


def _add_stored(limits: dict[str, int | None], used: dict[str, Decimal | int], *, user: User | None = None,
                team: Team | None = None) -> None:
    """Usage of the stored metrics where a limit is set; an unlimited one is left out of ``limits``."""
    for metric in metrics.STORED_METRICS:
        if limits.get(metric) is None:
            limits.pop(metric, None)
        elif metric == metrics.STORAGE_BYTES:
            used[metric] = storage_used(user=user, team=team)


def plain_number(value: Any) -> int | float:
    """A counter's amount as JSON writes it: whole numbers without a fraction."""
    value = Decimal(value)
    return int(value) if value == value.to_integral_value() else float(value)


def _describe(limits: dict[str, int | None], used: dict[str, Any], now: datetime) -> dict[str, Any]:
    remaining = {
        metric: None if limit is None else plain_number(max(Decimal(limit) - Decimal(used.get(metric, 0)), Decimal(0)))
        for metric, limit in limits.items()
    }
    resets = {metric: resets_at(metric, now) for metric in limits}
    return {
        "limits": dict(limits),
        "used": {metric: plain_number(used.get(metric, 0)) for metric in limits},
        "remaining": remaining,
        "resets_at": {k: v.isoformat() if v else None for k, v in resets.items()},
    }


def quote(*, user: User, team: Team | None, video_seconds: int, credits: Decimal, jobs: int = 1) -> dict[str, Any]:
    """What a job (or ``jobs`` jobs together) would cost and whether it would be accepted now, reserving nothing."""
    now = timezone.now()
    refusal = None
    for charge in charges_for(user=user, team=team, video_seconds=video_seconds, credits=credits, jobs=jobs):
        if charge.limit is None:
            continue
        if charge.metric in metrics.STORED_METRICS:
            full = is_full(charge)
        else:
            counter = counter_qs(charge, period_for(charge.metric, now)).first()
            full = (counter.used if counter else Decimal(0)) + charge.amount > charge.limit
        if full:
            reset = resets_at(charge.metric, now)
            refusal = {
                "code": "quota_exceeded", "limit": charge.metric, "scope": charge.scope,
                "resets_at": reset.isoformat() if reset else None,
            }
            break
    limits = quota_policy().user_limits(user)
    # Some of ``jobs`` wait when they do not all fit beside the jobs already at GMI (for one job: no free slot).
    waits = limits["concurrent_jobs"] is not None and in_flight_count(user) + jobs > limits["concurrent_jobs"]
    return {
        "credits": plain_number(credits),
        "video_seconds": video_seconds,
        "accepted": refusal is None,
        "refusal": refusal,
        "will_wait": refusal is None and waits,
        "usage": usage_for_user(user, now),
    }
