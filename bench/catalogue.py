"""Catalogue benchmark: a model sync against a simulator listing 10,000 models, and the bytes the pages
and the model API answer with then; one model with a 20 MiB guide and the submit page that shows it.

Run alone with ``python bench/catalogue.py [--models N] [--guide-mb M]``. It uses its own database
(``BENCH_CATALOGUE_DB``, default a temporary SQLite file), migrates it, starts a simulator on 127.0.0.1
and prints one line per measure. Only 127.0.0.1 is contacted.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--models", type=int, default=10_000)
    parser.add_argument("--guide-mb", type=float, default=20)
    parser.add_argument("--latency-ms", type=float, default=20, help="GMI's answer delay (a remote GMI's)")
    args = parser.parse_args()
    tmp = tempfile.mkdtemp(prefix="gmi-bench-catalogue-")
    os.environ.setdefault("DATABASE_URL", os.environ.get("BENCH_CATALOGUE_DB", f"sqlite:///{tmp}/db.sqlite3"))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gmi_project.settings")
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    os.environ.setdefault("DJANGO_DEBUG", "1")  # static files without collectstatic
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.test import Client
    from django.test.utils import override_settings

    from generations.models import VideoModel
    from generations.services import catalogue
    from gmi_simulator.catalogue import MODELS
    from gmi_simulator.testing import running_simulator
    from tests.helpers.factories import UserFactory

    call_command("migrate", verbosity=0)
    settings.ALLOWED_HOSTS = ["*"]
    extra = max(0, args.models - len(MODELS))
    with running_simulator(extra_models=extra, latency_ms=args.latency_ms) as sim:
        config = {**getattr(settings, "GENERATIONS", {}), "API": "requestqueue", "API_KEY": "bench",
                  "BASE_URL": sim.base_url, "MIRROR_ALLOWED_HOSTS": [f"127.0.0.1:{sim.port}"]}
        with override_settings(GENERATIONS=config):
            started = time.monotonic()
            counts = catalogue.sync_models()
            took = time.monotonic() - started
            print(f"sync of {args.models} models at {args.latency_ms:g} ms: {took:.1f} s {counts}")
            print(f"models enabled after the sync: {VideoModel.objects.filter(enabled=True).count()}")
            user = UserFactory(username="bench-catalogue")
            client = Client()
            client.force_login(user)
            for label, path in (("GET /api/v1/models/", "/api/v1/models/"), ("gallery page", "/"),
                                ("submit page", "/generations/new/")):
                started = time.monotonic()
                response = client.get(path)
                print(f"{label}: {response.status_code}, {len(response.content):,} bytes, "
                      f"{(time.monotonic() - started) * 1000:.0f} ms")
            sim.set_catalogue(extra_models=1, guide_kb=args.guide_mb * 1024)
            VideoModel.objects.all().delete()
            catalogue.sync_models()
            big = VideoModel.objects.get(pk="Synthetic-00001")
            print(f"guide stored for a {args.guide_mb:g} MiB guide: {len(big.detailed_description):,} characters")
            for attempt in (1, 2):
                started = time.monotonic()
                response = client.get("/generations/new/", {"model": big.pk})
                print(f"submit page with that guide (request {attempt}): {response.status_code}, "
                      f"{len(response.content):,} bytes, {(time.monotonic() - started) * 1000:.0f} ms")


if __name__ == "__main__":
    main()
