"""Notifications: one module per job.

``recording`` writes the rows after an event committed (never a send); ``delivery`` e-mails
them from a task (one, combined or as a digest); ``preferences`` holds each member's choices
and the signed unsubscribe links; ``inbox`` marks notifications read. This module holds the
kinds a member may hear of and the links every e-mail and notice carries.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.urls import NoReverseMatch, reverse

from ...conf import app_settings
from ...models import Notification, NotificationPreference

K = Notification.Kind
C = NotificationPreference.Channel
ALL_CHANNELS: tuple[str, ...] = (C.OFF, C.IN_APP, C.EMAIL)
#: An unsubscribe token naming this kind stands for every kind (combined e-mails).
EVERY_KIND = "all"


@dataclass(frozen=True)
class KindInfo:
    label: str
    help: str
    channels: tuple[str, ...] = ALL_CHANNELS
    staff_only: bool = False


#: Every kind a member may hear of, as the preferences page and the API describe it.
KINDS: dict[str, KindInfo] = {
    K.GENERATION_SUCCEEDED: KindInfo("Video ready", "One of your videos has finished and can be played."),
    K.GENERATION_FAILED: KindInfo("Job failed", "One of your jobs failed; the notice says why."),
    K.GENERATION_REMOVED: KindInfo("Video removed", "Staff removed one of your videos; the notice says why."),
    K.QUOTA_THRESHOLD: KindInfo("Quota alerts", "One of your quotas, or a pool of a team you run, reached 80 % or "
                                "100 % (once per threshold and period)."),
    K.WEBHOOK_DISABLED: KindInfo("Webhook disabled", "A webhook of yours was disabled after failing."),
    K.FILES_EXPIRING: KindInfo("Files to be removed", "The files of some of your videos will be deleted soon "
                               "under the site's retention (keep a video to spare it)."),
    K.DAILY_SUMMARY: KindInfo("Daily summary", "Jobs, failures and spend of the whole site over the last 24 hours.",
                              channels=(C.OFF, C.EMAIL), staff_only=True),
    K.CATALOGUE_HELD_BACK: KindInfo("New models held back", "A catalogue sync stored new models disabled because "
                                    "the most models allowed are enabled already.", staff_only=True),
}


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
