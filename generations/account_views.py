"""Moved to ``generations.views.accounts``; this name stays importable for host sites that use it."""
from .views.accounts import *  # noqa: F403
