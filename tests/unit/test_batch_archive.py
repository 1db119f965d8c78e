"""The Batch tab's zip handling (audiolab.batch.archive): bounded, contained extraction."""

from __future__ import annotations

import zipfile

import pytest

from audiolab.batch import archive
from audiolab.core import limits
from audiolab.core.errors import AudioLabError
from tests import signals


def test_entries_land_inside_the_folder_and_only_audio_is_extracted(tmp_path):
    clip = signals.write(tmp_path / "c.wav", signals.sine(), 16_000).read_bytes()
    with zipfile.ZipFile(tmp_path / "in.zip", "w") as z:
        z.writestr("../../evil.wav", clip)
        z.writestr("/abs/x.wav", clip)
        z.writestr("dir/ok.flac", b"not really flac")
        z.writestr("readme.txt", "hello")
        z.writestr("__MACOSX/dir/._ok.flac", b"junk")
    found = archive.extract_audio(tmp_path / "in.zip", tmp_path / "out")
    assert [rel for _, rel in found] == ["evil.wav", "abs/x.wav", "dir/ok.flac"]
    assert all(p.startswith(str(tmp_path / "out")) for p, _ in found)
    assert (tmp_path / "out" / "evil.wav").read_bytes() == clip and not (tmp_path / "evil.wav").exists()


def test_an_oversized_entry_is_cut_one_byte_past_the_limit_and_too_many_files_are_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(limits, "MAX_FILE_BYTES", 1000)
    with zipfile.ZipFile(tmp_path / "big.zip", "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("big.wav", b"\0" * 1_000_000)  # 1 MB of zeros: a few kB compressed
    ((_, rel),) = archive.extract_audio(tmp_path / "big.zip", tmp_path / "o")
    assert (tmp_path / "o" / rel).stat().st_size == 1001
    monkeypatch.setattr(limits, "BATCH_MAX_FILES", 3)
    with zipfile.ZipFile(tmp_path / "many.zip", "w") as z:
        for i in range(4):
            z.writestr(f"{i}.wav", b"x")
    with pytest.raises(AudioLabError, match="4 audio files") as err:
        archive.extract_audio(tmp_path / "many.zip", tmp_path / "m")
    assert err.value.zh
    (tmp_path / "bad.zip").write_bytes(b"PK not a zip")
    with pytest.raises(AudioLabError, match="not a readable zip"):
        archive.extract_audio(tmp_path / "bad.zip", tmp_path / "b")


def test_a_zip_bomb_stops_at_the_total_budget(tmp_path, monkeypatch):
    monkeypatch.setattr(limits, "BATCH_MAX_TOTAL_BYTES", 5000)
    with zipfile.ZipFile(tmp_path / "bomb.zip", "w", compression=zipfile.ZIP_DEFLATED) as z:
        for i in range(10):
            z.writestr(f"{i}.wav", b"\0" * 100_000)
    with pytest.raises(AudioLabError, match="more than"):
        archive.extract_audio(tmp_path / "bomb.zip", tmp_path / "o")
    assert sum(p.stat().st_size for p in (tmp_path / "o").rglob("*")) <= 5000
