"""Notifications: one module per job.

``recording`` writes the rows after an event committed (never a send); ``delivery`` e-mails
them from a task (one, combined or as a digest); ``preferences`` holds each member's choices
and the signed unsubscribe links; ``inbox`` marks notifications read. This module holds the
links every e-mail and notice carries; the kinds a member may hear of are ``notification_kinds``.
"""
from __future__ import annotations

from typing import Any

from django.urls import NoReverseMatch, reverse

from ...conf import app_settings
from ...models import Notification, NotificationPreference

K = Notification.Kind
C = NotificationPreference.Channel


def site_path(name: str, *args: Any) -> str:
    """The path of a named page, or "" where the host mounts the app without it."""
    try:
        return reverse(name, args=args or None)
    except NoReverseMatch:  # a host that mounts the app without this page
        return ""


def absolute(path: str) -> str:
    """A path on this site as an absolute URL (``SITE_URL``): e-mails have no request to build one from."""
    if not path or path.startswith(("http://", "https://")):
        return path
    return str(app_settings.SITE_URL).rstrip("/") + path
