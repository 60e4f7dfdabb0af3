"""The app's settings: one ``GENERATIONS`` dict over DEFAULTS, read on every access."""
from __future__ import annotations

from typing import Any

from django.conf import settings

DEFAULTS: dict[str, Any] = {
    # Upstream
    "API": "requestqueue",  # which GMI API generation: "requestqueue" or "legacy" (GMI_API)
    "BACKEND": None,  # dotted path to a GMIBackend subclass, which then replaces the one API names
    "API_KEY": "",
    "ORG_ID": "",
    "BASE_URL": None,  # None: the chosen backend's production URL
    "MODELS_URL": None,  # legacy API only
    "CONNECT_TIMEOUT": 5.0,
    "READ_TIMEOUT": 30.0,
    # Lifecycle
    "POLL_INTERVAL": 5.0,  # seconds between polls of one job
    "MAX_POLL_INTERVAL": 60.0,  # backoff ceiling after upstream errors
    "ENGINE_TICK": 0.05,  # longest an engine waits before looking again for due work
    "ENGINE_STALE": 6.0,  # an engine silent this long is presumed dead: its shards go to the others
    "UPSTREAM_CONCURRENCY": 32,  # upstream calls in flight at once per worker process (polls, sends, lists)
    "MIRROR_CONCURRENCY": 16,  # mirrors at once per engine (mostly waiting on storage: cheap threads)
    # With many jobs of one model due at once, one call to GMI's request list tells which
    # changed; only those (and any the list does not show) are fetched one by one.
    "POLL_BY_LIST": True,
    "POLL_BY_LIST_MIN": 8,
    "MAX_JOB_AGE": 6 * 3600,  # a job still running upstream after this is failed
    "RECONCILE_AFTER": 30.0,  # an unconfirmed submission is reconciled after this
    "RECONCILE_GIVE_UP": 600.0,  # ... and failed (never re-sent) after this
    "MAX_IN_FLIGHT": 20,  # jobs at GMI at once, site-wide
    "NEW_MODELS_ENABLED": True,  # False: models new in the catalogue wait for staff (and a price)
    # Mirroring
    "STORAGE_ALIAS": "generations",
    "MIRROR_ALLOWED_HOSTS": ["storage.googleapis.com", ".gmi-serving.com", ".gmicloud.ai"],
    "MIRROR_MAX_BYTES": 1024 * 1024 * 1024,
    "MIRROR_DEADLINE": 600.0,
    "MIRROR_LEASE": 900.0,  # a mirroring job untouched this long is picked up again
    "MIRROR_ATTEMPTS": 5,
    # Webhooks
    "SITE_URL": "http://127.0.0.1:8000",  # absolute URLs in webhook bodies (no request to build them from)
    "WEBHOOK_ALLOWED_HOSTS": [],  # targets allowed even on private or loopback addresses (mirror syntax)
    "WEBHOOK_CONCURRENCY": 8,  # deliveries in flight at once per runner (a pool of its own, not GMI's)
    "WEBHOOK_CONNECT_TIMEOUT": 3.0,
    "WEBHOOK_TIMEOUT": 10.0,  # a whole delivery, answer included
    "WEBHOOK_RETRY_HOURS": 26,  # a message is retried this long after it was recorded, then given up
    "WEBHOOK_DISABLE_AFTER_DAYS": 3,  # an endpoint failing without a success this long is disabled
    # Fairness (README, "Webhooks"): the runner takes due deliveries turn by turn per owner, and one
    # owner's deliveries hold at most this share of WEBHOOK_CONCURRENCY's threads at once (at least one).
    "WEBHOOK_OWNER_SHARE": 0.25,
    # Messages waiting (pending or retrying) for one member's targets together, and for one target
    # (an endpoint, or one submission URL); past either, new messages for it are not recorded, and
    # a submission carrying "webhook" is refused (409 limit_reached) past the member's cap.
    "WEBHOOK_MAX_PENDING_PER_OWNER": 1000,
    "WEBHOOK_MAX_PENDING_PER_TARGET": 200,
    # Notifications (README, "Notifications")
    "NOTIFICATION_POLICY": "generations.policies.NotificationPolicy",
    # Each kind's channel for members who chose none: "off", "in_app" or "email".
    "NOTIFICATION_DEFAULTS": {
        "generation_succeeded": "email",
        "generation_failed": "email",
        "generation_removed": "email",
        "quota_threshold": "email",
        "webhook_disabled": "email",
        "daily_summary": "off",  # staff opt in
        "catalogue_held_back": "email",  # staff who manage the catalogue, at most once a day
        "files_expiring": "email",
    },
    "NOTIFICATION_DIGEST_MINUTES": 60,  # a digest collects a kind's e-mails this long, then goes out as one
    "NOTIFICATION_EMAIL_GAP_SECONDS": 60,  # at most one e-mail per member per gap: what arrives meanwhile is combined
    "NOTIFICATION_FROM_EMAIL": None,  # None: DEFAULT_FROM_EMAIL
    "NOTIFICATION_BELL_REFRESH_SECONDS": 30,  # how often an open page asks for the unread count
    "UNSUBSCRIBE_LINK_DAYS": 60,  # an e-mail's unsubscribe link works this long (then: the settings page)
    "QUOTA_ALERT_THRESHOLDS": [80, 100],  # percent of a limit; each announced once per period and subject
    # Uploads (reference files), bytes per kind
    "UPLOAD_MAX_BYTES": {"image": 10 * 1024 * 1024, "video": 100 * 1024 * 1024, "audio": 20 * 1024 * 1024},
    # The largest request body a view that takes no files accepts (views taking files: the
    # largest upload above plus 1 MB of form). Refused with 413 before anything is read.
    # 2.5 MB: room for a pasted 2 MB prompt to be refused at its field, with its message.
    "MAX_REQUEST_BYTES": 2560 * 1024,
    # Images sent to GMI are re-encoded without their metadata; larger ones are refused.
    "UPLOAD_MAX_IMAGE_PIXELS": 40_000_000,
    # Quotas: site defaults; None is unlimited
    "DEFAULT_LIMITS": {
        "daily_jobs": 50,
        "concurrent_jobs": 3,
        "monthly_video_seconds": 3600,
        "monthly_credits": None,
        "storage_bytes": None,
    },
    "DEFAULT_TEAM_LIMITS": {"monthly_video_seconds": None, "monthly_credits": None, "storage_bytes": None},
    # Seconds counted for a model whose parameters name no duration (so the video quota still applies).
    "DEFAULT_VIDEO_SECONDS": 5,
    # Text a submission may carry: checked before anything else reads it (blocked terms, GMI)
    "MAX_PROMPT_CHARS": 5000,  # the longest text in any one payload field
    "MAX_PAYLOAD_CHARS": 20000,  # the whole payload, as compact JSON
    # Moderation: "post" (visible at once) or "pre" (visible after approval)
    "MODERATION": "post",
    # Accounts: "open", "approval" (new accounts wait for staff) or "invite"
    "SIGNUP": "open",
    "INVITATION_DAYS": 14,  # an unused invitation link stops working after this
    # Per-account caps; None is unlimited
    "MAX_TEAMS_PER_USER": 20,  # teams a user owns
    "MAX_TOKENS_PER_USER": 20,  # API tokens not revoked
    "MAX_WEBHOOKS_PER_USER": 20,  # webhook endpoints a member has created (their own and their teams')
    "MAX_PENDING_INVITATIONS_PER_TEAM": 50,  # invitation links not used and not expired
    # API throttling (README, "Throttling"): False turns it off. Rates "N/min" etc.; None turns a scope off.
    # A member's sessions and tokens share each scope's budget; anon and failed_token count per address.
    "THROTTLE": True,
    "THROTTLE_RATES": {
        "submit": "60/min",  # new generations (and batches, reruns)
        "quote": "120/min",  # price checks: the submit form asks again as a member types (at most ~2/s)
        "upload": "30/min",  # reference files
        "list": "300/min",  # lists (generations, notifications, webhooks ...)
        "detail": "1200/min",  # one generation and its files: polling every job each half second stays within
        "api": "600/min",  # every other call of a signed-in member
        "anon": "60/min",  # callers not signed in, per address
        "failed_token": "20/min",  # wrong bearer tokens per address; past it, even a right one waits
    },
    # Requests: reverse proxies in front of the site whose X-Forwarded-For is trusted (0: REMOTE_ADDR only)
    "TRUSTED_PROXY_COUNT": 0,
    # Studio: batches, share links, collections
    "BATCH_MAX_ITEMS": 100,  # jobs one batch (or compare) may carry
    "SHARE_LINKS": True,  # False: nobody may make public share links, and existing ones stop opening
    "SHARE_DEFAULT_SECONDS": 7 * 24 * 3600,
    "SHARE_MAX_SECONDS": 90 * 24 * 3600,
    "MAX_COLLECTIONS_PER_USER": 200,  # collections a member has created (their own and their teams')
    # Embedding
    "BASE_TEMPLATE": "generations/base.html",
    "SUBMIT_POLICY": "generations.policies.SubmitPolicy",
    "QUOTA_POLICY": "generations.policies.QuotaPolicy",
    "PAGE_SIZE": 24,
    # Each web process keeps catalogue rows this long; a change made in this process is seen
    # at once, one made in another within this many seconds.
    "CATALOGUE_CACHE_SECONDS": 5.0,
    # Bounds of a catalogue sync, whatever GMI lists: models a sync leaves enabled (new ones past it are
    # stored disabled and staff are told), characters of a model's guide kept, the run's wall-clock time
    # (models not reached are synced first next time) and model details fetched at once.
    "CATALOGUE_MAX_ENABLED_MODELS": 500,
    "CATALOGUE_MAX_GUIDE_CHARS": 65536,
    "CATALOGUE_SYNC_SECONDS": 120.0,
    "CATALOGUE_SYNC_CONCURRENCY": 8,
    # Operations (README, "Operating")
    "HEALTH_TIMEOUT": 3.0,  # seconds each /readyz check may take before it counts as down
    "HEALTH_GMI_CACHE_SECONDS": 30.0,  # /readyz asks GMI at most once per this per process
    "CATALOGUE_STALE_HOURS": 48.0,  # the catalogue is synced daily; older than this, /readyz says stale
    "METRICS_TOKEN": "",  # bearer token /metrics accepts (empty: staff sessions only)
    # Retention (README, "Operating"): days after success that mirrored files are kept; None keeps them forever.
    "RETENTION_DAYS": None,
    "RETENTION_WARNING_DAYS": 7,  # owners are told this many days before their files go
    "EXPORT_HOURS": 24,  # an export's zip can be downloaded this long, then it is deleted
}


#: Keys read under their former name when a host still sets it (``checks`` warns that they were renamed).
RENAMED: dict[str, str] = {"POLLER_TICK": "ENGINE_TICK", "POLLER_STALE": "ENGINE_STALE"}
_FORMER = {new: old for old, new in RENAMED.items()}


class AppSettings:
    """Attribute access to ``settings.GENERATIONS`` over DEFAULTS.

    Read on every access (never cached) so ``override_settings`` just works.
    """

    def __getattr__(self, name: str) -> Any:
        if name not in DEFAULTS:
            raise AttributeError(f"Unknown GENERATIONS setting {name!r}")
        user = getattr(settings, "GENERATIONS", {}) or {}
        former = _FORMER.get(name)
        if name not in user and former in user:
            return user[former]
        value = user.get(name, DEFAULTS[name])
        if isinstance(DEFAULTS[name], dict) and isinstance(value, dict):
            return {**DEFAULTS[name], **value}
        return value


app_settings = AppSettings()
