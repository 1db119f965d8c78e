"""The disk budget (components.storage) on a small tmpfs mounted for the test, or an injected budget."""

from __future__ import annotations

import math
import os
import subprocess
import threading
import time
import types
from pathlib import Path

import gradio as gr
import pytest

from audiolab.core import limits
from audiolab.core.errors import AudioLabError
from components import common, storage
from tests import loops, signals

HOUR = 3600.0


def mount_tmpfs(folder: Path, size: str) -> None:
    """Mount a tmpfs of ``size`` on ``folder``, or skip the test where mounting is not permitted."""
    folder.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode(errors='replace').strip()}")


@pytest.fixture
def app_folders(tmp_path, monkeypatch):
    """The app's two folders (results, Gradio's cache) on a 4 MB tmpfs."""
    disk = tmp_path / "disk"
    mount_tmpfs(disk, "4m")
    monkeypatch.setattr(storage, "OUTPUT_DIR", disk / "results")
    monkeypatch.setattr(common, "OUTPUT_DIR", disk / "results")
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(disk / "gradio"))
    (disk / "gradio").mkdir()
    monkeypatch.setattr(storage, "_last_age_sweep", time.monotonic())  # no age sweep unless a test asks
    monkeypatch.setattr(storage, "_counted_at", -math.inf)  # count the folders at the first write
    yield disk
    subprocess.run(["umount", "-l", str(disk)], check=False)


def files_under(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file())


