"""Quotas: the ledger. Exact reservations on usage counters, settlement and refunds as ledger rows.

Counters and ledger rows only, under ``lifecycle``: never a status, a history row or an
announcement, so ``lifecycle.transition`` can settle a job in the transaction that ends it.
What a job would take and every read of usage are in ``selectors.quotas``; the thresholds a
reservation crossed are announced by ``quota_alerts``.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, cast

from django.db import IntegrityError, connection, transaction
from django.db.models import F, Field
from django.utils import timezone

from .. import metrics, telemetry
from ..exceptions import QuotaExceeded
from ..models import Generation, LedgerEntry, UsageCounter
from ..selectors.quotas import Charge, counter_qs, is_full, period_for, resets_at

CENT = Decimal("0.01")


@dataclass(frozen=True)
class Taken:
    """What one charge took: the counter's period and its value right after the move."""

    charge: Charge
    period: str
    used: Decimal


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
            if is_full(charge):
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
        qs = counter_qs(charge, period)
        if charge.limit is not None:
            qs = qs.filter(used__lte=Decimal(charge.limit) - charge.amount)
        # Missing when the UPDATE began, or full: made sure it exists (another submission may
        # have created it meanwhile), then asked again on its own; the database decides.
        if not counter_qs(charge, period).exists():
            _create_counter(charge, period)
        updated = qs.update(used=F("used") + charge.amount)
        if not updated:
            raise _refusal(charge, now)
        # Locked by the UPDATE until commit: the value read is the one it wrote.
        taken.append(Taken(charge, period, counter_qs(charge, period).values_list("used", flat=True).get()))
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
    """The ledger rows of what ``take_usage`` took, in one INSERT (``quota_alerts`` announces what it crossed)."""
    now = now or timezone.now()
    LedgerEntry.objects.bulk_create([
        LedgerEntry(generation=generation, user=generation.owner, team=t.charge.team, subject=t.charge.subject,
                    attempt=generation.attempt, kind=LedgerEntry.Kind.RESERVE, metric=t.charge.metric,
                    period=t.period, amount=t.charge.amount, created_at=now)
        for t in taken
    ])


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


def reserve_generation(generation: Generation, charges: list[Charge], *, now: datetime | None = None) -> list[Taken]:
    """Take the job's usage from every counter and write its ledger rows, or raise ``QuotaExceeded``;
    returns what was taken (``quota_alerts.announce_on_commit`` announces the thresholds it crossed).

    Must run inside the transaction that creates or re-queues the generation.
    """
    now = now or timezone.now()
    taken = take_usage(charges=charges, now=now)
    record_reservations(generation=generation, taken=taken, now=now)
    return taken


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
