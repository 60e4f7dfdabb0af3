"""A seeded world of hostile, real content for browser tests, and the page checks they share."""
from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.core.files.base import ContentFile
from django.core.files.storage import storages
from django.utils import timezone

LONG_PROMPT = (
    "A slow dolly shot through a night market in the rain; lanterns sway, steam rises from noodle stalls, "
    "a cat watches from a crate. 雨の夜市をゆっくり進むドリーショット、提灯が揺れる。"
    "Ночной рынок под дождём, фонари качаются. سوق ليلي تحت المطر والفوانيس تتمايل. "
) * 8
LONG_PROMPT = LONG_PROMPT[:2000]
UNBROKEN = "x" * 300
SIGNED_URL = ("https://storage.example-cdn.com/outputs/2026/12/07/a-very-long-folder-name-for-outputs/clip-final.mp4"
              "?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAEXAMPLE%2F20261207%2Fus-east-1&"
              "X-Amz-Signature=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef")
REFERENCE_URL = ("https://images.example.org/uploads/reference/2026/12/a-rather-long-reference-image-name-"
                 "that-goes-on-and-on.png?token=secret-token-value-1234567890")
UPSTREAM_ERROR = (f"GMI answered 400: content policy violation for request 9f1c2e7a-1111-4e2b-9c3d-abcdef012345; "
                  f"see {SIGNED_URL}")
#: Where browser tests leave their screenshots (``make screenshots``; git ignores it).
SHOTS = Path(os.environ.get("SCREENSHOT_DIR", Path(__file__).resolve().parents[2] / "screenshots"))
NON_LATIN = "東京の夜景、ネオンが雨に映る — Пейзаж на закате — منظر ليلي للمدينة"


@dataclass
class World:
    member: Any
    owner: Any
    staff: Any
    team: Any
    generations: dict[str, Any] = field(default_factory=dict)
    webhook: Any = None


def _store_clip(generation, aspect: str, variant: int) -> None:
    from gmi_simulator.media import render_clip

    clip = render_clip(variant, aspect)
    storage = storages["generations"]
    base = f"{generation.owner_id}/{generation.pk}"
    generation.video_name = storage.save(f"{base}/video.mp4", ContentFile(clip.video))
    generation.thumbnail_name = storage.save(f"{base}/thumbnail.jpg", ContentFile(clip.thumbnail))
    generation.video_size = len(clip.video)
    generation.video_content_type = "video/mp4"
    generation.video_sha256 = hashlib.sha256(clip.video).hexdigest()
    generation.thumbnail_size = len(clip.thumbnail)
    generation.thumbnail_content_type = "image/jpeg"
    generation.thumbnail_sha256 = hashlib.sha256(clip.thumbnail).hexdigest()
    generation.save()


