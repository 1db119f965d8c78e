"""Issue #19 engine fixes: notes that say what happened, and numbers the metadata was missing."""

from __future__ import annotations

import pytest

from audiolab.core import io as aio
from audiolab.core import limits
from tests import signals


def test_a_clip_exactly_at_the_limit_says_nothing_was_cut(tmp_path):
    path = signals.write(tmp_path / "exact.wav", signals.sine(sample_rate=8_000, seconds=2.0), 8_000)
    decoded = aio.decode(path, max_seconds=2.0)
    assert decoded.waveform.shape[-1] == 16_000
    assert not any("Only the first" in n for n in decoded.notes)


def test_a_clip_one_sample_over_the_limit_is_cut_and_says_so(tmp_path):
    x = signals.sine(sample_rate=8_000, seconds=2.0)
    path = signals.write(tmp_path / "over.wav", signals.sine(sample_rate=8_000, seconds=2.0 + 1 / 8_000), 8_000)
    decoded = aio.decode(path, max_seconds=2.0)
    assert decoded.waveform.shape[-1] == x.shape[-1]
    assert any(n.startswith("Only the first 2 s were loaded") for n in decoded.notes)


def test_a_griffinlim_clip_of_exactly_60_s_is_not_called_cut(tmp_path):
    seconds = limits.GL_MAX_DURATION_S
    path = signals.write(tmp_path / "gl.wav", signals.sine(sample_rate=1_000, seconds=seconds), 1_000)
    decoded = aio.decode(path, max_seconds=seconds)
    assert decoded.waveform.shape[-1] == int(seconds * 1_000) and decoded.notes == []


def test_flac_bit_rate_is_file_size_over_duration(tmp_path):
    path = signals.write(tmp_path / "a.flac", signals.white_noise(seconds=2.0), 16_000, fmt="FLAC")
    meta = aio.info(path)
    assert meta.duration_s == pytest.approx(2.0)
    assert meta.bit_rate == round(path.stat().st_size * 8 / 2.0)
    assert 0 < meta.bit_rate < 16 * 16_000  # compressed below the PCM rate


def test_wav_bit_rate_stays_the_pcm_rate(tmp_path):
    path = signals.write(tmp_path / "a.wav", signals.sine(seconds=1.0), 16_000)
    assert aio.info(path).bit_rate == 16 * 16_000
