"""Notification pages: the bell on every page, the list (mark read, mark all read), settings, the unsubscribe link."""
from __future__ import annotations

import re

import pytest
from django.core import mail, signing
from django.urls import reverse

from generations.models import Notification, NotificationPreference
from generations.services.notifications import delivery as notification_delivery
from generations.services.notifications import preferences as notification_preferences
from tests.helpers.factories import GenerationFactory

pytestmark = pytest.mark.django_db
K = Notification.Kind


def notice(recipient, title="Your video is ready", **fields):
    return Notification.objects.create(recipient=recipient, kind=fields.pop("kind", K.GENERATION_SUCCEEDED),
                                       title=title, **fields)


def bell_count(html: str) -> str | None:
    match = re.search(r"data-bell-count( hidden)?>(\d+)<", html)
    assert match, "no bell on the page"
    return None if match.group(1) else match.group(2)


@pytest.mark.parametrize("page", ["generations:gallery", "generations:usage", "generations:teams",
                                  "generations:tokens", "generations:notifications"])
def test_every_page_shows_the_bell_with_the_unread_count(member, user, other_user, page):
    notice(user)
    notice(user)
    notice(user, read_at="2026-01-01T00:00:00Z")
    notice(other_user)
    html = member.get(reverse(page)).content.decode()
    assert bell_count(html) == "2"
    assert f'href="{reverse("generations:notifications")}"' in html


def test_the_bell_hides_its_count_when_all_is_read(member, user):
    notice(user, read_at="2026-01-01T00:00:00Z")
    assert bell_count(member.get(reverse("generations:gallery")).content.decode()) is None


def test_the_list_shows_only_the_members_own_notifications(member, user, other_user):
    notice(user, "Mine to read", body="the body text")
    notice(other_user, "Someone else's")
    html = member.get(reverse("generations:notifications")).content.decode()
    assert "Mine to read" in html and "the body text" in html and "Someone else" not in html


def test_opening_another_members_notification_is_404(member, other_user):
    theirs = notice(other_user, link="/usage/")
    assert member.get(reverse("generations:notification-open", args=[theirs.pk])).status_code == 404
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_opening_a_notification_marks_it_read_and_follows_its_link(member, user):
    generation = GenerationFactory(owner=user, succeeded=True)
    mine = notice(user, link=reverse("generations:detail", args=[generation.pk]))
    response = member.get(reverse("generations:notification-open", args=[mine.pk]))
    assert response.status_code == 302 and response["Location"] == mine.link
    mine.refresh_from_db()
    assert mine.read_at is not None


def test_mark_read_and_mark_all_read_are_post_forms_for_the_members_own(member, user, other_user):
    first, second = notice(user), notice(user)
    theirs = notice(other_user)
    html = member.get(reverse("generations:notifications")).content.decode()
    assert html.count('name="csrfmiddlewaretoken"') >= 3 and "Mark all read" in html
    assert member.get(reverse("generations:notifications-read")).status_code == 405

    member.post(reverse("generations:notifications-read"), {"id": [str(first.pk), str(theirs.pk)]})
    assert list(Notification.objects.filter(read_at__isnull=True).order_by("pk")) == [second, theirs]
    response = member.post(reverse("generations:notifications-read"), {"all": "1"})
    assert response.status_code == 302
    assert list(Notification.objects.filter(read_at__isnull=True)) == [theirs]


def test_the_unread_tab_lists_only_unread(member, user):
    notice(user, "still new")
    notice(user, "seen already", read_at="2026-01-01T00:00:00Z")
    html = member.get(reverse("generations:notifications"), {"unread": "1"}).content.decode()
    assert "still new" in html and "seen already" not in html


def test_the_settings_page_saves_a_channel_and_a_digest_per_kind(member, user):
    url = reverse("generations:notification-preferences")
    html = member.get(url).content.decode()
    assert "Video ready" in html and "Daily summary" not in html  # members are not offered the staff summary
    response = member.post(url, {
        f"{K.GENERATION_SUCCEEDED}-channel": "in_app", f"{K.GENERATION_FAILED}-channel": "email",
        f"{K.GENERATION_FAILED}-digest": "on", f"{K.GENERATION_REMOVED}-channel": "off",
        f"{K.QUOTA_THRESHOLD}-channel": "email", f"{K.WEBHOOK_DISABLED}-channel": "email",
        f"{K.FILES_EXPIRING}-channel": "in_app",
    })
    assert response.status_code == 302
    saved = {p.kind: (p.channel, p.digest) for p in NotificationPreference.objects.filter(user=user)}
    assert saved[K.GENERATION_SUCCEEDED] == ("in_app", False) and saved[K.GENERATION_FAILED] == ("email", True)
    assert saved[K.GENERATION_REMOVED] == ("off", False)


def test_staff_see_the_daily_summary_opt_in(client, staff_user):
    client.force_login(staff_user)
    assert "Daily summary" in client.get(reverse("generations:notification-preferences")).content.decode()


def test_opening_the_unsubscribe_link_changes_nothing_and_offers_a_post_button(client, user):
    notice(user, email_status="pending", email_due_at="2020-01-01T00:00:00Z")
    notification_delivery.send_pending_emails()
    link = mail.outbox[0].extra_headers["List-Unsubscribe"].strip("<>")
    path = "/" + link.split("://", 1)[1].split("/", 1)[1]

    response = client.get(path)  # not signed in; as a link scanner opens it
    html = response.content.decode()
    assert response.status_code == 200
    assert "Video ready" in html and "Stop these e-mails" in html
    assert re.search(rf'<form method="post" action="{re.escape(path)}"', html)
    assert "<script" not in html.split('class="gmi-card"')[1] and "style=" not in html
    assert not NotificationPreference.objects.exists()


