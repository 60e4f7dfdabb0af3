"""The attack-review figures: blocked-term matching time and the refusal of a 2 MB prompt, beside their goals.

Run alone with ``python bench/security.py``; ``run(quick)`` returns the rows. A 5,000-word
prompt is matched against 1,000 blocked terms (goal: under 50 ms of matching), against a
plain ``str.split`` of the same prompt as the floor; a 2 MB prompt is posted to the quote
and submit endpoints through Django's test client (goal: a clear 400 well under a second).
"""
from __future__ import annotations

import json
import os
import random
import shutil
import statistics
import string
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import table

ROOT = Path(__file__).resolve().parent.parent


def run(quick: bool = False) -> list[dict[str, Any]]:
    """In a child process of its own: Django reads its settings (and database) once per process."""
    out = subprocess.run([sys.executable, str(Path(__file__)), "--child", *(["--quick"] if quick else [])],
                         cwd=ROOT, capture_output=True, text=True, timeout=600)
    if out.returncode != 0:
        raise RuntimeError(out.stderr[-3000:])
    return json.loads(out.stdout.strip().splitlines()[-1])


def child(quick: bool) -> list[dict[str, Any]]:
    work = Path(tempfile.mkdtemp(prefix="gmi-bench-security-"))
    try:
        return _measure(work, rounds=5 if quick else 20)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _measure(work: Path, *, rounds: int) -> list[dict[str, Any]]:
    sys.path.insert(0, str(ROOT))
    os.environ.update({
        "DJANGO_SETTINGS_MODULE": "gmi_project.settings", "DJANGO_DEBUG": "1",
        "DATABASE_URL": f"sqlite:///{work / 'bench.sqlite3'}", "DJANGO_MEDIA_ROOT": str(work / "media"),
        "GMI_API_KEY": "bench-key-for-the-security-figures",
        "GMI_THROTTLE": "0",  # the rounds measure the body checks, not the throttle
    })
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.test import Client

    from generations.models import VideoModel
    from generations.services import moderation

    call_command("migrate", verbosity=0)
    rng = random.Random(7)
    terms = sorted({"".join(rng.choice(string.ascii_lowercase) for _ in range(rng.randint(5, 12)))
                    for _ in range(1100)})[:1000]
    moderation.add_blocked_terms(terms=terms)
    words = ["".join(rng.choice(string.ascii_lowercase) for _ in range(rng.randint(2, 9))) for _ in range(5000)]
    prompt = " ".join(words)
    moderation.blocked_term_in(prompt)  # warm: terms read and indexed once per set
    matching = []
    for _ in range(rounds):
        started = time.perf_counter()
        moderation.blocked_term_in(prompt)
        matching.append(time.perf_counter() - started)
    floor = []
    for _ in range(rounds):
        started = time.perf_counter()
        [w.lower() for w in prompt.split()]
        floor.append(time.perf_counter() - started)

    VideoModel.objects.update_or_create(id="Veo3", defaults={
        "enabled": True, "available": True, "parameters": [{"name": "prompt", "type": "string", "required": True}]})
    user = get_user_model().objects.create_user("attacker", password="x")
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(user)
    huge = json.dumps({"model": "Veo3", "payload": {"prompt": "word " * 400_000}})  # 2 MB
    client.post("/api/v1/generations/quote/", json.dumps({"model": "Veo3", "payload": {"prompt": "warm"}}),
                content_type="application/json")  # the first request of a process loads the URLconf and DRF
    refusals = {}
    for path in ("/api/v1/generations/quote/", "/api/v1/generations/"):
        started = time.perf_counter()
        response = client.post(path, huge, content_type="application/json")
        refusals[path] = (time.perf_counter() - started, f"{response.status_code} {response.json().get('code')}")
    m, f = statistics.median(matching), statistics.median(floor)
    rows = [{"measure": "blocked terms: 5,000-word prompt against 1,000 terms (ms)", "value": f"{m * 1000:.1f}",
             "floor": f"{f * 1000:.1f} (lower-casing the words); goal < 50", "ratio": m / f}]
    for path, (seconds, status) in refusals.items():
        rows.append({"measure": f"2 MB prompt to {path}: status, ms", "value": f"{status}, {seconds * 1000:.0f}",
                     "floor": "400 invalid_payload, goal < 1000", "ratio": None})
    return rows


if __name__ == "__main__":
    if "--child" in sys.argv:
        print(json.dumps(child("--quick" in sys.argv)))
        sys.exit(0)
    table.print_table(run(quick="--quick" in sys.argv))
