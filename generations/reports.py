"""Usage reports over time: generations per day, credits per team, top users, one subject's daily usage."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, Literal

from django.contrib.auth import get_user_model
from django.db.models import Count, Q, QuerySet, Sum
from django.db.models.functions import Coalesce, TruncDate
from django.utils import timezone

from .models import Generation, Team

S = Generation.Status

# Failed and cancelled jobs gave their usage back (SPEC §4.2): they count as jobs run,
# not as credits or seconds spent.
BILLED_Q = ~Q(status__in=(S.FAILED, S.CANCELLED))


@dataclass(frozen=True)
class DailySeries:
    """Values per day for several keys (models or statuses), oldest day first."""

    days: list[date]
    series: dict[str, list[float]] = field(default_factory=dict)

    @property
    def labels(self) -> list[str]:
        return [day.isoformat() for day in self.days]

    @property
    def total(self) -> float:
        return sum(sum(values) for values in self.series.values())


@dataclass(frozen=True)
class DayUsage:
    """What one user, one team or the whole site used on one day."""

    day: date
    jobs: int = 0
    succeeded: int = 0
    credits: Decimal = Decimal(0)
    video_seconds: int = 0


@dataclass(frozen=True)
class UserUsage:
    user_id: Any
    username: str
    jobs: int
    credits: Decimal
    video_seconds: int


def day_range(days: int, *, now: datetime | None = None) -> list[date]:
    """The last ``days`` calendar days in the site time zone, ending today, oldest first."""
    days = max(1, int(days))
    today = timezone.localdate(now or timezone.now())
    return [today - timedelta(days=offset) for offset in range(days - 1, -1, -1)]


def _since(days: int, now: datetime | None) -> datetime:
    first = day_range(days, now=now)[0]
    return timezone.make_aware(datetime.combine(first, time.min))


def _window(days: int, now: datetime | None) -> QuerySet[Generation]:
    """Generations accepted in the window; owners' deletions do not undo what they used."""
    return Generation.objects.filter(created_at__gte=_since(days, now))


def _by_day(qs: QuerySet[Generation]) -> QuerySet:
    return qs.annotate(day=TruncDate("created_at", tzinfo=timezone.get_current_timezone())).values("day")


def daily_generations(
    days: int = 30, by: Literal["model", "status"] = "model", *, now: datetime | None = None,
    queryset: QuerySet[Generation] | None = None,
) -> DailySeries:
    """Generations accepted per day, split by model id or by current status.

    Every key gets a value for every day (zeros included) so the series stack. Status
    keys come in lifecycle order; model keys by total, largest first.
    """
    if by not in ("model", "status"):
        raise ValueError("by must be 'model' or 'status'")
    day_list = day_range(days, now=now)
    index = {day: i for i, day in enumerate(day_list)}
    key = "model_id" if by == "model" else "status"
    qs = queryset if queryset is not None else Generation.objects.all()
    qs = qs.filter(created_at__gte=_since(days, now))
    rows = _by_day(qs).values("day", key).annotate(n=Count("pk")).order_by()
    series: dict[str, list[float]] = {}
    for row in rows:
        position = index.get(_as_date(row["day"]))
        if position is None:
            continue
        values = series.setdefault(row[key], [0] * len(day_list))
        values[position] += row["n"]
    if by == "status":
        order = [s for s in S.values if s in series]
    else:
        order = sorted(series, key=lambda k: (-sum(series[k]), k))
    return DailySeries(days=day_list, series={k: series[k] for k in order})


def daily_usage(*, user: Any = None, team: Team | None = None, days: int = 30,
                now: datetime | None = None) -> list[DayUsage]:
    """Per-day jobs, succeeded jobs, credits and video seconds, oldest day first, zeros included.

    ``user`` limits to their jobs, ``team`` to jobs run in that team (both: theirs in
    that team; neither: the whole site). Credits and seconds count only jobs that
    were not refunded (failed and cancelled jobs give their usage back).
    """
    day_list = day_range(days, now=now)
    qs = _window(days, now)
    if user is not None:
        qs = qs.filter(owner=user)
    if team is not None:
        qs = qs.filter(team=team)
    rows = _by_day(qs).annotate(
        jobs=Count("pk"),
        succeeded=Count("pk", filter=Q(status=S.SUCCEEDED)),
        credits_sum=Coalesce(Sum("credits", filter=BILLED_Q), Decimal(0)),
        seconds_sum=Coalesce(Sum("video_seconds", filter=BILLED_Q), 0),
    ).order_by()
    found = {_as_date(row["day"]): row for row in rows}
    result = []
    for day in day_list:
        row = found.get(day)
        if row is None:
            result.append(DayUsage(day=day))
        else:
            result.append(DayUsage(day=day, jobs=row["jobs"], succeeded=row["succeeded"],
                                   credits=Decimal(row["credits_sum"]), video_seconds=int(row["seconds_sum"])))
    return result


