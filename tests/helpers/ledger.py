"""Sums over the quota ledger, to prove the counters equal what the ledger says."""
from __future__ import annotations

from decimal import Decimal

from django.db.models import Count, Sum

from generations.models import LedgerEntry


def ledger_totals(*, user=None, team=None) -> dict[tuple[str, str], Decimal]:
    """Sum of ledger reservations and refunds per (metric, period): equals the counters."""
    qs = LedgerEntry.objects.exclude(kind=LedgerEntry.Kind.CHARGE)
    if team is not None:
        qs = qs.filter(subject=f"team:{team.pk}")
    elif user is not None:
        qs = qs.filter(subject=f"user:{user.pk}")
    else:
        raise TypeError("ledger_totals needs a user or a team.")
    return {
        (row["metric"], row["period"]): row["total"]
        for row in qs.values("metric", "period").annotate(total=Sum("amount"), n=Count("id"))
    }
