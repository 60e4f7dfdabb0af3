"""Project hygiene: migrations match the models, settings checks pass."""
from __future__ import annotations

import pytest
from django.core.management import call_command


@pytest.mark.django_db
def test_models_and_migrations_agree():
    call_command("makemigrations", "--check", "--dry-run", verbosity=0)


def test_schedules_migration_drives_the_engine_and_catalogue(db):
    from django_q.models import Schedule

    funcs = set(Schedule.objects.values_list("func", flat=True))
    assert {"generations.tasks.keep_engine", "generations.tasks.sync_models"} <= funcs