def seed_world() -> World:
    """Members, a team, a catalogue, generations of every shape and status, tokens, webhooks, notifications."""
    from generations.models import ApiToken, Generation, Membership, VideoModel
    from generations.notification_models import Notification
    from generations.services.catalogue import sync_models
    from generations.webhook_models import WebhookDelivery, WebhookEndpoint
    from tests.helpers.factories import GenerationFactory, MembershipFactory, TeamFactory, UserFactory

    sync_models()
    model = VideoModel.objects.get(pk="Veo3")
    member = UserFactory(username="mira")
    owner = UserFactory(username="otto")
    staff = UserFactory(username="sofia", staff=True)
    team = TeamFactory(name="Night Market Studio — 夜市スタジオ", slug="night-market")
    MembershipFactory(team=team, user=owner, role=Membership.Role.OWNER)
    MembershipFactory(team=team, user=member, role=Membership.Role.MEMBER)
    world = World(member=member, owner=owner, staff=staff, team=team)

    def done(key, *, aspect="16:9", variant=0, prompt="a red fox running through snow", owner=member, **extra):
        payload = {"prompt": prompt, "durationSeconds": 8, "aspectRatio": aspect, **extra.pop("payload", {})}
        generation = GenerationFactory(owner=owner, model=model, payload=payload, prompt=prompt, succeeded=True,
                                       video_seconds=8, **extra)
        _store_clip(generation, aspect, variant)
        world.generations[key] = generation
        return generation

    now = timezone.now()
    done("wide", prompt="A paper boat drifting down a gutter river after a summer storm", variant=0)
    done("tall", aspect="9:16", variant=1, prompt="A lighthouse keeper climbing a spiral stair, seen from above")
    done("square", aspect="1:1", variant=2, prompt=NON_LATIN)
    done("long", variant=3, prompt=LONG_PROMPT, payload={"image": REFERENCE_URL, "negativePrompt": UNBROKEN})
    done("unbroken", variant=1, prompt=UNBROKEN)
    done("team", variant=2, owner=owner, team=team, visibility=Generation.Visibility.TEAM,
         prompt="Team reel: drone flight over terraced rice fields at dawn")
    world.generations["failed"] = GenerationFactory(
        owner=member, model=model, prompt="A crowd dancing in a flooded plaza " + UNBROKEN[:60],
        payload={"prompt": "A crowd dancing in a flooded plaza", "durationSeconds": 8}, failed=True,
        error=UPSTREAM_ERROR, error_code="upstream_rejected")
    world.generations["queued"] = GenerationFactory(owner=member, model=model, prompt="Queued: " + NON_LATIN,
                                                    payload={"prompt": "Queued: " + NON_LATIN})
    world.generations["processing"] = GenerationFactory(owner=member, model=model, processing=True,
                                                        prompt="Processing: a hummingbird in slow motion",
                                                        payload={"prompt": "a hummingbird"})

    for index in range(2):
        ApiToken.objects.create(user=member, name=f"CI deploy token for the night-market render farm #{index}",
                                prefix=f"gmi_{index}abcdef"[:12],
                                key_hash=hashlib.sha256(f"k{index}".encode()).hexdigest())
    endpoint = WebhookEndpoint.objects.create(
        owner=member, url="https://hooks.example-receiver.com/gmi/events/" + "segment/" * 12 + "?signature=abc123",
        events=["generation.succeeded", "generation.failed"], secret="whsec_" + "A" * 32)
    world.webhook = endpoint
    WebhookDelivery.objects.create(
        endpoint=endpoint, generation=world.generations["wide"], event_type="generation.succeeded",
        message_id="msg_" + "1" * 30, payload={"id": "x"}, attempts=3, status=WebhookDelivery.Status.FAILED,
        last_status_code=500, last_latency_ms=1234, last_response=json.dumps({"error": UNBROKEN}),
        last_error="Receiver answered 500 at " + SIGNED_URL, last_attempt_at=now,
        next_attempt_at=now + timedelta(minutes=5))
    Notification.objects.create(recipient=member, kind=Notification.Kind.GENERATION_FAILED,
                                title="Your video could not be made: " + UNBROKEN[:120], body=UPSTREAM_ERROR,
                                link=f"/generations/{world.generations['failed'].pk}/",
                                generation=world.generations["failed"])
    Notification.objects.create(recipient=member, kind=Notification.Kind.GENERATION_SUCCEEDED,
                                title="Video ready: " + NON_LATIN, body=LONG_PROMPT[:400],
                                link=f"/generations/{world.generations['square'].pk}/",
                                generation=world.generations["square"])
    VideoModel.objects.filter(pk="Veo3").update(price_credits=Decimal("10"))
    return world


def member_pages(world: World) -> dict[str, str]:
    g = world.generations
    return {
        "gallery": "/",
        "gallery-team": "/?tab=team",
        "detail-long": f"/generations/{g['long'].pk}/",
        "detail-unbroken": f"/generations/{g['unbroken'].pk}/",
        "detail-failed": f"/generations/{g['failed'].pk}/",
        "detail-queued": f"/generations/{g['queued'].pk}/",
        "submit": "/generations/new/?model=Veo3",
        "usage": "/usage/",
        "teams": "/teams/",
        "team": f"/teams/{world.team.slug}/",
        "tokens": "/tokens/",
        "webhooks": "/webhooks/",
        "webhook": f"/webhooks/{world.webhook.pk}/",
        "notifications": "/notifications/",
        "notification-settings": "/notifications/settings/",
        "api-docs": "/api/v1/docs/",
        "batch-upload": "/batches/",
        "compare": "/compare/",
        "collections": "/collections/",
        "share-links": f"/generations/{g['long'].pk}/share/",
    }


def owner_pages(world: World) -> dict[str, str]:
    return {"owner-team": f"/teams/{world.team.slug}/", "owner-gallery-team": "/?tab=team"}


def staff_pages(world: World) -> dict[str, str]:
    g = world.generations
    return {
        "admin": "/admin/",
        "admin-generations": "/admin/generations/generation/",
        "admin-generation": f"/admin/generations/generation/{g['failed'].pk}/change/",
        "admin-models": "/admin/generations/videomodel/",
        "admin-users": "/admin/auth/user/",
        "admin-deliveries": "/admin/generations/webhookdelivery/",
        "admin-notifications": "/admin/generations/notification/",
    }


