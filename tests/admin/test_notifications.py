"""Notifications in the admin: staff with the view permission read them; nobody adds or edits them there."""
from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from generations.models import Notification
from tests.helpers.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_staff_read_notifications_but_cannot_add_or_change_them(staff_client, user):
    notice = Notification.objects.create(recipient=user, kind="generation_failed", title="Your video could not be made")
    listing = staff_client.get(reverse("admin:generations_notification_changelist"))
    assert listing.status_code == 200 and "Your video could not be made" in listing.content.decode()
    assert staff_client.get(reverse("admin:generations_notification_add")).status_code == 403
    page = staff_client.get(reverse("admin:generations_notification_change", args=[notice.pk]))
    assert page.status_code == 200 and 'name="title"' not in page.content.decode()  # read-only


def test_staff_without_the_view_permission_do_not_see_them(client, user):
    clerk = UserFactory(username="clerk", is_staff=True)
    clerk.user_permissions.add(Permission.objects.get(codename="view_generation"))
    client.force_login(clerk)
    assert client.get(reverse("admin:generations_notification_changelist")).status_code == 403
    assert client.get(reverse("admin:generations_quotaalert_changelist")).status_code == 403
