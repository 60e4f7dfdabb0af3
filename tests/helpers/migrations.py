"""A data migration under test: the database wound back to just before it, rows written the way they were
then, the migration run, and the database brought to the latest state again whatever the outcome."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.apps.registry import Apps
from django.db import connection
from django.db.migrations.executor import MigrationExecutor


class MigrationUnderTest:
    def __init__(self, app: str, before: str, after: str) -> None:
        self.before, self.after = [(app, before)], [(app, after)]
        executor = MigrationExecutor(connection)
        executor.migrate(self.before)
        #: The models as they were before the migration, to write the rows it has to carry over.
        self.apps: Apps = executor.loader.project_state(self.before).apps

    def forward(self) -> None:
        """Run the migrations up to and including the one under test."""
        MigrationExecutor(connection).migrate(self.after)  # a fresh executor reads the graph as it now stands

    def to_latest(self) -> None:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())


@contextmanager
def migration_under_test(app: str, *, before: str, after: str) -> Iterator[MigrationUnderTest]:
    migration = MigrationUnderTest(app, before, after)
    try:
        yield migration
    finally:
        migration.to_latest()
