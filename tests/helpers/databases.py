"""The test database as seen from another process (a server, a cluster, a racing submitter, a restore)."""
from __future__ import annotations

from django.db import connection


def database_url(name: str | None = None) -> str:
    """``DATABASE_URL`` of the test database (or of database ``name`` on the same PostgreSQL server).

    The test must commit what it shares (a transactional test)."""
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    auth = (db["USER"] or "postgres") + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{name or db['NAME']}"