def put(path: Path, nbytes: int, age_s: float = 0.0) -> Path:
    """A file of ``nbytes`` zeros last modified ``age_s`` seconds ago."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(bytes(nbytes))
    then = time.time() - age_s
    os.utime(path, (then, then))
    return path


def test_a_result_that_would_not_fit_is_refused_in_both_languages_and_nothing_is_left(app_folders):
    # 10 s of 48 kHz stereo float: 3.84 MB, and Gradio's copy of it: more than the 4 MB disk holds
    waveform = signals.sine(440, 48_000, 10.0, channels=2)
    with pytest.raises(AudioLabError, match="short of disk space") as err:
        common.audio_file("result.wav", waveform, 48_000, bits="float")
    assert "磁盘空间" in err.value.zh
    assert files_under(app_folders) == []


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")  # libsndfile's write callback
def test_a_write_that_fills_the_disk_anyway_leaves_no_partial_file(app_folders, monkeypatch):
    monkeypatch.setattr(storage, "ensure_room", lambda nbytes: None)  # as if another program filled the disk meanwhile
    waveform = signals.sine(440, 48_000, 30.0, channels=2)  # 11.5 MB of float WAV on a 4 MB disk
    with pytest.raises(AudioLabError, match="short of disk space"):
        common.audio_file("result.wav", waveform, 48_000, bits="float")
    assert files_under(app_folders) == []
    assert not list((app_folders / "results").iterdir())  # nor its fresh folder


def test_the_oldest_files_are_swept_first_to_make_room(app_folders):
    gradio_dir = app_folders / "gradio"
    oldest = put(gradio_dir / "a" / "upload.wav", 1_000_000, age_s=300)
    older = put(app_folders / "results" / "b" / "result.wav", 1_000_000, age_s=200)
    newer = put(gradio_dir / "c" / "copy.wav", 1_000_000, age_s=100)
    data = bytes(1_200_000)  # 2.4 MB with Gradio's copy, 1.2 MB free: two of the three old files must go, oldest first
    path = Path(common.output_file("new.npy", data))
    assert path.read_bytes() == data
    assert not oldest.exists() and not older.exists() and newer.exists()
    assert not oldest.parent.exists()  # the emptied folder went too


def test_young_and_kept_files_are_never_swept(app_folders, monkeypatch):
    kept = put(app_folders / "gradio" / "k" / "example.wav", 1_500_000, age_s=10 * HOUR)
    young = put(app_folders / "results" / "y" / "just_written.wav", 1_500_000, age_s=1)
    monkeypatch.setattr(storage, "_kept", {str(kept.resolve())})
    with pytest.raises(AudioLabError, match="short of disk space"):
        common.output_file("big.npy", bytes(600_000))
    assert kept.exists() and young.exists()


def test_the_budget_bounds_the_total_even_with_free_disk(tmp_path, monkeypatch):
    monkeypatch.setattr(storage, "OUTPUT_DIR", tmp_path / "results")
    monkeypatch.setattr(common, "OUTPUT_DIR", tmp_path / "results")
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(tmp_path / "gradio"))
    monkeypatch.setattr(limits, "DISK_BUDGET_BYTES", 1_000_000)
    monkeypatch.setattr(storage, "_counted_at", -math.inf)
    old = put(tmp_path / "gradio" / "o" / "old.wav", 700_000, age_s=60)
    common.output_file("a.bin", bytes(200_000))  # 0.7 + 2 x 0.2 MB > 1 MB: the old file goes
    assert not old.exists()
    assert sum(p.stat().st_size for p in files_under(tmp_path)) <= 1_000_000
    with pytest.raises(AudioLabError, match="short of disk space"):
        common.output_file("b.bin", bytes(600_000))  # 2 x 0.6 MB can never fit


def test_the_age_sweep_deletes_any_run_s_old_files_from_both_folders(app_folders, monkeypatch):
    put(app_folders / "gradio" / "s" / "left_by_kill_9.wav", 1000, age_s=2 * HOUR)
    put(app_folders / "results" / "r" / "old.png", 1000, age_s=2 * HOUR)
    kept = put(app_folders / "gradio" / "k" / "example.wav", 1000, age_s=2 * HOUR)
    fresh = put(app_folders / "gradio" / "f" / "upload.wav", 1000, age_s=60)
    monkeypatch.setattr(storage, "_kept", {str(kept.resolve())})
    assert storage.sweep_old() == 2
    assert files_under(app_folders) == sorted([kept, fresh])


def test_the_sweep_leaves_the_count_the_next_write_starts_from(app_folders, monkeypatch):
    put(app_folders / "gradio" / "s" / "stale.wav", 3000, age_s=2 * HOUR)
    fresh = put(app_folders / "gradio" / "f" / "upload.wav", 1000, age_s=60)
    assert storage.sweep_old() == 1
    assert storage._used == fresh.stat().st_size  # what is left on disk
    scans = []
    monkeypatch.setattr(storage, "_files", lambda roots: scans.append(roots) or [])
    storage.ensure_room(500)  # within DISK_RESCAN_S of the sweep: no second scan
    assert scans == [] and storage._used == 1500


def test_the_server_starts_without_waiting_for_the_start_up_sweep(app_folders, monkeypatch):
    # Gradio gives up on a server not started within 5 s; thousands of stale files on a cold disk took longer
    stale = put(app_folders / "gradio" / "s" / "left_by_kill_9.wav", 1000, age_s=2 * HOUR)
    release, sweeps = threading.Event(), []
    sweep_old, start_sweep = storage.sweep_old, storage.start_sweep
    monkeypatch.setattr(storage, "sweep_old", lambda: release.wait(30) and sweep_old())
    monkeypatch.setattr(storage, "start_sweep", lambda: sweeps.append(start_sweep()))
    app = types.SimpleNamespace(get_blocks=lambda: types.SimpleNamespace(blocks={}))

    async def start_server() -> bool:
        async with storage.lifespan(app):
            return stale.exists()  # the server is up while the sweep still waits

    assert loops.run(start_server(), timeout=30)
    release.set()
    sweeps[0].join(30)
    assert not stale.exists()


def test_a_failed_request_leaves_none_of_its_result_files(app_folders):
    @common.user_errors
    def handler():
        common.output_file("figure.png", bytes(1000))
        raise AudioLabError("the second step failed")

    with pytest.raises(gr.Error, match="second step failed"):
        handler()
    assert files_under(app_folders) == []
