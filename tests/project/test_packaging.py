"""The distribution: the reusable app stands without the simulator, and imports Pillow only to strip images."""
from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# Run in a fresh interpreter: this suite's own process has long imported both.
_IMPORT_EVERY_APP_MODULE = r'''
import importlib
import importlib.abc
import pkgutil
import sys

BLOCKED = ("gmi_simulator", "PIL")


class Block(importlib.abc.MetaPathFinder):
    """Behave as a host site that installed the app without the simulator extra."""

    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ImportError(f"{name} is not installed in this host site")
        return None


sys.meta_path.insert(0, Block())

import django

django.setup()
import generations

failures = []
names = [info.name for info in pkgutil.walk_packages(generations.__path__, "generations.")]
for name in names:
    try:
        importlib.import_module(name)
    except Exception as exc:
        failures.append(f"{name}: {type(exc).__name__}: {exc}")
leaked = sorted(name for name in sys.modules if name.split(".")[0] in BLOCKED)
print(f"imported {len(names)} modules")
if failures or leaked:
    sys.exit("\n".join(failures + [f"loaded {name}" for name in leaked]))
'''


def test_every_app_module_imports_without_the_simulator_or_pillow(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    # The embedding test site: a host with the app in INSTALLED_APPS and no simulator.
    env.update(DJANGO_SETTINGS_MODULE="tests.embedding_site.settings", HOST_SITE_TMP=str(tmp_path))
    result = subprocess.run(
        [sys.executable, "-c", _IMPORT_EVERY_APP_MODULE], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-4000:]
    count = int(result.stdout.split()[1])
    assert count > 50, result.stdout  # the walk found the app's modules, not an empty package


def test_pillow_is_installed_with_the_app_for_stripping_image_metadata():
    # Uploaded images go to GMI re-encoded without their metadata; the app imports Pillow
    # only then (see the test above), but a host must have it for image uploads to work.
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert any(requirement.lower().startswith("pillow") for requirement in project["dependencies"])
    extra = project["optional-dependencies"]["simulator"]
    assert any(requirement.lower().startswith("pillow") for requirement in extra)
