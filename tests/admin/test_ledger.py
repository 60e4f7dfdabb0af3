"""The ledger and the usage counters: read-only and filterable."""
from __future__ import annotations

import pytest
from django.urls import reverse

from generations.models import LedgerEntry, UsageCounter
from tests.admin.helpers import change, changelist, submitted

pytestmark = pytest.mark.django_db


# --------------------------------------------------------------------------- ledger, counters


def test_ledger_is_read_only_and_filterable(staff_client, user):
    generation = submitted(user)
    entry = LedgerEntry.objects.filter(generation=generation).first()

    listing = staff_client.get(changelist("ledgerentry"), {"kind__exact": "reserve", "metric__exact": "daily_jobs"})
    assert [e.pk for e in listing.context["cl"].result_list] == [
        LedgerEntry.objects.get(generation=generation, metric="daily_jobs").pk]
    assert staff_client.get(reverse("admin:generations_ledgerentry_add")).status_code == 403
    page = staff_client.get(change(entry))
    assert page.status_code == 200 and 'name="amount"' not in page.content.decode()
    assert staff_client.post(reverse("admin:generations_ledgerentry_delete", args=[entry.pk]),
                             {"post": "yes"}).status_code == 403
    assert LedgerEntry.objects.filter(pk=entry.pk).exists()


def test_usage_counters_are_read_only(staff_client, user):
    submitted(user)
    counter = UsageCounter.objects.first()

    assert staff_client.get(changelist("usagecounter")).status_code == 200
    assert staff_client.get(reverse("admin:generations_usagecounter_add")).status_code == 403
    assert 'name="used"' not in staff_client.get(change(counter)).content.decode()
