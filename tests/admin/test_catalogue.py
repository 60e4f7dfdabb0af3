"""The catalogue admin: prices and order edited in place, the schema read-only, and Sync now."""
from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse

from generations.models import VideoModel
from tests.admin.helpers import change, changelist, messages_of
from tests.helpers.factories import VideoModelFactory

pytestmark = pytest.mark.django_db


# --------------------------------------------------------------------------- the catalogue


def test_model_list_edits_price_position_and_enabled_in_place(staff_client):
    model = VideoModelFactory(id="Veo3", price_credits=Decimal("10"), position=5)
    data = {
        "form-TOTAL_FORMS": "1", "form-INITIAL_FORMS": "1", "form-0-id": "Veo3",
        "form-0-enabled": "", "form-0-price_credits": "2.50", "form-0-price_unit": "second",
        "form-0-position": "1", "_save": "Save",
    }

    response = staff_client.post(changelist("videomodel"), data)

    assert response.status_code == 302
    model.refresh_from_db()
    assert (model.enabled, model.price_credits, model.price_unit, model.position) == (
        False, Decimal("2.50"), "second", 1)


def test_model_page_shows_the_parameter_schema_read_only(staff_client):
    model = VideoModelFactory()

    html = staff_client.get(change(model)).content.decode()

    assert "&quot;durationSeconds&quot;" in html
    assert 'name="parameters"' not in html
    assert 'name="price_credits"' in html


def test_sync_now_button_reads_the_catalogue_from_gmi(staff_client, gmi):
    html = staff_client.get(changelist("videomodel")).content.decode()
    assert reverse("admin:generations_videomodel_sync") in html

    response = staff_client.post(reverse("admin:generations_videomodel_sync"), follow=True)

    assert VideoModel.objects.filter(pk="Veo3").exists()
    assert "Catalogue synced:" in messages_of(response)[0]


def test_sync_now_without_a_key_says_so_instead_of_failing(staff_client, settings):
    settings.GENERATIONS = {"API_KEY": ""}

    response = staff_client.post(reverse("admin:generations_videomodel_sync"), follow=True)

    assert response.status_code == 200
    assert "GMI is not configured" in messages_of(response)[0]
