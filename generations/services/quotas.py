"""Quotas: exact reservations on usage counters, settlement and refunds through the ledger.

A pure ledger under ``lifecycle``: it writes counters and ledger rows, never a status or history,
so ``lifecycle.transition`` can settle a job in the transaction that ends it. A reservation that
crosses a threshold of a limit (``QUOTA_ALERT_THRESHOLDS``) is announced after commit, once per
subject, metric, period and threshold: a ``quota.threshold`` webhook event and a notification.
"""
from __future__ import annotations

import calendar
import logging
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, cast

from django.db import IntegrityError, connection, transaction
from django.db.models import F, Field, Q, Sum
from django.utils import timezone

from .. import metrics, telemetry
from ..conf import app_settings
from ..exceptions import QuotaExceeded
from ..models import Generation, LedgerEntry, QuotaAlert, Team, UsageCounter, UserProfile
from ..policies import quota_policy
from ..types import User
from . import audit
from .notifications import recording as notification_recording
from .webhooks import recording as webhook_recording

logger = logging.getLogger("generations.quotas")

DAILY = ("daily_jobs",)
CENT = Decimal("0.01")


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


@dataclass(frozen=True)
class Taken:
    """What one charge took: the counter's period and its value right after the move."""

    charge: Charge
    period: str
    used: Decimal


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


def _full(charge: Charge) -> bool:
    """A stored metric's "room left now": full once what is stored reaches the limit.

    A job's size is known only once it is mirrored, so a submission is accepted while the
    owner (or the team) is below the limit and refused once the stored bytes reach it.
    """
    return charge.limit is not None and storage_used(user=charge.user, team=charge.team) >= charge.limit


def _counter_qs(charge: Charge, period: str):
    if charge.team is not None:
        return UsageCounter.objects.filter(team=charge.team, user__isnull=True, metric=charge.metric, period=period)
    return UsageCounter.objects.filter(user=charge.user, team__isnull=True, metric=charge.metric, period=period)


def _refusal(charge: Charge, now: datetime) -> QuotaExceeded:
    """The refusal over ``charge``'s limit, counted for /metrics by limit."""
    telemetry.QUOTA_REFUSALS.labels(limit=charge.metric).inc()
    return QuotaExceeded(limit=charge.metric, resets_at=resets_at(charge.metric, now), scope=charge.scope)


def _create_counter(charge: Charge, period: str) -> None:
    # INSERT ... ON CONFLICT DO NOTHING: a concurrent creator wins harmlessly, with no savepoint.
    UsageCounter.objects.bulk_create([UsageCounter(
        user=None if charge.team is not None else charge.user, team=charge.team, metric=charge.metric, period=period,
    )], ignore_conflicts=True)


def take_usage(*, charges: list[Charge], now: datetime | None = None) -> list[Taken]:
    """Move every counter by its charge, or raise ``QuotaExceeded`` (the caller's transaction rolls back).

    Must run inside the transaction that creates the generation. Each counter moves only
    where ``used <= limit - amount`` holds in the database, which decides: N concurrent
    submissions against a remaining quota of Q accept exactly min(N, Q). All counters
    move in one UPDATE, which returns the ones it moved; a counter it did not move is
    either missing (the first job of a period: created, then moved on its own) or full.
    Returns what was taken (with each counter's new value), for ``record_reservations``.
    """
    now = now or timezone.now()
    wanted = []
    for charge in charges:
        if charge.metric in metrics.STORED_METRICS:
            if _full(charge):
                raise _refusal(charge, now)
            continue
        if charge.amount == 0 and charge.limit is None:
            continue
        if charge.limit is not None and charge.amount > charge.limit:
            raise _refusal(charge, now)
        wanted.append((charge, period_for(charge.metric, now)))
    moved = _move_counters(wanted)
    taken = []
    for index, (charge, period) in enumerate(wanted):
        if index in moved:
            taken.append(Taken(charge, period, moved[index]))
            continue
        qs = _counter_qs(charge, period)
        if charge.limit is not None:
            qs = qs.filter(used__lte=Decimal(charge.limit) - charge.amount)
        # Missing when the UPDATE began, or full: made sure it exists (another submission may
        # have created it meanwhile), then asked again on its own; the database decides.
        if not _counter_qs(charge, period).exists():
            _create_counter(charge, period)
        updated = qs.update(used=F("used") + charge.amount)
        if not updated:
            raise _refusal(charge, now)
        # Locked by the UPDATE until commit: the value read is the one it wrote.
        taken.append(Taken(charge, period, _counter_qs(charge, period).values_list("used", flat=True).get()))
    return taken


