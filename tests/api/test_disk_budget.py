"""The whole app on a 30 MB filesystem (a tmpfs mounted for the test): stale files of an earlier
run are swept at start, a request whose results would not fit is refused with a clear message and
leaves nothing behind, uploads are refused while the disk is full and accepted once it frees up."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import httpx
import pytest
import soundfile as sf
import torch
from gradio_client import Client, handle_file

from tests import signals
from tests.unit.test_storage import files_under, mount_tmpfs, put

ROOT = Path(__file__).resolve().parents[2]
LAUNCH = "import app; app.demo.launch(server_port={port}, quiet=True, **app.launch_kwargs())"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_up(url: str, server: subprocess.Popen, timeout_s: float = 180.0) -> None:
    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        assert server.poll() is None, "the app exited"
        try:
            urllib.request.urlopen(f"{url}/config", timeout=2).read()  # loopback only: our own app
            return
        except OSError:
            time.sleep(0.5)
    raise TimeoutError("the app did not start")


@pytest.fixture(scope="module")
def small_disk(tmp_path_factory):
    """A 30 MB tmpfs holding the app's temp folder and Gradio's cache, with stale files of an earlier run."""
    disk = tmp_path_factory.mktemp("small") / "disk"
    mount_tmpfs(disk, "30m")
    yield disk
    subprocess.run(["umount", "-l", str(disk)], check=False)


@pytest.fixture(scope="module")
def small_app(small_disk, tmp_path_factory):
    """The app launched in a subprocess with its temp folders on ``small_disk``; yields its URL."""
    stale = [
        put(small_disk / "gradio" / "f00" / "left_by_kill_9.wav", 3_000_000, age_s=7200),
        put(small_disk / "torchaudio-lab" / "e11" / "result.wav", 3_000_000, age_s=7200),
    ]
    port = free_port()
    env = {**os.environ, "TMPDIR": str(small_disk), "GRADIO_TEMP_DIR": str(small_disk / "gradio")}
    log = (tmp_path_factory.mktemp("log") / "app.log").open("wb")
    server = subprocess.Popen(
        [sys.executable, "-c", LAUNCH.format(port=port)], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(url, server)
        yield url, stale
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()
        print(Path(log.name).read_text(errors="replace")[-3000:])  # shown when a test failed


def test_stale_files_of_an_earlier_run_are_swept_at_start(small_app, small_disk):
    _, stale = small_app
    assert not any(path.exists() for path in stale)
    assert list((small_disk / "gradio").rglob("*.wav"))  # the example clips Gradio copied at start stay


def test_a_request_whose_results_would_not_fit_is_refused_and_leaves_nothing(small_app, small_disk, tmp_path):
    url, _ = small_app
    # the probe's request: 30 s of 44.1 kHz stereo resampled to 96 kHz float WAV (23 MB, twice with Gradio's copy)
    clip = signals.write(tmp_path / "long.wav", torch.cat([signals.chirp(100, 4000, 44_100, 30.0)] * 2), 44_100)
    client = Client(url, verbose=False)
    before = set(files_under(small_disk / "torchaudio-lab"))
    with pytest.raises(Exception, match="short of disk space"):
        client.predict(handle_file(str(clip)), 0, -1, "96000", "wav", "float", api_name="/load_audio")
    assert set(files_under(small_disk / "torchaudio-lab")) == before  # no partial or orphaned results
    # ... and the app goes on serving a request that fits
    result = client.predict(handle_file(str(clip)), 0, 44_100, "8000", "wav", "16", api_name="/load_audio")
    info = sf.info(result[5])
    assert (info.samplerate, info.frames, info.channels) == (8000, 8000, 2)


def test_uploads_are_refused_while_the_disk_is_full_and_accepted_once_it_frees_up(small_app, small_disk, tmp_path):
    url, _ = small_app
    clip = signals.write(tmp_path / "clip.wav", signals.white_noise(16_000, 20.0), 16_000)  # 640 kB
    free = os.statvfs(small_disk).f_bavail * os.statvfs(small_disk).f_frsize
    filler = put(small_disk / "another_program" / "filler.bin", free - 500_000)  # not the app's: never swept

    def upload() -> httpx.Response:
        with clip.open("rb") as f:
            return httpx.post(f"{url}/gradio_api/upload", files={"files": ("clip.wav", f, "audio/wav")}, timeout=30)

    refused = upload()
    assert refused.status_code == 507
    assert "short of disk space" in refused.text and "磁盘空间" in refused.text
    filler.unlink()
    accepted = upload()
    assert accepted.status_code == 200
    assert Path(accepted.json()[0]).read_bytes() == clip.read_bytes()