def test_the_unsubscribe_button_stops_the_emails_then_offers_undo_and_off(client, user):
    token = notification_preferences.unsubscribe_token(user_id=user.pk, kind=K.GENERATION_SUCCEEDED)
    url = reverse("generations:notification-unsubscribe", args=[token])
    response = client.post(url)  # the page's button, not signed in and without a CSRF token
    html = response.content.decode()
    assert response.status_code == 200 and "no longer get e-mails about" in html
    assert NotificationPreference.objects.get(user=user, kind=K.GENERATION_SUCCEEDED).channel == "in_app"
    changes = re.search(r'name="changes" value="([^"]+)"', html).group(1)

    client.post(url, {"channel": "off", "changes": changes})  # "turn them off entirely"
    assert NotificationPreference.objects.get(user=user, kind=K.GENERATION_SUCCEEDED).channel == "off"
    response = client.post(url, {"channel": "email", "changes": changes})  # "undo"
    assert "again" in response.content.decode()
    assert NotificationPreference.objects.get(user=user, kind=K.GENERATION_SUCCEEDED).channel == "email"


def test_resubscribing_needs_the_pages_signed_value(client, user):
    token = notification_preferences.unsubscribe_token(user_id=user.pk, kind=K.GENERATION_SUCCEEDED)
    url = reverse("generations:notification-unsubscribe", args=[token])
    client.post(url)
    for data in ({"channel": "email"}, {"channel": "email", "changes": token}, {"channel": "pager", "changes": ""}):
        assert client.post(url, data).status_code == 400
    assert NotificationPreference.objects.get(user=user, kind=K.GENERATION_SUCCEEDED).channel == "in_app"


def test_a_mail_clients_one_click_post_unsubscribes(client, user):
    token = notification_preferences.unsubscribe_token(user_id=user.pk, kind=K.QUOTA_THRESHOLD)
    response = client.post(reverse("generations:notification-unsubscribe", args=[token]),
                           "List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded")
    assert response.status_code == 200
    assert NotificationPreference.objects.get(user=user, kind=K.QUOTA_THRESHOLD).channel == "in_app"


def test_a_tampered_unsubscribe_link_changes_nothing(client, user):
    token = notification_preferences.unsubscribe_token(user_id=user.pk, kind=K.GENERATION_SUCCEEDED)
    url = reverse("generations:notification-unsubscribe", args=[token[:-2] + ("xx" if token[-2:] != "xx" else "yy")])
    for method in (client.get, client.post):
        response = method(url)
        assert response.status_code == 400 and "not valid" in response.content.decode()
    assert not NotificationPreference.objects.exists()


def test_a_token_signed_for_another_member_with_another_salt_is_refused(client, user, other_user):
    forged = signing.dumps({"u": other_user.pk, "k": K.GENERATION_SUCCEEDED}, salt="generations.other", compress=True)
    for method in (client.get, client.post):
        response = method(reverse("generations:notification-unsubscribe", args=[forged]))
        assert response.status_code == 400 and "not valid" in response.content.decode()
    assert not NotificationPreference.objects.exists()


def test_a_token_signed_for_another_kind_acts_only_on_that_kind(client, user):
    token = notification_preferences.unsubscribe_token(user_id=user.pk, kind=K.WEBHOOK_DISABLED)
    response = client.post(reverse("generations:notification-unsubscribe", args=[token]))
    assert response.status_code == 200 and "Webhook disabled" in response.content.decode()
    changed = {p.kind: p.channel for p in NotificationPreference.objects.filter(user=user)}
    assert changed == {K.WEBHOOK_DISABLED: "in_app"}


def test_pages_ask_for_a_login(client, db):
    for name in ("generations:notifications", "generations:notification-preferences"):
        response = client.get(reverse(name))
        assert response.status_code == 302 and "login" in response["Location"]


def test_mark_read_ignores_an_id_that_is_a_non_ascii_digit(member, user):
    mine = notice(user)
    response = member.post(reverse("generations:notifications-read"), {"id": ["²", "٣", str(mine.pk)]})
    assert response.status_code == 302
    mine.refresh_from_db()
    assert mine.read_at is not None


def test_an_unsubscribe_link_older_than_its_lifetime_points_at_the_settings_page(client, user, monkeypatch):
    import time

    real_time = time.time
    monkeypatch.setattr(time, "time", lambda: real_time() - 400 * 86400)  # e-mailed 400 days ago
    old = notification_preferences.unsubscribe_token(user_id=user.pk, kind=K.GENERATION_SUCCEEDED)
    monkeypatch.setattr(time, "time", lambda: real_time() - 30 * 86400)  # e-mailed a month ago
    recent = notification_preferences.unsubscribe_token(user_id=user.pk, kind=K.GENERATION_SUCCEEDED)
    monkeypatch.setattr(time, "time", real_time)

    for method in (client.get, client.post):
        response = method(reverse("generations:notification-unsubscribe", args=[old]))
        html = response.content.decode()
        assert response.status_code == 400 and "has expired" in html and "work for 60 days" in html
        assert reverse("generations:notification-preferences") in html
    assert not NotificationPreference.objects.filter(user=user).exists()
    assert client.post(reverse("generations:notification-unsubscribe", args=[recent])).status_code == 200
    assert NotificationPreference.objects.get(user=user, kind=K.GENERATION_SUCCEEDED).channel == "in_app"