def _move_counters(wanted: list[tuple[Charge, str]]) -> dict[int, Decimal]:
    """One conditional UPDATE of every wanted counter; index in ``wanted`` -> new value, of those it moved.

    One statement rather than one per counter: a submission is a handful of round trips,
    and this was three of them. Written in SQL because the ORM's ``update()`` cannot
    say which rows it changed (``RETURNING`` is in PostgreSQL and SQLite 3.35+).
    """
    if not wanted:
        return {}
    meta = UsageCounter._meta
    quote = connection.ops.quote_name
    user_field, team_field = meta.get_field("user"), meta.get_field("team")
    user_col, team_col, metric_col, period_col, used_col = (
        quote(str(cast(Field, meta.get_field(name)).column)) for name in ("user", "team", "metric", "period", "used"))
    cases: list[str] = []
    conditions: list[str] = []
    case_params: list[Any] = []
    condition_params: list[Any] = []
    index_of: dict[tuple[str, Any, str], int] = {}
    for index, (charge, period) in enumerate(wanted):
        # As in _counter_qs: a team's counter has no user, a user's has no team.
        kind, subject_col, empty_col, subject_pk = (
            ("team", team_col, user_col, charge.team.pk) if charge.team is not None
            else ("user", user_col, team_col, getattr(charge.user, "pk", None)))
        match = f"{subject_col} = %s AND {empty_col} IS NULL AND {metric_col} = %s AND {period_col} = %s"
        keys: list[Any] = [subject_pk, charge.metric, period]
        index_of[(kind, subject_pk, charge.metric)] = index
        cases.append(f"WHEN {match} THEN %s")
        case_params += [*keys, charge.amount]
        if charge.limit is not None:
            conditions.append(f"({match} AND {used_col} <= %s)")
            condition_params += [*keys, Decimal(charge.limit) - charge.amount]
        else:
            conditions.append(f"({match})")
            condition_params += keys
    moved_to = f"{used_col} + CASE {' '.join(cases)} ELSE 0 END"
    if connection.vendor == "sqlite":
        moved_to = f"CAST({moved_to} AS NUMERIC)"  # as the ORM writes decimal arithmetic there
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {quote(meta.db_table)} SET {used_col} = {moved_to} WHERE {' OR '.join(conditions)} "
            f"RETURNING {user_col}, {team_col}, {metric_col}, {used_col}",
            [*case_params, *condition_params],
        )
        rows = cursor.fetchall()
    moved: dict[int, Decimal] = {}
    for user_id, team_id, metric, used in rows:
        # Keys as the model holds them (a UUID key comes back from SQLite as text).
        key = (("team", team_field.target_field.to_python(team_id), metric) if team_id is not None
               else ("user", user_field.target_field.to_python(user_id), metric))
        if key in index_of:
            moved[index_of[key]] = Decimal(str(used)).quantize(CENT)  # SQLite answers a float
    return moved


def record_reservations(
    *, generation: Generation, taken: list[Taken], now: datetime | None = None
) -> None:
    """The ledger rows of what ``take_usage`` took, in one INSERT; thresholds it crossed are announced after commit."""
    now = now or timezone.now()
    LedgerEntry.objects.bulk_create([
        LedgerEntry(generation=generation, user=generation.owner, team=t.charge.team, subject=t.charge.subject,
                    attempt=generation.attempt, kind=LedgerEntry.Kind.RESERVE, metric=t.charge.metric,
                    period=t.period, amount=t.charge.amount, created_at=now)
        for t in taken
    ])
    crossings = thresholds_crossed(taken, now=now)
    if crossings:
        transaction.on_commit(lambda: announce_crossings(generation, crossings))


