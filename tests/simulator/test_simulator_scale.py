"""The simulator at scale: per-call latency that does not serialize, large streamed outcomes, bounded journal."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests

from generations import media
from gmi_simulator.http import LinkPace
from gmi_simulator.state import SimulatorState
from gmi_simulator.testing import running_simulator

BEARER = {"Authorization": "Bearer any-key"}
REPO = Path(__file__).resolve().parents[2]
MIB = 1024 * 1024


def timed_get(url: str, **kwargs) -> float:
    start = time.monotonic()
    assert requests.get(url, timeout=10, **kwargs).status_code == 200
    return time.monotonic() - start


def finished_video_url(sim) -> str:
    job = requests.post(
        f"{sim.base_url}/requests", json={"model": "Veo3", "payload": {"prompt": "x"}}, headers=BEARER, timeout=10
    ).json()
    sim.advance(30)
    return requests.get(f"{sim.base_url}/requests/{job['request_id']}", headers=BEARER, timeout=10).json()[
        "outcome"
    ]["video_url"]


def test_latency_delays_every_api_call_but_not_the_control_api() -> None:
    with running_simulator(latency_ms=200) as sim:
        api = timed_get(f"{sim.base_url}/models", headers=BEARER)
        legacy = timed_get(sim.legacy_models_url, headers=BEARER)
        control = timed_get(f"{sim.url}/_simulator/")

    assert api >= 0.2 and legacy >= 0.2
    assert control < 0.2


def test_concurrent_calls_wait_side_by_side_not_one_after_another() -> None:
    latency, calls = 200, 50
    durations: list[float] = []
    with running_simulator(latency_ms=latency) as sim:
        threads = [
            threading.Thread(target=lambda: durations.append(timed_get(f"{sim.base_url}/models", headers=BEARER)))
            for _ in range(calls)
        ]
        start = time.monotonic()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.monotonic() - start

    assert len(durations) == calls and min(durations) >= latency / 1000
    assert elapsed < 10 * latency / 1000  # serialized they would take 50 × 200 ms = 10 s


def test_latency_changes_at_run_time_and_storage_has_its_own_knob() -> None:
    with running_simulator() as sim:
        url = finished_video_url(sim)
        timed_get(url)  # the first answer renders the clip
        changed = requests.post(
            f"{sim.url}/_simulator/latency", json={"latency_ms": 150, "storage_latency_ms": 0}, timeout=5
        ).json()
        api = timed_get(f"{sim.base_url}/models", headers=BEARER)
        storage = timed_get(url)
        sim.set_latency(storage_latency_ms=300)
        slow_storage = timed_get(url)
        sim.reset()
        restored = sim.latency()

    assert changed == {"latency_ms": 150.0, "storage_latency_ms": 0.0}
    assert api >= 0.15 and storage < 0.15 and slow_storage >= 0.3
    assert restored == {"latency_ms": 0.0, "storage_latency_ms": 0.0}


def test_storage_follows_the_api_latency_unless_set() -> None:
    with running_simulator(latency_ms=150) as sim:
        url = finished_video_url(sim)
        assert timed_get(url) >= 0.15


def test_video_mb_outcome_is_a_valid_mp4_of_that_size() -> None:
    with running_simulator(video_mb=3) as sim:
        url = finished_video_url(sim)
        answer = requests.get(url, timeout=10)
        head = requests.head(url, timeout=10)

    assert answer.status_code == 200 and len(answer.content) == 3 * MIB
    assert head.headers["Content-Length"] == str(3 * MIB)
    media.verify(io.BytesIO(answer.content), "mp4")
    assert answer.content[-8:] == bytes(8)  # the padding is a trailing free box


def test_range_requests_on_a_large_outcome() -> None:
    with running_simulator(video_mb=3) as sim:
        url = finished_video_url(sim)
        whole = requests.get(url, timeout=10).content
        middle = requests.get(url, headers={"Range": "bytes=1000-2000999"}, timeout=10)
        tail = requests.get(url, headers={"Range": "bytes=-100"}, timeout=10)
        beyond = requests.get(url, headers={"Range": f"bytes={4 * MIB}-"}, timeout=10)

    assert middle.status_code == 206 and middle.content == whole[1000:2001000]
    assert middle.headers["Content-Range"] == f"bytes 1000-2000999/{3 * MIB}"
    assert middle.headers["Content-Length"] == str(2_000_000)
    assert tail.status_code == 206 and tail.content == whole[-100:]
    assert beyond.status_code == 416 and beyond.headers["Content-Range"] == f"bytes */{3 * MIB}"


def test_a_gigabyte_outcome_is_streamed_not_built_in_memory() -> None:
    with running_simulator(video_mb=1024) as sim:
        url = finished_video_url(sim)
        with requests.get(url, stream=True, timeout=10) as answer:
            first = next(answer.iter_content(64 * 1024))
            length = int(answer.headers["Content-Length"])
        tail = requests.get(url, headers={"Range": "bytes=-16"}, timeout=10)

    assert length == 1024 * MIB and media.sniff(first) == "mp4"
    assert tail.content == bytes(16)


def test_link_pace_waits_only_for_what_the_link_has_not_carried_yet() -> None:
    now = [100.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    pace = LinkPace(1_000_000, clock=lambda: now[0], sleep=sleep)
    pace.send(500_000)  # half a second of link, sent at once: wait for it
    now[0] += 0.2  # the writer itself was slow: the link carried the next 0.1 MB meanwhile
    pace.send(100_000)
    pace.send(400_000)

    assert slept == pytest.approx([0.5, 0.3])
    assert now[0] == pytest.approx(101.0)  # 1 MB over a 1 MB/s link: one second from the start, not more


def test_no_link_rate_never_waits() -> None:
    pace = LinkPace(0, clock=lambda: 0.0, sleep=lambda seconds: pytest.fail(f"slept {seconds}"))
    pace.send(10**9)


def test_storage_mbit_holds_a_download_to_the_link_rate() -> None:
    with running_simulator(video_mb=2, storage_mbit=80) as sim:  # 10 MB/s: 2 MiB take 0.21 s at least
        url = finished_video_url(sim)
        described = requests.get(f"{sim.url}/_simulator/", timeout=5).json()
        seconds = timed_get(url)

    assert described["storage_bytes_per_second"] == 10_000_000
    assert seconds >= 2 * MIB / 10_000_000


def test_journal_keeps_only_the_newest_entries() -> None:
    state = SimulatorState(journal_size=3)
    for index in range(5):
        state.record({"endpoint": "get", "api": "requestqueue", "index": index})

    assert [entry["index"] for entry in state.journal()] == [2, 3, 4]


def test_command_reads_latency_from_the_environment_and_the_flag_wins() -> None:
    def start(*args: str, latency: str) -> tuple[subprocess.Popen, str]:
        process = subprocess.Popen(
            [sys.executable, "manage.py", "gmi_simulator", "--port", "0", "--quiet", *args],
            cwd=REPO,
            env={
                **os.environ,
                "DJANGO_DEBUG": "1",
                "DJANGO_SETTINGS_MODULE": "gmi_project.settings",
                "GMI_SIMULATOR_LATENCY_MS": latency,
            },
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        lines: list[str] = []
        while not lines or "Ctrl-C" not in lines[-1]:
            line = process.stdout.readline()
            assert line, "".join(lines)
            lines.append(line)
        return process, "".join(lines).split("GMI_BASE_URL=")[1].split()[0]

    from_env, env_url = start(latency="250")
    flagged, flag_url = start("--latency-ms", "0", "--video-mb", "2", latency="250")
    try:
        assert timed_get(f"{env_url}/models", headers=BEARER) >= 0.25
        assert timed_get(f"{flag_url}/models", headers=BEARER) < 0.25
        origin = flag_url.split("/api/")[0]
        assert requests.get(f"{origin}/_simulator/", timeout=5).json()["video_bytes"] == 2 * MIB
    finally:
        for process in (from_env, flagged):
            process.send_signal(signal.SIGINT)
            process.communicate(timeout=10)