def credits_by_team(days: int = 30, *, now: datetime | None = None,
                    include_personal: bool = True) -> list[tuple[str, Decimal]]:
    """Credits spent per team in the window, largest first; personal jobs as "(no team)"."""
    rows = (
        _window(days, now).filter(BILLED_Q).values("team_id", "team__name")
        .annotate(total=Coalesce(Sum("credits"), Decimal(0)), n=Count("pk")).order_by("-total", "team__name")
    )
    result = []
    for row in rows:
        if row["team_id"] is None:
            if not include_personal:
                continue
            name = "(no team)"
        else:
            name = row["team__name"]
        result.append((name, Decimal(row["total"])))
    result.sort(key=lambda item: (-item[1], item[0]))
    return result


def top_users(days: int = 30, limit: int = 10, *, now: datetime | None = None) -> list[UserUsage]:
    """The users who spent the most credits in the window (then most jobs)."""
    User = get_user_model()
    username_field = f"owner__{User.USERNAME_FIELD}"
    rows = (
        _window(days, now).values("owner_id", username_field)
        .annotate(
            jobs=Count("pk"),
            credits_sum=Coalesce(Sum("credits", filter=BILLED_Q), Decimal(0)),
            seconds_sum=Coalesce(Sum("video_seconds", filter=BILLED_Q), 0),
        )
        .order_by("-credits_sum", "-jobs", username_field)[: max(0, int(limit))]
    )
    return [
        UserUsage(user_id=row["owner_id"], username=str(row[username_field]), jobs=row["jobs"],
                  credits=Decimal(row["credits_sum"]), video_seconds=int(row["seconds_sum"]))
        for row in rows
    ]


def totals(days: int = 30, *, now: datetime | None = None) -> dict[str, Any]:
    """Headline numbers for the window."""
    row = _window(days, now).aggregate(
        jobs=Count("pk"),
        succeeded=Count("pk", filter=Q(status=S.SUCCEEDED)),
        failed=Count("pk", filter=Q(status=S.FAILED)),
        credits=Coalesce(Sum("credits", filter=BILLED_Q), Decimal(0)),
        video_seconds=Coalesce(Sum("video_seconds", filter=BILLED_Q), 0),
        users=Count("owner", distinct=True),
    )
    return row


def _as_date(value: Any) -> date:
    # TruncDate answers a date, except on backends that hand back datetimes or strings.
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, str):
        return date.fromisoformat(value[:10])
    return value


def last_day_summary(*, now: datetime | None = None, hours: int = 24) -> dict[str, Any]:
    """The staff's daily summary: jobs accepted in the last ``hours``, how they ended, what they cost,
    and the commonest failure reasons (JSON-ready: numbers and text only)."""
    now = now or timezone.now()
    since = now - timedelta(hours=hours)
    window = Generation.objects.filter(created_at__gte=since, created_at__lt=now)
    row = window.aggregate(
        jobs=Count("pk"),
        succeeded=Count("pk", filter=Q(status=S.SUCCEEDED)),
        failed=Count("pk", filter=Q(status=S.FAILED)),
        cancelled=Count("pk", filter=Q(status=S.CANCELLED)),
        running=Count("pk", filter=Q(status__in=Generation.ACTIVE)),
        credits=Coalesce(Sum("credits", filter=BILLED_Q), Decimal(0)),
        video_seconds=Coalesce(Sum("video_seconds", filter=BILLED_Q), 0),
        users=Count("owner", distinct=True),
    )
    reasons = (
        window.filter(status=S.FAILED).values("error_code").annotate(n=Count("pk")).order_by("-n", "error_code")[:5]
    )
    credits = Decimal(row["credits"])
    return {
        "since": since.isoformat(), "until": now.isoformat(), "hours": hours,
        **{key: int(row[key]) for key in ("jobs", "succeeded", "failed", "cancelled", "running", "video_seconds",
                                            "users")},
        "credits": int(credits) if credits == credits.to_integral_value() else float(credits),
        "failure_reasons": [{"code": r["error_code"] or "unknown", "count": r["n"]} for r in reasons],
    }