def record_batch_reservations(
    *, items: list[tuple[Generation, list[Charge]]], taken: list[Taken], now: datetime | None = None
) -> None:
    """The ledger rows of a batch, whose counters ``take_usage`` moved once by the summed charges.

    Each generation gets its own rows (its own charges, in the periods the batch's charges
    took), so refunding one job of a batch gives back exactly that job's share. One INSERT.
    """
    now = now or timezone.now()
    periods = {(t.charge.metric, t.charge.subject): t.period for t in taken}
    LedgerEntry.objects.bulk_create([
        LedgerEntry(generation=generation, user=generation.owner, team=charge.team, subject=charge.subject,
                    attempt=generation.attempt, kind=LedgerEntry.Kind.RESERVE, metric=charge.metric,
                    period=periods[(charge.metric, charge.subject)], amount=charge.amount, created_at=now)
        for generation, charges in items
        for charge in charges if (charge.metric, charge.subject) in periods
    ])
    crossings = thresholds_crossed(taken, now=now)
    if crossings and items:
        first = items[0][0]
        transaction.on_commit(lambda: announce_crossings(first, crossings))


@dataclass(frozen=True)
class Crossing:
    """A reservation took a counter over ``threshold`` percent of its limit."""

    charge: Charge
    period: str
    threshold: int
    used: Decimal

    @property
    def quota(self) -> dict[str, Any]:
        """The ``quota`` object of the ``quota.threshold`` webhook body (README, "Notifications")."""
        limit = int(self.charge.limit or 0)
        reset = resets_at(self.charge.metric, timezone.make_aware(datetime.combine(
            _period_start(self.charge.metric, self.period), time(12)), timezone.get_default_timezone()))
        return {
            "metric": self.charge.metric, "limit": limit, "used": _plain_number(self.used),
            "percent": _plain_number(min(self.used * 100 / limit, Decimal(999)).quantize(Decimal("0.1")))
            if limit else 100,
            "threshold": self.threshold, "period": self.period, "scope": self.charge.scope,
            "resets_at": reset.isoformat() if reset else None,
        }


def _period_start(metric: str, period: str):
    return datetime.strptime(period, "%Y-%m-%d" if metric in DAILY else "%Y-%m").date()


def _plain_number(value: Decimal) -> int | float:
    return int(value) if value == value.to_integral_value() else float(value)


def thresholds_crossed(taken: list[Taken], *, now: datetime) -> list[Crossing]:
    """Which thresholds the counters just moved by ``taken`` crossed (no query: the moves returned the values).

    The values are those the reserving transaction wrote while holding the rows' locks, so
    of concurrent reservations exactly one sees a given threshold crossed.
    """
    thresholds = sorted({int(t) for t in app_settings.QUOTA_ALERT_THRESHOLDS or ()})
    crossings = []
    for t in taken:
        charge = t.charge
        if not charge.limit or charge.amount <= 0:
            continue
        before = t.used - charge.amount
        for threshold in thresholds:
            level = Decimal(charge.limit) * threshold / 100
            if before < level <= t.used:
                crossings.append(Crossing(charge=charge, period=t.period, threshold=threshold, used=t.used))
    return crossings


def announce_crossings(generation: Generation, crossings: list[Crossing]) -> None:
    """After commit: each crossing not announced before becomes a ``quota.threshold`` webhook event and a notification.

    The unique ``QuotaAlert`` row makes it once per subject, metric, period and threshold, also
    when usage given back by a refund crosses the same threshold again. A failure here never
    reaches the submission, which already committed.
    """
    for crossing in crossings:
        charge = crossing.charge
        try:
            with transaction.atomic():
                QuotaAlert.objects.create(subject=charge.subject, metric=charge.metric, period=crossing.period,
                                          threshold=crossing.threshold, limit=int(charge.limit or 0),
                                          used=crossing.used, generation=generation)
        except IntegrityError:
            continue  # announced before in this period
        except Exception:
            logger.exception("could not record the quota alert of generation %s", generation.pk)
            continue
        quota = crossing.quota
        try:
            webhook_recording.record_quota_event(generation=generation, quota=quota, team=charge.team)
        except Exception:
            logger.exception("could not record quota.threshold webhooks for generation %s", generation.pk)
        try:
            notification_recording.announce_quota_threshold(generation=generation, quota=quota, team=charge.team)
        except Exception:
            logger.exception("could not record the quota notification of generation %s", generation.pk)


def reserve_generation(generation: Generation, charges: list[Charge]) -> None:
    """Take the job's usage from every counter and write its ledger rows, or raise ``QuotaExceeded``.

    Must run inside the transaction that creates or re-queues the generation.
    """
    now = timezone.now()
    record_reservations(generation=generation, taken=take_usage(charges=charges, now=now), now=now)


