"""The GMI simulator itself: media, signed URLs, uploads, auth, faults, control API and command."""

from __future__ import annotations

import io
import os
import signal
import struct
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from PIL import Image

from gmi_simulator import (
    FAULTS,
    PROMPT_TRIGGERS,
    GMISimulator,
    parse_fault_spec,
)
from gmi_simulator.media import FPS, FRAME_SIZES, SECONDS, render_clip
from gmi_simulator.testing import running_simulator

BEARER = {"Authorization": "Bearer any-key"}
KEY = {"Authorization": "Key any-key"}
REPO = Path(__file__).resolve().parents[2]


def boxes(data: bytes, start: int = 0, end: int | None = None) -> dict[bytes, bytes]:
    """Top-level ISO-BMFF boxes in data[start:end], by type, checking every size adds up."""
    found: dict[bytes, bytes] = {}
    end = len(data) if end is None else end
    while start < end:
        size, kind = struct.unpack(">I4s", data[start : start + 8])
        assert size >= 8 and start + size <= end, f"box {kind!r} overruns its parent"
        found[kind] = data[start + 8 : start + size]
        start += size
    assert start == end
    return found


def submit(sim: GMISimulator, payload: dict, model: str = "Veo3") -> dict:
    answer = requests.post(
        f"{sim.base_url}/requests", json={"model": model, "payload": payload}, headers=BEARER, timeout=5
    )
    assert answer.status_code == 200, answer.text
    return answer.json()


def fetch(sim: GMISimulator, request_id: str) -> dict:
    return requests.get(f"{sim.base_url}/requests/{request_id}", headers=BEARER, timeout=5).json()


def finished_outcome(sim: GMISimulator, payload: dict) -> dict:
    job = submit(sim, payload)
    sim.advance(10)
    return fetch(sim, job["request_id"])["outcome"]


