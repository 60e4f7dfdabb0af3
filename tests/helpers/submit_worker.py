"""A separate process that submits generations from several threads at once (for race tests).

It prints ``ready`` once Django is set up and the database has answered, then waits for a line on
stdin: the test releases every process with one line each, so all start together however long
each took to come up.
"""
from __future__ import annotations

import json
import os
import sys
import threading


def main() -> None:
    username, model_id, threads = sys.argv[1], sys.argv[2], int(sys.argv[3])
    team = sys.argv[4] if len(sys.argv) > 4 else None
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gmi_project.settings")
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.db import connections

    from generations.exceptions import QuotaExceeded
    from generations.services import submissions

    user = get_user_model().objects.get(username=username)
    connections.close_all()
    outcome = {"accepted": 0, "refused": 0, "errors": []}
    lock = threading.Lock()

    def submit(i: int) -> None:
        try:
            submissions.submit_generation(user=user, model_id=model_id, team=team,
                                          payload={"prompt": f"race {os.getpid()} {i}"})
            key = "accepted"
        except QuotaExceeded:
            key = "refused"
        except Exception as exc:  # reported to the test, which fails on any
            with lock:
                outcome["errors"].append(repr(exc))
            return
        finally:
            connections.close_all()
        with lock:
            outcome[key] += 1

    workers = [threading.Thread(target=submit, args=(i,)) for i in range(threads)]
    print("ready", flush=True)
    sys.stdin.readline()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    print(json.dumps(outcome))


if __name__ == "__main__":
    main()
