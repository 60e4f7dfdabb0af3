"""The public page of a share link (/s/<token>/): one video, no log-in, no way into the rest of the site."""
from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.urls import reverse
from django.views.decorators.http import require_GET

from ..exceptions import GenerationError
from ..models import ShareLink
from ..selectors import studio as studio_reads
from ..services import shares
from ..serving import serve_file


class LinkDoesNotWork(GenerationError):
    """The token opens nothing (never made, expired, revoked, sharing off, video gone)."""


def _live_or_404(token: str) -> ShareLink:
    share = studio_reads.live_share(token)
    if share is None:
        raise LinkDoesNotWork
    return share


def _not_found() -> HttpResponse:
    """One answer for every link that does not work, so nothing tells them apart.

    Returned rather than raised, and marked as logged: Django logs every 404 with its path,
    and the path here is the token.
    """
    response = HttpResponse(render_to_string("generations/studio/share_gone.html"), status=404)
    response._has_been_logged = True  # type: ignore[attr-defined]  # django.utils.log.log_response's own flag
    return _private(response)


def _private(response: HttpResponse) -> HttpResponse:
    # The token is in the URL: keep it out of other sites' logs, search engines and shared caches.
    response["Referrer-Policy"] = "no-referrer"
    response["X-Robots-Tag"] = "noindex, nofollow"
    response["Cache-Control"] = "private, no-store"
    return response


@require_GET
def share_page(request: HttpRequest, token: str) -> HttpResponse:
    """The shared video with its title; prompt, owner and download only as the owner chose."""
    try:
        share = _live_or_404(token)
    except LinkDoesNotWork:
        return _not_found()
    shares.count_view(share=share)
    generation = share.generation
    context = {
        # display_title falls back to the prompt's first words, which the owner may have chosen to keep private.
        "share": share, "generation": generation,
        "title": generation.display_title if generation.title or share.show_prompt else "A shared video",
        "video_url": reverse("generations:share-video", args=[token]),
        "poster_url": reverse("generations:share-thumbnail", args=[token]) if generation.thumbnail_name else "",
        "download_url": reverse("generations:share-video", args=[token]) + "?download=1"
        if share.allow_download else "",
        "owner_name": generation.owner.get_username() if share.show_owner else "",
        "prompt": generation.prompt if share.show_prompt else "",
    }
    return _private(render(request, "generations/studio/share.html", context))


def _serve(request: HttpRequest, token: str, kind: str) -> HttpResponse:
    try:
        share = _live_or_404(token)
    except LinkDoesNotWork:
        return _not_found()
    generation = share.generation
    name = generation.video_name if kind == "video" else generation.thumbnail_name
    content_type = generation.video_content_type if kind == "video" else generation.thumbnail_content_type
    attachment = kind == "video" and request.GET.get("download") == "1"
    if attachment and not share.allow_download:
        return _not_found()
    extension = name.rsplit(".", 1)[-1] if "." in name else "bin"
    response = serve_file(request, name=name, content_type=content_type or "application/octet-stream",
                          filename=f"video-{generation.pk}.{extension}", attachment=attachment)
    response["Referrer-Policy"] = "no-referrer"
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response  # type: ignore[return-value]


@require_GET
def share_video(request: HttpRequest, token: str) -> HttpResponse:
    return _serve(request, token, "video")


@require_GET
def share_thumbnail(request: HttpRequest, token: str) -> HttpResponse:
    return _serve(request, token, "thumbnail")
