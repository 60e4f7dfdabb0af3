"""`make run`: migrate, start the GMI simulator (without GMI_API_KEY), a qcluster and the web server.

Ctrl-C stops all of them.
"""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
WEB = os.environ.get("PORTAL_ADDR", "127.0.0.1:8000")
SIM_HOST = "127.0.0.1"
SIM_PORT = int(os.environ.get("GMI_SIMULATOR_PORT", "8765"))
DEMO_USER, DEMO_PASSWORD = "demo", "demo-pass-2026"
STAFF_USER, STAFF_PASSWORD = "admin", "admin-pass-2026"


def manage(*args: str, env: dict[str, str], check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run([PY, "manage.py", *args], cwd=ROOT, env=env, check=check)


def wait_for_port(host: str, port: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"Nothing answered on {host}:{port} after {timeout:.0f}s.")


def signal_group(child: subprocess.Popen, sig: int) -> None:
    try:
        os.killpg(child.pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def port_free(host: str, port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex((host, port)) != 0


def main() -> int:
    env = dict(os.environ)
    env.setdefault("DJANGO_DEBUG", "1")
    env.setdefault("PYTHONUNBUFFERED", "1")
    children: list[subprocess.Popen] = []

    def stop_all(*_):
        # Each child leads its own process group, so its workers stop with it (qcluster's
        # worker processes would otherwise outlive it). Killing a worker mid-task is safe:
        # the generation's row is the truth and the next start picks the job up.
        for child in reversed(children):
            signal_group(child, signal.SIGTERM)
        deadline = time.monotonic() + 8
        for child in children:
            try:
                child.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
            signal_group(child, signal.SIGKILL)
            child.wait()

    signal.signal(signal.SIGTERM, lambda *_: (stop_all(), sys.exit(0)))
    try:
        if not env.get("GMI_API_KEY"):
            if not port_free(SIM_HOST, SIM_PORT):
                raise SystemExit(f"Port {SIM_PORT} is taken; set GMI_SIMULATOR_PORT to another port.")
            # gmi_simulator reads GMI_SIMULATOR_LATENCY_MS from the environment it inherits.
            print(f"No GMI_API_KEY: starting the GMI simulator on {SIM_HOST}:{SIM_PORT}", flush=True)
            children.append(subprocess.Popen(
                [PY, "manage.py", "gmi_simulator", "--host", SIM_HOST, "--port", str(SIM_PORT)], cwd=ROOT, env=env,
                start_new_session=True))
            wait_for_port(SIM_HOST, SIM_PORT)
            env["GMI_API_KEY"] = "simulator-key"
            origin = f"http://{SIM_HOST}:{SIM_PORT}"
            if env.get("GMI_API", "requestqueue") == "legacy":
                env["GMI_BASE_URL"] = origin
                env["GMI_MODELS_URL"] = f"{origin}/video/models"
            else:
                env["GMI_BASE_URL"] = f"{origin}/api/v1/ie/requestqueue/apikey"
            allowed = env.get("GMI_MIRROR_ALLOWED_HOSTS", "storage.googleapis.com,.gmi-serving.com,.gmicloud.ai")
            env["GMI_MIRROR_ALLOWED_HOSTS"] = f"{allowed},{SIM_HOST}:{SIM_PORT}"  # its port, no other local one
            env.setdefault("GMI_POLL_INTERVAL", "2")
        manage("migrate", "--noinput", env=env)
        manage("gmi_sync_models", env=env, check=False)
        manage("shell", "-c", (
            "from django.contrib.auth import get_user_model as g; U = g()\n"
            f"U.objects.filter(username='{DEMO_USER}').exists() or "
            f"U.objects.create_user('{DEMO_USER}', 'demo@example.com', '{DEMO_PASSWORD}')\n"
            f"U.objects.filter(username='{STAFF_USER}').exists() or "
            f"U.objects.create_superuser('{STAFF_USER}', 'admin@example.com', '{STAFF_PASSWORD}')\n"
        ), env=env)
        children.append(subprocess.Popen([PY, "manage.py", "qcluster"], cwd=ROOT, env=env, start_new_session=True))
        children.append(subprocess.Popen([PY, "manage.py", "runserver", WEB, "--noreload"], cwd=ROOT, env=env,
                                         start_new_session=True))
        host, port = WEB.rsplit(":", 1)
        wait_for_port(host, int(port), timeout=60)
        print(
            "\n"
            f"  GMI Video Portal is running on http://{WEB}/\n"
            f"  Log in as {DEMO_USER} / {DEMO_PASSWORD} (member) or {STAFF_USER} / {STAFF_PASSWORD} (staff, /admin/).\n"
            f"  API docs: http://{WEB}/api/v1/docs/   Ctrl-C stops everything.\n",
            flush=True,
        )
        while all(child.poll() is None for child in children):
            time.sleep(0.5)
        failed = [c.args for c in children if c.poll() not in (None, 0)]
        if failed:
            print(f"A process stopped: {failed}", file=sys.stderr)
            return 1
        return 0
    except KeyboardInterrupt:
        print("\nStopping…", flush=True)
        return 0
    finally:
        stop_all()


if __name__ == "__main__":
    sys.exit(main())
