"""Exceptions of the generations app: one root, each with a stable machine code.

``GenerationError`` is the root of every error the app raises, so ``except GenerationError``
catches them all: the errors below (what a request may be refused for), the upstream ones
(``gmi.errors.GMIError``), the outbound HTTP ones (``net.errors.DownloadError``) and a file
that is not what it claims (``media.MediaInvalid``). Only configuration errors stand outside
it (``gmi.errors.GMIConfigurationError``, a Django ``ImproperlyConfigured``): a wrong setting
must not be swallowed by a handler meant for a refused request.

A bottom module: it imports nothing of the app but ``metrics`` (which imports nothing), so
that every layer, ``gmi`` included, may derive its errors from the root.
"""
from __future__ import annotations

from datetime import datetime

from . import metrics


class GenerationError(Exception):
    """Root of the app's errors. ``code`` is a stable machine code (what the API returns as ``code``).

    ``status_code`` is the HTTP status of the answer: the one the API gives for the app's own
    errors; for the upstream and outbound HTTP families, the one the remote host gave (None
    when there was no answer).
    """

    code: str = "error"
    status_code: int | None = 400
    default_message = "The request could not be completed."

    def __init__(self, message: str | None = None, *, code: str | None = None) -> None:
        self.message = message or self.default_message
        if code:
            self.code = code
        super().__init__(self.message)


class QuotaExceeded(GenerationError):
    code = "quota_exceeded"
    status_code = 429

    def __init__(self, *, limit: str, resets_at: datetime | None = None, scope: str = "user",
                 message: str | None = None) -> None:
        self.limit = limit
        self.resets_at = resets_at
        self.scope = scope
        label = metrics.in_words(limit)
        who = "your team's" if scope == "team" else "your"
        default = f"This job would exceed {who} {label} limit."
        if resets_at is not None:
            default += f" It resets at {resets_at.isoformat()}."
        super().__init__(message or default)


class PromptBlocked(GenerationError):
    code = "prompt_blocked"
    default_message = "The prompt contains a term that is not allowed on this site."


class PayloadInvalid(GenerationError):
    code = "invalid_payload"
    default_message = "Some parameters are invalid."

    def __init__(self, errors: dict[str, list[str]], message: str | None = None) -> None:
        self.errors = errors
        super().__init__(message)


class InvalidInput(GenerationError):
    """Field errors outside the payload (``visibility``, ``username`` ...), keyed by field."""

    code = "invalid"

    def __init__(self, errors: dict[str, list[str]], message: str | None = None) -> None:
        self.errors = errors
        super().__init__(message or " ".join(problem for problems in errors.values() for problem in problems))


class InvalidCharacters(InvalidInput):
    """A query parameter, id, slug or code holds what no lookup can take (a NUL byte, broken Unicode)."""

    code = "invalid_characters"


class NotFound(GenerationError):
    """Something the caller may not see, or that does not exist: the same answer for both."""

    code = "not_found"
    status_code = 404
    default_message = "Not found."


class ModelUnavailable(GenerationError):
    code = "model_unavailable"
    default_message = "This model is not available."


class NotAllowed(GenerationError):
    code = "not_allowed"
    status_code = 403
    default_message = "You may not do this."


class AccountPending(NotAllowed):
    """The account exists but waits for staff approval (``GENERATIONS["SIGNUP"] = "approval"``)."""

    code = "account_pending"
    default_message = ("Your account is waiting for approval by the site staff. "
                       "You can do this once they have approved it.")


class LockedOut(GenerationError):
    """Too many failed password checks for this account or from this address; try again later."""

    code = "locked_out"
    status_code = 429
    default_message = ("Too many failed log-ins for this account or from this address. "
                       "Wait a while, then try again.")


class LimitReached(GenerationError):
    """A per-account cap (teams, tokens, invitations) is used up; ``limit`` names the setting."""

    code = "limit_reached"
    status_code = 409
    default_message = "You have reached the limit for this."

    def __init__(self, message: str | None = None, *, limit: str = "") -> None:
        self.limit = limit
        super().__init__(message)


class InvalidTransition(GenerationError):
    code = "invalid_state"
    status_code = 409
    default_message = "The generation is not in a state that allows this."


class IdempotencyConflict(GenerationError):
    code = "idempotency_conflict"
    status_code = 422
    default_message = "This Idempotency-Key was already used with a different request body."


class UploadRejected(GenerationError):
    code = "upload_rejected"
    default_message = "The file was refused."


class FileTooLarge(UploadRejected):
    """A file over its kind's cap: refused as soon as the cap is passed, the rest never read."""

    code = "file_too_large"
    status_code = 413
    default_message = "The file is too large."


class VideoUndecodable(GenerationError):
    """The stored video could not be decoded (to take a frame of it)."""

    code = "mirror_failed"  # the code this refusal has always had in the API
    default_message = "The video could not be decoded."


class UpstreamFailure(GenerationError):
    """GMI could not be reached or refused a synchronous call (uploads, sync)."""

    code = "upstream_unavailable"
    status_code = 502
    default_message = "GMI could not be reached. Try again in a moment."


class ReferenceUploadFailed(GenerationError):
    """A file posted with a submission could not go to GMI; ``field`` names its parameter, ``cause`` the refusal.

    Code, status and message are the cause's, so callers may treat it as that refusal tied to a field.
    """

    def __init__(self, *, field: str, cause: GenerationError) -> None:
        self.field = field
        self.cause = cause
        self.status_code = cause.status_code
        super().__init__(cause.message, code=cause.code)


class WebhookTargetForbidden(GenerationError):
    """A webhook URL the site will not call: not http(s), or a private/loopback address not allowed by staff."""

    code = "webhook_target_forbidden"
    default_message = "This webhook URL is not allowed: use a public http(s) address."


class NoVideo(GenerationError):
    """The generation has no mirrored video (yet, or any more): nothing to share or take a frame of."""

    code = "no_video"
    default_message = "This generation has no video yet: wait until it has succeeded."


class SharingDisabled(NotAllowed):
    """Share links are turned off, site-wide or for the video's team."""

    code = "sharing_disabled"
    default_message = "Share links are turned off for this video."


class FramesUnavailable(GenerationError):
    """The server cannot decode videos (PyAV, the ``frames`` extra, is not installed)."""

    code = "frames_unavailable"
    status_code = 503
    default_message = "Taking a frame of a video is not available on this site."


class WrongPassword(GenerationError):
    """The password that confirms an irreversible change was not the account's."""

    code = "wrong_password"
    status_code = 400
    default_message = "That is not your password. Enter your current password to confirm."


class TeamNeedsOwner(GenerationError):
    """The account owns a team that would be left without anyone to run it."""

    code = "team_needs_owner"
    status_code = 409
