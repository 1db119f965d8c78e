"""Issue #19 engine fixes: notes that say what happened, and numbers the metadata was missing."""

from __future__ import annotations

import numpy as np
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


@pytest.mark.parametrize("sample_rate", [8_000, 16_000, 22_050, 44_100, 48_000])
def test_default_mel_settings_leave_no_mel_filter_empty(sample_rate):
    import torchaudio.functional as F

    from audiolab.features import compute as ft

    d = ft.DEFAULTS
    fb = F.melscale_fbanks(int(d["n_fft"]) // 2 + 1, 0.0, sample_rate / 2, int(d["n_mels"]), sample_rate,
                           None, str(d["mel_scale"]))  # fmt: skip
    assert int((fb.max(dim=0).values == 0).sum()) == 0
    result = ft.compute(signals.sine(440, sample_rate, 0.5), sample_rate, "mel_spectrogram", {})
    assert not any("empty" in n for n in result.notes)


def test_augment_before_and_after_share_time_axis_and_colour_scale(monkeypatch):
    from audiolab.core import plots

    drawn = []
    monkeypatch.setattr(plots, "heatmap_image", lambda maps, **kw: drawn.append((maps, kw)) or np.zeros((1, 1, 3)))
    short, long = signals.sine(440, 16_000, 1.0, amp=0.1), signals.chirp(100, 4000, 16_000, 2.0, amp=0.9)
    plots.spectrogram_pair([(short, 16_000), (long, 16_000)], ["Before", "After"])
    (a, ka), (b, kb) = drawn
    views = [plots._spectrogram_view(x, 16_000)[0] for x in (short, long)]
    assert ka["extent"] == kb["extent"] == (0.0, 2.0, 0.0, 8000.0)
    assert ka["vmin"] == kb["vmin"] == pytest.approx(min(v.min() for v in views))
    assert ka["vmax"] == kb["vmax"] == pytest.approx(max(v.max() for v in views))
    assert abs(a.shape[-1] - b.shape[-1]) <= 1  # the short clip padded to the long one's columns (one frame per hop)
    np.testing.assert_array_equal(a[..., : views[0].shape[-1]], views[0])
    assert (a[..., views[0].shape[-1] :] == ka["vmin"]).all()