def log_in(page, base: str, login: str, password: str = "pass-word-123") -> None:
    """Fill in the log-in form as a person would, and send it."""
    page.goto(base + "/accounts/login/")
    page.fill("input[name='login']", login)
    page.fill("input[name='password']", password)
    page.click("form.gmi-form button[type='submit']")


AXE_SOURCE = None


def axe_source() -> str:
    global AXE_SOURCE
    if AXE_SOURCE is None:
        import axe_playwright_python

        AXE_SOURCE = (Path(axe_playwright_python.__file__).parent / "axe.min.js").read_text()
    return AXE_SOURCE


def run_axe(page) -> list[dict]:
    """axe-core's violations in the page (evaluated, not injected: the CSP rightly refuses inline scripts)."""
    page.evaluate(axe_source())
    result = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    return result["violations"]


def serious(violations: list[dict]) -> list[dict]:
    return [v for v in violations if v.get("impact") in ("serious", "critical")]


def _media_abort(request) -> bool:
    """Chromium cancels a media request once it has read what preload="metadata" asked for: not a failure."""
    return request.resource_type == "media" and "ERR_ABORTED" in (request.failure or "")


class PageWatch:
    """Console errors and failed requests of one page while it is watched."""

    def __init__(self, page) -> None:
        self.errors: list[str] = []
        self.failed: list[str] = []
        self.requests: list[str] = []
        page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        page.on("pageerror", lambda e: self.errors.append(str(e)))
        page.on("requestfailed", lambda r: None if _media_abort(r) else self.failed.append(f"{r.url} {r.failure}"))
        page.on("response", lambda r: r.status >= 400 and self.failed.append(f"{r.status} {r.url}"))
        page.on("request", lambda r: self.requests.append(r.url))

    def reset(self) -> None:
        self.errors.clear()
        self.failed.clear()
        self.requests.clear()


def measure(page, url: str) -> dict:
    watch = getattr(page, "_gmi_watch", None)
    if watch is None:
        watch = page._gmi_watch = PageWatch(page)
    watch.reset()
    started = time.monotonic()
    page.goto(url, wait_until="load")
    page.wait_for_timeout(300)
    load_ms = int((time.monotonic() - started) * 1000)
    sideways = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    console, failed = list(watch.errors), list(watch.failed)  # before axe, whose own probing is not the page's
    violations = run_axe(page)
    return {"sideways": sideways, "serious": len([v for v in violations if v.get("impact") == "serious"]),
            "critical": len([v for v in violations if v.get("impact") == "critical"]),
            "axe": sorted({v["id"] for v in serious(violations)}),
            "console": console, "failed": failed, "load_ms": load_ms}


def start_world_server(simulator, storage_dir: Path):
    """Seed the world and serve it from a live server thread; returns (world, base url, stop)."""
    from django.contrib.staticfiles.handlers import StaticFilesHandler
    from django.core.management import call_command
    from django.db import connection
    from django.test.testcases import LiveServerThread
    from django.test.utils import override_settings, setup_databases, teardown_databases

    from tests.helpers.settings import simulator_settings

    # pytest-django creates the test database only when some collected test asks for it.
    own_db = None
    if connection.settings_dict["NAME"] != connection.creation._get_test_db_name():
        own_db = setup_databases(verbosity=0, interactive=False, aliases={"default"})
    simulator.reset()
    overrides = override_settings(
        GENERATIONS=simulator_settings(simulator),
        STORAGES={**_settings().STORAGES, "generations": {
            "BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": str(storage_dir)}}},
    )
    overrides.enable()
    storages._storages = {}
    world = seed_world()
    server = LiveServerThread("127.0.0.1", StaticFilesHandler, port=0)
    server.daemon = True
    server.start()
    server.is_ready.wait()
    if server.error:
        raise server.error
    base = f"http://127.0.0.1:{server.port}"
    # A reference image the page can show (a public upload URL, no query string), served here.
    long = world.generations["long"]
    long.payload = {**long.payload, "image": f"{base}/static/generations/favicon.svg"}
    long.save(update_fields=["payload"])

    def stop() -> None:
        server.terminate()
        call_command("flush", interactive=False, verbosity=0)
        overrides.disable()
        storages._storages = {}
        if own_db is not None:
            teardown_databases(own_db, verbosity=0)

    return world, base, stop


def _settings():
    from django.conf import settings

    return settings
