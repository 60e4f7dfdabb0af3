"""Share links: a public, expiring, revocable page for one video, opened by an unguessable token."""
from __future__ import annotations

import secrets
from datetime import timedelta

from django.db.models import F
from django.utils import timezone

from .. import permissions
from ..conf import app_settings
from ..exceptions import InvalidInput, NotFound, NoVideo, SharingDisabled
from ..models import Generation, ShareLink
from ..selectors.studio import hash_token, sharing_refusal
from ..types import User

MIN_SECONDS = 60


def create_share_link(
    *,
    generation: Generation,
    user: User,
    expires_in: int | None = None,
    show_prompt: bool = False,
    show_owner: bool = False,
    allow_download: bool = True,
) -> tuple[ShareLink, str]:
    """Make a public link to the owner's video; return the row and the token (shown this once, stored hashed).

    Only the owner may share (``NotFound`` for anyone else, as for a video they cannot see).
    Raises ``SharingDisabled`` when staff turned sharing off, ``NoVideo`` before the video
    is mirrored or after moderation removed it, ``InvalidInput`` for a lifetime out of range.
    """
    if not permissions.may_change(user, generation) or generation.deleted_at is not None:
        raise NotFound("No such generation.")
    refusal = sharing_refusal(generation)
    if refusal:
        raise SharingDisabled(refusal)
    if not generation.has_video or generation.is_removed:
        raise NoVideo("Only a finished video can be shared.")
    most = int(app_settings.SHARE_MAX_SECONDS)
    seconds = int(app_settings.SHARE_DEFAULT_SECONDS) if expires_in is None else expires_in
    if not isinstance(seconds, int) or isinstance(seconds, bool) or not (MIN_SECONDS <= seconds <= most):
        raise InvalidInput({"expires_in": [f"Give a lifetime from {MIN_SECONDS} to {most} seconds."]})
    token = secrets.token_urlsafe(32)
    share = ShareLink.objects.create(
        generation=generation, created_by=user, token_hash=hash_token(token),
        expires_at=timezone.now() + timedelta(seconds=seconds), show_prompt=show_prompt, show_owner=show_owner,
        allow_download=allow_download,
    )
    return share, token


def revoke_share_link(*, share: ShareLink, user: User) -> None:
    """Stop a link at once; only the video's owner may (``NotFound`` otherwise). Revoking twice is harmless."""
    if not permissions.may_change(user, share.generation):
        raise NotFound("No such share link.")
    ShareLink.objects.filter(pk=share.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())


def count_view(*, share: ShareLink) -> None:
    """One more view of the share page (an UPDATE, so simultaneous visitors all count)."""
    ShareLink.objects.filter(pk=share.pk).update(views=F("views") + 1, last_viewed_at=timezone.now())
