"""The app's settings: one ``GENERATIONS`` dict over DEFAULTS, read on every access."""
from __future__ import annotations

from typing import Any

from django.conf import settings

SIMULATOR_HINT = "simulator"

DEFAULTS: dict[str, Any] = {
    # Upstream
    "API": "requestqueue",  # "requestqueue", "legacy", or a dotted path to a GMIBackend subclass
    "API_KEY": "",
    "ORG_ID": "",
    "BASE_URL": None,  # None: the chosen backend's production URL
    "MODELS_URL": None,  # legacy API only
    "CONNECT_TIMEOUT": 5.0,
    "READ_TIMEOUT": 30.0,
    # Lifecycle
    "POLL_INTERVAL": 5.0,  # seconds between polls of one job
    "MAX_POLL_INTERVAL": 60.0,  # backoff ceiling after upstream errors
    "POLLER_TICK": 0.05,  # longest an engine waits before looking again for due work
    "POLLER_STALE": 6.0,  # an engine silent this long is presumed dead: its shards go to the others
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
    },
    "NOTIFICATION_DIGEST_MINUTES": 60,  # a digest collects a kind's e-mails this long, then goes out as one
    "NOTIFICATION_EMAIL_GAP_SECONDS": 60,  # at most one e-mail per member per gap: what arrives meanwhile is combined
    "NOTIFICATION_FROM_EMAIL": None,  # None: DEFAULT_FROM_EMAIL
    "NOTIFICATION_BELL_REFRESH_SECONDS": 30,  # how often an open page asks for the unread count
    "QUOTA_ALERT_THRESHOLDS": [80, 100],  # percent of a limit; each announced once per period and subject
    # Uploads (reference files), bytes per kind
    "UPLOAD_MAX_BYTES": {"image": 10 * 1024 * 1024, "video": 100 * 1024 * 1024, "audio": 20 * 1024 * 1024},
    # Quotas: site defaults; None is unlimited
    "DEFAULT_LIMITS": {
        "daily_jobs": 50,
        "concurrent_jobs": 3,
        "monthly_video_seconds": 3600,
        "monthly_credits": None,
    },
    "DEFAULT_TEAM_LIMITS": {"monthly_video_seconds": None, "monthly_credits": None},
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
    # Embedding
    "BASE_TEMPLATE": "generations/base.html",
    "SUBMIT_POLICY": "generations.policies.SubmitPolicy",
    "QUOTA_POLICY": "generations.policies.QuotaPolicy",
    "PAGE_SIZE": 24,
    # Each web process keeps catalogue rows this long; a change made in this process is seen
    # at once, one made in another within this many seconds.
    "CATALOGUE_CACHE_SECONDS": 5.0,
}


class AppSettings:
    """Attribute access to ``settings.GENERATIONS`` over DEFAULTS.

    Read on every access (never cached) so ``override_settings`` just works.
    """

    def __getattr__(self, name: str) -> Any:
        if name not in DEFAULTS:
            raise AttributeError(f"Unknown GENERATIONS setting {name!r}")
        user = getattr(settings, "GENERATIONS", {}) or {}
        value = user.get(name, DEFAULTS[name])
        if isinstance(DEFAULTS[name], dict) and isinstance(value, dict):
            return {**DEFAULTS[name], **value}
        return value

    @property
    def user_settings(self) -> dict[str, Any]:
        return dict(getattr(settings, "GENERATIONS", {}) or {})


app_settings = AppSettings()
