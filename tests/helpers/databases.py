"""The test database as seen from another process (a server, a cluster, a racing submitter)."""
from __future__ import annotations

from django.db import connection


def database_url() -> str:
    """``DATABASE_URL`` of the test database; the test must commit what it shares (a transactional test)."""
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
