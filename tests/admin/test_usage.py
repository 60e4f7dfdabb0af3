"""The staff's usage page: charts drawn server-side, and its link on the admin index."""
from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse

from tests.admin.helpers import changelist
from tests.helpers.factories import GenerationFactory, TeamFactory, UserFactory

pytestmark = pytest.mark.django_db


# --------------------------------------------------------------------------- usage charts


def test_usage_page_draws_the_charts_server_side(staff_client):
    team = TeamFactory(name="Blue <Team>")
    GenerationFactory(succeeded=True, team=team, credits=Decimal("12"), owner=UserFactory(username="hank"))
    GenerationFactory(failed=True)

    response = staff_client.get(reverse("admin:generations_usage"), {"days": "7"})

    html = response.content.decode()
    assert response.status_code == 200
    assert html.count('<svg class="gmi-chart"') == 5
    for title in ("Generations per day, by model", "Generations per day, by status", "Credits per team",
                  "Top users by credits", "Credits per day"):
        assert title in html
    assert "Blue &lt;Team&gt;" in html and "Blue <Team>" not in html
    assert "hank" in html
    assert "<script" not in html.split('id="content"', 1)[1]  # no chart library
    assert response.context["days"] == 7


def test_usage_page_ignores_an_odd_window(staff_client):
    assert staff_client.get(reverse("admin:generations_usage"), {"days": "abc"}).context["days"] == 30


def test_admin_index_links_the_usage_page(staff_client):
    html = staff_client.get(reverse("admin:index")).content.decode()

    assert reverse("admin:generations_usage") in html
    assert reverse("admin:generations_usage") in staff_client.get(changelist()).content.decode()
