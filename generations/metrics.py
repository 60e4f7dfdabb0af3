"""The quota metrics: their names, which subject each applies to, and the words pages and messages use for them."""
from __future__ import annotations

DAILY_JOBS = "daily_jobs"
CONCURRENT_JOBS = "concurrent_jobs"
MONTHLY_VIDEO_SECONDS = "monthly_video_seconds"
MONTHLY_CREDITS = "monthly_credits"
STORAGE_BYTES = "storage_bytes"

# The names double as the override fields of UserProfile and Team, and as the keys of
# GENERATIONS["DEFAULT_LIMITS"] / ["DEFAULT_TEAM_LIMITS"].
USER_METRICS: tuple[str, ...] = (DAILY_JOBS, CONCURRENT_JOBS, MONTHLY_VIDEO_SECONDS, MONTHLY_CREDITS, STORAGE_BYTES)
TEAM_METRICS: tuple[str, ...] = (MONTHLY_VIDEO_SECONDS, MONTHLY_CREDITS, STORAGE_BYTES)
# The metrics kept as usage counters; running jobs are counted from job state instead.
COUNTED_USER_METRICS: tuple[str, ...] = (DAILY_JOBS, MONTHLY_VIDEO_SECONDS, MONTHLY_CREDITS)

# Measured from what is stored now (the recorded sizes of mirrored files), never reset;
# reported only where a limit is set (an unlimited storage metric is left out of the usage).
STORED_METRICS: tuple[str, ...] = (STORAGE_BYTES,)

# name: (label on the members' pages, unit)
LABELS: dict[str, tuple[str, str]] = {
    DAILY_JOBS: ("Jobs today", "jobs"),
    CONCURRENT_JOBS: ("Running at once", "jobs"),
    MONTHLY_VIDEO_SECONDS: ("Video this month", "seconds"),
    MONTHLY_CREDITS: ("Credits this month", "credits"),
    STORAGE_BYTES: ("Storage of mirrored files", "bytes"),
}


def in_words(name: str) -> str:
    """The name as running text ("daily jobs"), as staff and error messages say it."""
    return name.replace("_", " ")


def label(name: str) -> str:
    """The members' label ("Jobs today"); a metric a custom policy adds gets its name in words."""
    return LABELS[name][0] if name in LABELS else in_words(name).capitalize()


def unit(name: str) -> str:
    return LABELS[name][1] if name in LABELS else ""
