"""Our example clips exist, match their manifest and are what the manifest says they are."""

from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile as sf

from tests.signals import EXAMPLES

MANIFEST = json.loads((EXAMPLES / "manifest.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("entry", MANIFEST, ids=lambda e: e["file"])
def test_each_example_matches_its_manifest_entry(entry):
    info = sf.info(str(EXAMPLES / entry["file"]))
    assert (info.samplerate, info.channels, info.frames) == (
        entry["sample_rate"], entry["num_channels"], entry["num_frames"],
    )  # fmt: skip
    x, _ = sf.read(str(EXAMPLES / entry["file"]), dtype="float32")
    assert 0.05 < np.abs(x).max() <= 0.99
    assert entry["description_en"] and entry["description_zh"]


def test_the_examples_cover_speech_in_two_languages_music_a_chirp_8k_and_48k():
    files = {e["file"]: e for e in MANIFEST}
    assert {"speech_en.wav", "speech_zh.wav", "music_stereo.flac", "chirp.wav"} <= set(files)
    assert {e["sample_rate"] for e in MANIFEST} >= {8_000, 48_000}
    assert files["music_stereo.flac"]["num_channels"] == 2
    assert sum((EXAMPLES / e["file"]).stat().st_size for e in MANIFEST) < 2 * 2**20


def test_the_chirp_sweeps_upward_from_50_hz_to_8_khz():
    x, rate = sf.read(str(EXAMPLES / "chirp.wav"), dtype="float32")
    starts = [int(s * rate) for s in (0.1, 1.5, 2.8)]
    peaks = [np.fft.rfft(x[s : s + 2048] * np.hanning(2048)).__abs__().argmax() * rate / 2048 for s in starts]
    assert peaks[0] < 100 < peaks[1] < 1000 < peaks[2] < 8000


def test_the_48k_clip_holds_its_two_tones():
    x, rate = sf.read(str(EXAMPLES / "tones_48k.flac"), dtype="float32")
    spectrum = np.abs(np.fft.rfft(x[:48_000]))
    top2 = sorted(np.argsort(spectrum)[-2:] * rate / 48_000)
    assert top2 == pytest.approx([1000, 5000], abs=1)


def test_the_speech_clips_are_voiced_in_places_and_silent_in_others():
    for name in ("speech_en.wav", "speech_zh.wav"):
        x, rate = sf.read(str(EXAMPLES / name), dtype="float32")
        frames = x[: len(x) // 400 * 400].reshape(-1, 400)
        rms = np.sqrt((frames**2).mean(axis=1))
        assert (rms > 0.05).mean() > 0.3 and (rms < 0.01).mean() > 0.02, name
