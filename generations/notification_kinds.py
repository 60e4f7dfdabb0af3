"""The kinds of notification a member may hear of, with the channels each offers: a table below
services and selectors, so the preferences' reads and the sending services share it."""
from __future__ import annotations

from dataclasses import dataclass

from .models import Notification, NotificationPreference

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
