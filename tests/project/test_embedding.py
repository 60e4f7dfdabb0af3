"""The app inside another Django site: custom user model, the host's login URL and base template, /studio/."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.timeout(180)
def test_host_site_adopts_the_app_with_a_few_settings(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE")}
    env["HOST_SITE_TMP"] = str(tmp_path)
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "tests/embedding_site/host_checks.py", "-q", "-p", "no:cacheprovider",
         "--ds", "tests.embedding_site.settings", "-m", "", "-o", "addopts="],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=170,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert " passed" in result.stdout