@pytest.mark.parametrize("aspect", list(FRAME_SIZES))
def test_mp4_is_a_structurally_valid_h264_file(aspect) -> None:
    clip = render_clip(1, aspect)

    top = boxes(clip.video)
    assert list(top) == [b"ftyp", b"moov", b"mdat"]  # moov first: playable while downloading
    assert top[b"ftyp"][:4] == b"isom"
    moov = boxes(top[b"moov"])
    trak = boxes(moov[b"trak"])
    mdia = boxes(trak[b"mdia"])
    stbl = boxes(boxes(mdia[b"minf"])[b"stbl"])
    assert mdia[b"hdlr"][8:12] == b"vide"
    stsd = stbl[b"stsd"]
    assert stsd[12:16] == b"avc1" and b"avcC" in stsd
    width, height = struct.unpack(">HH", stsd[8 + 8 + 24 : 8 + 8 + 28])
    assert (width, height) == FRAME_SIZES[aspect] == (clip.width, clip.height)
    _flags, uniform_size, sample_count, *sizes = struct.unpack(">" + "I" * (len(stbl[b"stsz"]) // 4), stbl[b"stsz"])
    assert uniform_size == 0 and sample_count == len(sizes) == FPS * SECONDS
    assert sum(sizes) == len(top[b"mdat"])
    (chunk_offset,) = struct.unpack(">I", stbl[b"stco"][8:12])
    assert clip.video[chunk_offset : chunk_offset + 5][4] & 0x1F == 5  # the first sample is an IDR slice
    timescale, duration = struct.unpack(">II", moov[b"mvhd"][12:20])
    assert duration / timescale == clip.duration == SECONDS


def test_thumbnail_is_a_jpeg_of_the_video_size() -> None:
    clip = render_clip(2, "9:16")

    image = Image.open(io.BytesIO(clip.thumbnail))
    image.load()
    assert (image.format, image.size) == ("JPEG", (180, 320))


def test_jobs_move_through_their_phases_over_job_seconds() -> None:
    with running_simulator(job_seconds=10) as sim:
        job = submit(sim, {"prompt": "x"}, model="Kling-Text2Video-V2.1-Master")
        statuses = [job["status"]]
        for _ in range(3):
            sim.advance(3)
            statuses.append(fetch(sim, job["request_id"])["status"])
        assert statuses == ["queued", "dispatched", "processing", "processing"]
        sim.advance(2)
        done = fetch(sim, job["request_id"])
        assert done["status"] == "success" and done["outcome"]["video_url"]


def test_outcome_files_are_served_with_range_support(simulator) -> None:
    outcome = finished_outcome(simulator, {"prompt": "x", "aspectRatio": "9:16"})

    whole = requests.get(outcome["video_url"], timeout=5)
    part = requests.get(outcome["video_url"], headers={"Range": "bytes=100-199"}, timeout=5)
    tail = requests.get(outcome["video_url"], headers={"Range": "bytes=-10"}, timeout=5)
    thumbnail = requests.get(outcome["thumbnail_image_url"], timeout=5)

    assert whole.headers["Accept-Ranges"] == "bytes"
    assert (part.status_code, part.content) == (206, whole.content[100:200])
    assert part.headers["Content-Range"] == f"bytes 100-199/{len(whole.content)}"
    assert tail.content == whole.content[-10:]
    assert Image.open(io.BytesIO(thumbnail.content)).size == (180, 320)
    assert requests.head(outcome["video_url"], timeout=5).headers["Content-Length"] == str(len(whole.content))


def test_outcome_urls_are_absolute_for_the_host_the_client_used(simulator) -> None:
    job = submit(simulator, {"prompt": "x"})
    simulator.advance(10)

    outcome = requests.get(
        f"{simulator.base_url}/requests/{job['request_id']}", headers={**BEARER, "Host": "gmi.test:9999"}, timeout=5
    ).json()["outcome"]

    assert outcome["video_url"].startswith("http://gmi.test:9999/storage/")


def test_expired_urls_fault_gives_outcome_urls_that_answer_403(simulator) -> None:
    simulator.set_fault("expired_urls")

    expired = finished_outcome(simulator, {"prompt": "x"})
    fresh = finished_outcome(simulator, {"prompt": "y"})

    answer = requests.get(expired["video_url"], timeout=5)
    assert answer.status_code == 403 and b"expired" in answer.content
    assert requests.get(fresh["video_url"], timeout=5).status_code == 200


def test_outcome_urls_expire_after_url_ttl(simulator) -> None:
    outcome = finished_outcome(simulator, {"prompt": "[envelope-strings] x"})
    video_url = outcome["media_urls"][0]

    assert requests.get(video_url, timeout=5).status_code == 200
    simulator.advance(3601)
    assert requests.get(video_url, timeout=5).status_code == 403


def test_tampered_signature_is_refused(simulator) -> None:
    outcome = finished_outcome(simulator, {"prompt": "x"})

    forged = outcome["video_url"].replace("expires=", "expires=9")

    assert requests.get(forged, timeout=5).status_code == 403


def test_upload_accepts_only_a_put_with_the_matching_content_type(simulator) -> None:
    urls = requests.post(
        f"{simulator.base_url}/upload-url", json={"file_type": "jpg"}, headers=BEARER, timeout=5
    ).json()

    wrong = requests.put(urls["upload_url"], data=b"jpeg bytes", headers={"Content-Type": "image/png"}, timeout=5)
    before = requests.get(urls["public_url"], timeout=5)
    right = requests.put(urls["upload_url"], data=b"jpeg bytes", headers={"Content-Type": "image/jpeg"}, timeout=5)
    after = requests.get(urls["public_url"], timeout=5)

    assert wrong.status_code == 403 and b"SignatureDoesNotMatch" in wrong.content
    assert before.status_code == 404
    assert right.status_code == 200
    assert (after.status_code, after.content, after.headers["Content-Type"]) == (200, b"jpeg bytes", "image/jpeg")


def test_upload_url_refuses_unknown_file_types(simulator) -> None:
    answer = requests.post(f"{simulator.base_url}/upload-url", json={"file_type": "exe"}, headers=BEARER, timeout=5)

    assert answer.status_code == 400 and "file_type" in answer.json()["error"]


@pytest.mark.parametrize(
    ("method", "path", "scheme"),
    [
        ("GET", "/api/v1/ie/requestqueue/apikey/models", "Bearer"),
        ("GET", "/video/models", "Bearer"),
        ("GET", "/video/requests/some-id/status", "Key"),
    ],
)
def test_started_with_a_key_only_that_key_in_the_apis_header_form_is_accepted(method, path, scheme) -> None:
    other = "Key" if scheme == "Bearer" else "Bearer"
    with running_simulator(key="K-123") as sim:
        url = sim.url + path

        def status(header: str | None) -> int:
            headers = {"Authorization": header} if header else {}
            return requests.request(method, url, headers=headers, timeout=5).status_code

        assert status(None) == 401
        assert status(f"{scheme} wrong") == 401
        assert status(f"{other} K-123") == 401
        assert status(f"{scheme} K-123") in (200, 404)  # 404: the legacy request does not exist


def test_without_a_key_any_nonempty_key_is_accepted_in_the_right_form(simulator) -> None:
    models = f"{simulator.base_url}/models"

    assert requests.get(models, headers={"Authorization": "Bearer whatever"}, timeout=5).status_code == 200
    assert requests.get(models, headers={"Authorization": "Bearer "}, timeout=5).status_code == 401
    assert requests.get(models, headers={"Authorization": "Key whatever"}, timeout=5).status_code == 401


def test_journal_records_the_scheme_but_never_the_key(simulator) -> None:
    secret = "sk-journal-secret-5521"
    requests.get(f"{simulator.base_url}/models", headers={"Authorization": f"Bearer {secret}"}, timeout=5)
    requests.get(f"{simulator.base_url}/models", headers={"Authorization": secret}, timeout=5)
    requests.get(f"{simulator.base_url}/models", timeout=5)

    journal = simulator.journal()
    assert [entry["auth_scheme"] for entry in journal] == ["Bearer", "other", None]
    assert secret not in repr(journal)
    assert [entry["status"] for entry in journal] == [200, 401, 401]


def test_faults_fire_for_the_next_n_calls_then_stop(simulator) -> None:
    simulator.set_fault("server_error", count=2, status=500)
    models = f"{simulator.base_url}/models"

    codes = [requests.get(models, headers=BEARER, timeout=5).status_code for _ in range(3)]

    assert codes == [500, 500, 200]
    assert [entry["fault"] for entry in simulator.journal()] == ["server_error", "server_error", None]
    assert simulator.active_faults() == []


def test_probability_faults_fire_on_about_that_share_of_calls() -> None:
    with running_simulator(seed=7) as sim:
        sim.set_fault("rate_limit", probability=0.5)

        codes = [requests.get(f"{sim.base_url}/models", headers=BEARER, timeout=5).status_code for _ in range(40)]

        assert 8 <= codes.count(429) <= 32
        assert set(codes) == {200, 429}
        assert sim.active_faults()[0]["probability"] == 0.5


def test_faults_are_scoped_to_endpoints(simulator) -> None:
    simulator.set_fault("rate_limit", count=1, endpoints=["create"])

    assert requests.get(f"{simulator.base_url}/models", headers=BEARER, timeout=5).status_code == 200
    answer = requests.post(
        f"{simulator.base_url}/requests", json={"model": "Veo3", "payload": {"prompt": "x"}}, headers=BEARER, timeout=5
    )
    assert answer.status_code == 429 and answer.headers["Retry-After"] == "2"


def test_lost_response_creates_the_job_but_drops_the_connection(simulator) -> None:
    with pytest.raises(requests.ConnectionError):
        requests.post(
            f"{simulator.base_url}/requests",
            json={"model": "Veo3", "payload": {"prompt": "x [lost]"}},
            headers=BEARER,
            timeout=5,
        )

    [job] = simulator.jobs()
    assert job["payload"] == {"prompt": "x [lost]"}
    assert simulator.journal()[0]["status"] is None and simulator.journal()[0]["fault"] == "lost_response"


def test_timeout_fault_holds_the_answer_past_the_clients_read_timeout(simulator) -> None:
    simulator.set_fault("timeout", seconds=5)
    started = time.monotonic()

    with pytest.raises(requests.ReadTimeout):
        requests.get(f"{simulator.base_url}/models", headers=BEARER, timeout=(2, 0.3))

    assert time.monotonic() - started < 2


def test_malformed_json_fault_sends_cut_off_json(simulator) -> None:
    simulator.set_fault("malformed_json")

    answer = requests.get(f"{simulator.base_url}/models", headers=BEARER, timeout=5)

    assert answer.status_code == 200 and answer.headers["Content-Type"] == "application/json"
    with pytest.raises(ValueError):
        answer.json()


@pytest.mark.parametrize(
    ("trigger", "check"),
    [
        ("[fail]", lambda job: job["status"] == "failed" and job["error"]),
        ("[envelope]", lambda job: job["outcome"]["media_urls"][0]["url"]),
        ("[envelope-strings]", lambda job: isinstance(job["outcome"]["media_urls"][0], str)),
        ("[stuck]", lambda job: job["status"] == "processing"),
    ],
)
def test_prompt_triggers_shape_the_job(simulator, trigger, check) -> None:
    job = submit(simulator, {"prompt": f"a fox {trigger}"})
    simulator.advance(60)

    assert check(fetch(simulator, job["request_id"]))


@pytest.mark.parametrize("trigger", ["[policy]", "[invalid]"])
def test_prompt_triggers_refuse_the_submission(simulator, trigger) -> None:
    answer = requests.post(
        f"{simulator.base_url}/requests",
        json={"model": "Veo3", "payload": {"prompt": trigger}},
        headers=BEARER,
        timeout=5,
    )

    assert answer.status_code == 400
    assert ("content policy" in answer.json()["error"]) is (trigger == "[policy]")
    assert simulator.jobs() == []


def test_list_requests_filters_by_model(simulator) -> None:
    submit(simulator, {"prompt": "a"})
    submit(simulator, {"prompt": "b"}, model="Luma-Ray2")

    listed = requests.get(
        f"{simulator.base_url}/requests", params={"model_id": "Luma-Ray2"}, headers=BEARER, timeout=5
    ).json()

    assert [job["payload"] for job in listed["requests"]] == [{"prompt": "b"}]


def test_control_api_sets_faults_reads_the_journal_and_resets(simulator) -> None:
    control = f"{simulator.url}/_simulator"

    simulator.configure(job_seconds=99, url_ttl=5)
    added = requests.post(f"{control}/faults", json={"name": "rate_limit", "count": 1, "retry_after": 9}, timeout=5)
    limited = requests.get(f"{simulator.base_url}/models", headers=BEARER, timeout=5)
    journal = requests.get(f"{control}/requests", params={"endpoint": "models"}, timeout=5).json()["requests"]
    bad = requests.post(f"{control}/faults", json={"name": "meteor_strike"}, timeout=5)
    reset = requests.post(f"{control}/reset", timeout=5)

    assert added.status_code == 200 and added.json()["faults"][0]["retry_after"] == 9
    assert (limited.status_code, limited.headers["Retry-After"]) == (429, "9")
    assert [(entry["path"], entry["fault"]) for entry in journal] == [
        ("/api/v1/ie/requestqueue/apikey/models", "rate_limit")
    ]
    assert bad.status_code == 400 and "meteor_strike" in bad.json()["error"]
    assert reset.status_code == 200 and simulator.journal() == [] and simulator.active_faults() == []
    assert simulator.config() == {"job_seconds": 0.4, "url_ttl": 3600.0, "key_required": False}


def test_control_api_moves_the_clock_and_describes_itself(simulator) -> None:
    job = submit(simulator, {"prompt": "x"})
    control = f"{simulator.url}/_simulator"

    requests.post(f"{control}/advance", json={"seconds": 30}, timeout=5)
    jobs = requests.get(f"{control}/jobs", timeout=5).json()["jobs"]
    described = requests.get(f"{control}/", timeout=5).json()

    assert [(j["request_id"], j["phase"]) for j in jobs] == [(job["request_id"], "success")]
    assert described["request_queue_base_url"] == simulator.base_url
    assert set(described["faults"]) == set(FAULTS) and set(described["prompt_triggers"]) == set(PROMPT_TRIGGERS)
    assert [entry["endpoint"] for entry in simulator.journal()] == ["create"]  # control calls are not journaled


def test_fault_specs_parse_counts_percentages_and_parameters() -> None:
    counted = parse_fault_spec("rate_limit:3,retry_after=5,http_date=true")
    share = parse_fault_spec("server_error:20%,status=502")
    always = parse_fault_spec("timeout:always,seconds=1.5")
    once = parse_fault_spec("envelope,strings=true,endpoints=create+legacy_submit")

    assert (counted.count, counted.params["retry_after"], counted.params["http_date"]) == (3, 5, True)
    assert (share.probability, share.params["status"]) == (0.2, 502)
    assert (always.probability, always.params["seconds"]) == (1.0, 1.5)
    assert (once.count, once.params["strings"], once.endpoints) == (1, True, frozenset({"create", "legacy_submit"}))
    for bad in ("meteor", "rate_limit:3,color=red", "rate_limit,endpoints=nowhere", "rate_limit:150%"):
        with pytest.raises(ValueError):
            parse_fault_spec(bad)


def test_management_command_prints_both_base_urls_and_stops_on_ctrl_c() -> None:
    process = subprocess.Popen(
        [sys.executable, "manage.py", "gmi_simulator", "--port", "0", "--job-seconds", "1", "--fault", "rate_limit:1"],
        cwd=REPO,
        env={**os.environ, "DJANGO_DEBUG": "1", "DJANGO_SETTINGS_MODULE": "gmi_project.settings"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        lines = []
        while not lines or "Ctrl-C" not in lines[-1]:
            line = process.stdout.readline()
            assert line, "".join(lines)
            lines.append(line)
        output = "".join(lines)
        base_url = output.split("GMI_BASE_URL=")[1].split()[0]
        assert base_url.endswith("/api/v1/ie/requestqueue/apikey")
        assert "GMI_MODELS_URL=http://127.0.0.1:" in output
        assert requests.get(f"{base_url}/models", headers=BEARER, timeout=5).status_code == 429
        assert requests.get(f"{base_url}/models", headers=BEARER, timeout=5).status_code == 200
    finally:
        process.send_signal(signal.SIGINT)
        rest, _ = process.communicate(timeout=10)
    assert process.returncode == 0
    assert "stopped" in rest
