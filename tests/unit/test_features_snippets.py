"""The Code panel's torchaudio code, executed on a real file, gives the tab's tensor."""

from __future__ import annotations

import pytest
import torch

from audiolab.core import io as aio
from audiolab.core import limits
from audiolab.features import compute as ft
from audiolab.features import snippets as features_snippets
from tests import signals

SR = 16_000

CASES = [
    ("spectrogram", {}),
    ("spectrogram", {"power": None, "n_fft": 512}),
    ("spectrogram", {"power": 1.0, "center": False, "win_length": 400, "hop_length": 160}),
    ("spectrogram", {"power": 0.5, "top_db": None, "normalized": True, "pad_mode": "constant"}),
    ("mel_spectrogram", {"mel_scale": "slaney", "mel_norm": "slaney", "f_min": 40.0, "f_max": 6000.0}),
    ("mel_spectrogram", {"db": False, "sample_rate": 22_050}),
    ("mel_filterbank", {"n_fft": 512, "n_mels": 40}),
    ("mfcc", {"n_mfcc": 20, "n_mels": 64, "log_mels": True, "dct_norm": None}),
    ("lfcc", {"n_lfcc": 20, "n_filter": 64, "log_lf": True}),
    ("deltas", {"base": "mfcc", "delta_order": 1}),
    ("deltas", {"base": "mel_spectrogram", "delta_win_length": 9, "delta_mode": "reflect"}),
    ("cmn", {"cmn_window": 20, "min_cmn_window": 5, "cmn_center": True, "norm_vars": True}),
    ("cmn", {"base": "lfcc"}),
    ("spectral_centroid", {"n_fft": 512, "hop_length": 128}),
    ("loudness", {}),
    ("pitch_detect", {"freq_low": 100, "median_win": 7}),
    ("pitch_nccf", {"min_f0": 80.0, "voicing_threshold": 0.5}),
]


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    """A stereo 16-bit WAV (a chirp left, a quieter sine in noise right) and what the tab decodes from it."""
    right = signals.sine(220, SR, 1.5, amp=0.1) + signals.white_noise(SR, 1.5, amp=0.02)
    x = torch.cat([signals.chirp(120, 3000, SR, 1.5), right])
    path = signals.write(tmp_path_factory.mktemp("feat") / "clip.wav", x, SR)
    return path, aio.decode(path)


def run_snippet(code: str) -> torch.Tensor:
    namespace: dict = {}
    exec(compile(code, "<snippet>", "exec"), namespace)
    return namespace["feature"]


@pytest.mark.parametrize(("feature", "params"), CASES)
def test_snippet_gives_the_same_tensor_as_the_tab(clip, feature, params):
    path, decoded = clip
    result = ft.compute(decoded.waveform, decoded.sample_rate, feature, params)
    got = run_snippet(features_snippets.feature_snippet(result, str(path)))
    assert got.shape == result.tensor.shape and got.dtype == result.tensor.dtype
    if feature == "cmn" and params.get("norm_vars"):
        # torchaudio's float32 running variance (E[x^2] - E[x]^2 with MFCC c0 near -370) loses
        # ~1e-3 to cancellation; the tab's float64 sums equal torchaudio run in float64 (test_features)
        torch.testing.assert_close(got, result.tensor, rtol=5e-3, atol=5e-3)
    elif feature == "cmn":  # the tab's vectorised CMN against torchaudio's loop
        torch.testing.assert_close(got, result.tensor, rtol=1e-4, atol=1e-4)
    else:
        torch.testing.assert_close(got, result.tensor, rtol=0, atol=0, equal_nan=True)


def test_snippet_of_a_cut_clip_loads_only_the_analysed_frames(clip, monkeypatch):
    path, decoded = clip
    monkeypatch.setattr(limits, "FEAT_MAX_DURATION_S", 0.75)
    result = ft.compute(decoded.waveform, decoded.sample_rate, "mfcc", {"sample_rate": 8000})
    code = features_snippets.feature_snippet(result, str(path))
    assert "num_frames=12000" in code and "T.Resample(16000, 8000)" in code
    torch.testing.assert_close(run_snippet(code), result.tensor, rtol=0, atol=0)