def _settle(generation: Generation, kind: str, *, note: str = "", then=None) -> int:
    """Write one ``kind`` ledger row per reservation of the current attempt, each at most once.

    The unique ledger key (generation, attempt, kind, metric, subject) turns a second
    settlement into an IntegrityError, so two workers settling at once cannot both
    count. ``then(entry)`` runs in the same savepoint as the row it follows.
    """
    settled = 0
    reservations = LedgerEntry.objects.filter(
        generation=generation, attempt=generation.attempt, kind=LedgerEntry.Kind.RESERVE
    )
    sign = -1 if kind == LedgerEntry.Kind.REFUND else 1
    for entry in reservations:
        try:
            with transaction.atomic():
                LedgerEntry.objects.create(
                    generation=generation, user=entry.user, team=entry.team, subject=entry.subject,
                    attempt=entry.attempt, kind=kind, metric=entry.metric, period=entry.period,
                    amount=sign * entry.amount, note=note,
                )
                if then is not None:
                    then(entry)
                settled += 1
        except IntegrityError:
            continue  # already settled
    return settled


def _give_back(entry: LedgerEntry) -> None:
    counters = UsageCounter.objects.filter(metric=entry.metric, period=entry.period)
    if entry.subject.startswith("team:"):
        counters = counters.filter(team=entry.team_id, user__isnull=True)
    else:
        counters = counters.filter(user=entry.user_id, team__isnull=True)
    counters.filter(used__gte=entry.amount).update(used=F("used") - entry.amount)


def refund_generation(generation: Generation, *, note: str = "") -> int:
    """Give back everything the current attempt reserved, exactly once. Returns rows refunded."""
    return _settle(generation, LedgerEntry.Kind.REFUND, note=note, then=_give_back)


def charge_generation(generation: Generation) -> None:
    """Record that a finished job's reservations became charges (the counters stay as they are)."""
    _settle(generation, LedgerEntry.Kind.CHARGE)


def in_flight_count(user: User) -> int:
    """Jobs of ``user`` at GMI now, counted from job state so a crashed worker never leaks a slot."""
    return Generation.objects.filter(in_flight_q(), owner=user).count()


def in_flight_q() -> Q:
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


def _describe(limits: dict[str, int | None], used: dict[str, Any], now: datetime) -> dict[str, Any]:
    def number(value: Any) -> int | float:
        value = Decimal(value)
        return int(value) if value == value.to_integral_value() else float(value)

    remaining = {
        metric: None if limit is None else number(max(Decimal(limit) - Decimal(used.get(metric, 0)), Decimal(0)))
        for metric, limit in limits.items()
    }
    resets = {metric: resets_at(metric, now) for metric in limits}
    return {
        "limits": dict(limits),
        "used": {metric: number(used.get(metric, 0)) for metric in limits},
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
            full = _full(charge)
        else:
            counter = _counter_qs(charge, period_for(charge.metric, now)).first()
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
        "credits": float(credits) if credits != credits.to_integral_value() else int(credits),
        "video_seconds": video_seconds,
        "accepted": refusal is None,
        "refusal": refusal,
        "will_wait": refusal is None and waits,
        "usage": usage_for_user(user, now),
    }


def set_user_limits(*, user: User, limits: dict[str, int | None]) -> Any:
    """Override a user's limits; a None value clears the override (back to the site default)."""
    unknown = set(limits) - set(metrics.USER_METRICS)
    if unknown:
        raise ValueError(f"Unknown limits: {', '.join(sorted(unknown))}")
    profile, _ = UserProfile.objects.get_or_create(user=user)
    previous = {name: getattr(profile, name) for name in limits}
    for name, value in limits.items():
        setattr(profile, name, value)
    if limits:
        profile.save(update_fields=list(limits))
        audit.record_quota_change(target=profile, previous=previous, limits=limits)
    return profile


def set_team_limits(*, team: Team, limits: dict[str, int | None]) -> Team:
    """Set a team's pools; None clears the override (back to the site default)."""
    unknown = set(limits) - set(metrics.TEAM_METRICS)
    if unknown:
        raise ValueError(f"Teams have no {', '.join(sorted(unknown))} pool")
    previous = {name: getattr(team, name) for name in limits}
    for name, value in limits.items():
        setattr(team, name, value)
    if limits:
        team.save(update_fields=list(limits))
        audit.record_quota_change(target=team, previous=previous, limits=limits)
    return team
