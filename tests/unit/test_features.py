"""Features engine against torchaudio called directly and librosa with matching settings."""

from __future__ import annotations

import librosa
import numpy as np
import pytest
import scipy.fft
import torch
import torchaudio.functional as F
import torchaudio.transforms as T

from audiolab.core import cache
from audiolab.features import compute as ft
from tests import signals

SR = 16_000


@pytest.fixture(scope="module")
def speech():
    """1 s: a chirp plus a little noise, mono float32 ``(1, time)``."""
    return signals.chirp(150, 3000, SR, 1.0) + signals.white_noise(SR, 1.0, amp=0.01)


@pytest.fixture(scope="module")
def stereo():
    """1 s stereo with very different levels (the quiet channel 40 dB down)."""
    return torch.cat([signals.chirp(150, 3000, SR, 1.0), signals.white_noise(SR, 1.0, amp=0.005, seed=3)])


def close(a, b, *, rtol=1e-4, atol_rel=1e-5):
    """``a`` equals ``b`` within ``rtol`` plus an absolute tolerance relative to ``b``'s peak."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    np.testing.assert_allclose(a, b, rtol=rtol, atol=atol_rel * np.abs(b).max())


# --- torchaudio called directly ------------------------------------------------------------------


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"n_fft": 512, "win_length": 400, "hop_length": 160, "center": False, "power": 1.0, "db": False},
        {"n_fft": 256, "hop_length": 64, "pad_mode": "constant", "normalized": True, "db": False},
    ],
)
def test_spectrogram_equals_torchaudio_spectrogram(speech, device, params):
    result = ft.compute(speech, SR, "spectrogram", params)
    p = result.params
    direct = T.Spectrogram(**ft.spec_kwargs(p))(speech)
    if p["db"]:
        direct = T.AmplitudeToDB("power", top_db=80.0)(direct)
    assert result.device == device
    torch.testing.assert_close(result.tensor, direct, rtol=1e-4, atol=1e-4 * float(direct.abs().max()))


def test_complex_spectrogram_equals_torch_stft(speech):
    result = ft.compute(speech, SR, "spectrogram", {"power": None, "n_fft": 512})
    window = torch.hann_window(512)
    direct = torch.stft(speech, 512, 256, 512, window, center=True, pad_mode="reflect", return_complex=True)
    assert result.tensor.is_complex()
    torch.testing.assert_close(result.tensor, direct, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("feature", ["mel_spectrogram", "mfcc", "lfcc"])
def test_mel_mfcc_and_lfcc_equal_their_transforms(speech, device, feature):
    params = {"n_fft": 512, "hop_length": 128, "mel_scale": "slaney", "mel_norm": "slaney", "f_min": 50.0}
    params = {k: v for k, v in params.items() if k in ft.PARAMS[feature]}
    if feature == "mel_spectrogram":
        params["db"] = False
    result = ft.compute(speech, SR, feature, params)
    name, kwargs = ft.transform_spec(feature, result.params, SR)
    direct = getattr(T, name)(**kwargs)(speech)
    torch.testing.assert_close(result.tensor, direct, rtol=1e-4, atol=1e-4 * float(direct.abs().max()))


def test_spectral_centroid_loudness_and_detect_pitch_equal_torchaudio(speech, device):
    centroid = ft.compute(speech, SR, "spectral_centroid", {"n_fft": 512, "hop_length": 128}).tensor
    direct = T.SpectralCentroid(SR, n_fft=512, win_length=512, hop_length=128)(speech)
    torch.testing.assert_close(centroid, direct, rtol=1e-4, atol=1e-2)
    loud = ft.compute(speech, SR, "loudness").tensor
    torch.testing.assert_close(loud, F.loudness(speech, SR).reshape(1), rtol=1e-5, atol=1e-4)
    pitch = ft.compute(speech, SR, "pitch_detect", {"freq_low": 100, "median_win": 9}).tensor
    direct = F.detect_pitch_frequency(speech, SR, win_length=9, freq_low=100)
    torch.testing.assert_close(pitch, direct, rtol=1e-5, atol=1e-3)


def test_detect_pitch_frequency_finds_a_sine(device):
    pitch = ft.compute(signals.sine(220, SR, 1.0), SR, "pitch_detect").tensor
    assert abs(float(pitch.median()) - 220) < 3


# --- librosa with matching settings ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("center", "pad_mode", "power", "win_length"),
    [(True, "reflect", 2.0, 512), (False, "reflect", 1.0, 400), (True, "constant", 2.0, 256)],
)
def test_spectrogram_matches_librosa_stft(speech, center, pad_mode, power, win_length):
    params = {"n_fft": 512, "win_length": win_length, "hop_length": 128, "center": center, "pad_mode": pad_mode}
    result = ft.compute(speech, SR, "spectrogram", {**params, "power": power, "db": False})
    ref = librosa.stft(speech[0].double().numpy(), n_fft=512, hop_length=128, win_length=win_length,
                       window="hann", center=center, pad_mode=pad_mode)  # fmt: skip
    close(result.tensor[0], np.abs(ref) ** power)


def test_normalized_spectrogram_is_divided_by_the_window_energy(speech):
    plain = ft.compute(speech, SR, "spectrogram", {"n_fft": 512, "db": False}).tensor
    normed = ft.compute(speech, SR, "spectrogram", {"n_fft": 512, "db": False, "normalized": True}).tensor
    energy = float(torch.hann_window(512).square().sum())
    close(normed * energy, plain)


@pytest.mark.parametrize(("mel_scale", "norm"), [("htk", None), ("slaney", "slaney"), ("htk", "slaney")])
def test_mel_spectrogram_matches_librosa(speech, mel_scale, norm):
    params = {"n_fft": 1024, "hop_length": 256, "n_mels": 64, "f_min": 30.0, "f_max": 7000.0, "db": False}
    result = ft.compute(speech, SR, "mel_spectrogram", {**params, "mel_scale": mel_scale, "mel_norm": norm})
    y = speech[0].double().numpy()
    ref = librosa.feature.melspectrogram(
        y=y, sr=SR, n_fft=1024, hop_length=256, n_mels=64, fmin=30.0, fmax=7000.0,
        htk=mel_scale == "htk", norm=norm, center=True, pad_mode="reflect",
    )  # fmt: skip
    close(result.tensor[0], ref, rtol=1e-3, atol_rel=1e-5)


def test_mel_filterbank_matches_librosa_filters_mel():
    fb = ft.compute(signals.sine(), SR, "mel_filterbank", {"n_fft": 512, "n_mels": 40, "mel_scale": "slaney",
                                                             "mel_norm": "slaney"}).tensor  # fmt: skip
    ref = librosa.filters.mel(sr=SR, n_fft=512, n_mels=40, htk=False, norm="slaney")
    assert fb.shape == (257, 40)
    close(fb.T, ref, rtol=1e-4, atol_rel=1e-5)


def test_db_spectrogram_floor_is_per_channel(stereo):
    both = ft.compute(stereo, SR, "mel_spectrogram", {"top_db": 60.0}).tensor
    quiet = ft.compute(stereo[1:], SR, "mel_spectrogram", {"top_db": 60.0}).tensor
    torch.testing.assert_close(both[1:], quiet)
    assert float(both[1].min()) < float(both[0].max()) - 65  # a floor shared by both channels would stop at -60


def test_mfcc_matches_librosa_mfcc_on_db_mels(speech):
    params = {"n_fft": 512, "hop_length": 128, "n_mels": 40, "n_mfcc": 13, "mel_norm": "slaney", "mel_scale": "slaney"}
    mfcc = ft.compute(speech, SR, "mfcc", params).tensor[0]
    y = speech[0].double().numpy()
    mel = librosa.feature.melspectrogram(
        y=y, sr=SR, n_fft=512, hop_length=128, n_mels=40, htk=False, norm="slaney", pad_mode="reflect"
    )
    ref = librosa.feature.mfcc(S=librosa.power_to_db(mel, top_db=80.0), n_mfcc=13, dct_type=2, norm="ortho")
    np.testing.assert_allclose(mfcc.numpy(), ref, rtol=1e-3, atol=2e-2)


def test_lfcc_matches_linear_filterbank_db_and_dct_formula(speech):
    lfcc = ft.compute(speech, SR, "lfcc", {"n_fft": 512, "hop_length": 128, "n_filter": 64, "n_lfcc": 20}).tensor[0]
    power = np.abs(librosa.stft(speech[0].double().numpy(), n_fft=512, hop_length=128, pad_mode="reflect")) ** 2
    freqs = np.linspace(0, SR / 2, 257)
    edges = np.linspace(0, SR / 2, 66)  # n_filter + 2 points, linear in Hz
    lo, mid, hi = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    bank = np.maximum(0, np.minimum((freqs - lo) / (mid - lo), (hi - freqs) / (hi - mid)))  # (64, 257)
    db = 10 * np.log10(np.maximum(bank @ power, 1e-10))
    db = np.maximum(db, db.max() - 80.0)
    ref = scipy.fft.dct(db, type=2, norm="ortho", axis=0)[:20]
    np.testing.assert_allclose(lfcc.numpy(), ref, rtol=1e-3, atol=2e-2)


def test_spectral_centroid_matches_librosa(speech):
    centroid = ft.compute(speech, SR, "spectral_centroid", {"n_fft": 512, "hop_length": 128}).tensor[0]
    ref = librosa.feature.spectral_centroid(y=speech[0].double().numpy(), sr=SR, n_fft=512, hop_length=128,
                                            center=True, pad_mode="reflect")[0]  # fmt: skip
    np.testing.assert_allclose(centroid.numpy(), ref, rtol=1e-3, atol=0.5)


# --- formulas -------------------------------------------------------------------------------------


def test_deltas_match_the_regression_formula_and_librosa(speech):
    params = {"base": "mfcc", "n_fft": 512, "hop_length": 128, "n_mfcc": 13, "n_mels": 40, "delta_win_length": 7}
    out = ft.compute(speech, SR, "deltas", params).tensor[0]  # (2, 13, frames)
    base = ft.compute(speech, SR, "mfcc", {k: v for k, v in params.items() if k in ft.PARAMS["mfcc"]}).tensor[0]
    c = np.pad(base.double().numpy(), ((0, 0), (3, 3)), mode="edge")
    frames = base.shape[-1]
    formula = sum(n * (c[:, 3 + n : 3 + n + frames] - c[:, 3 - n : 3 - n + frames]) for n in (1, 2, 3)) / 28
    np.testing.assert_allclose(out[0].numpy(), formula, rtol=1e-4, atol=1e-3)
    ref = librosa.feature.delta(base.double().numpy(), width=7, order=1, mode="nearest")
    np.testing.assert_allclose(out[0].numpy(), ref, rtol=1e-4, atol=1e-3)
    torch.testing.assert_close(out[1], F.compute_deltas(out[0], win_length=7))


def _cmn_formula(x: np.ndarray, window: int, min_window: int, center: bool, norm_vars: bool) -> np.ndarray:
    """Kaldi's sliding CMN, window by window (``x``: ``(time, feat)``)."""
    frames, out = x.shape[0], np.zeros_like(x)
    for t in range(frames):
        if center:
            start = max(0, t - window // 2)
            end = start + window if t - window // 2 >= 0 else window
        else:
            start, end = max(0, t - window), max(t + 1, min_window)
        if end > frames:
            start, end = max(0, start - (end - frames)), frames
        part = x[start:end]
        out[t] = x[t] - part.mean(0)
        if norm_vars:
            out[t] = 0 if end - start == 1 else out[t] / part.std(0)
    return out


@pytest.mark.parametrize(
    ("window", "min_window", "center", "norm_vars"),
    [
        (600, 100, False, False),
        (50, 10, False, True),
        (31, 5, True, False),
        (40, 1, True, True),
        (500, 400, False, True),
    ],
)
def test_vectorized_cmn_equals_torchaudio_and_the_formula(window, min_window, center, norm_vars):
    x = torch.randn(2, 300, 13, generator=torch.Generator().manual_seed(1), dtype=torch.float64) * 20 + 5
    ours = ft.sliding_window_cmn(x, cmn_window=window, min_cmn_window=min_window, center=center, norm_vars=norm_vars)
    theirs = F.sliding_window_cmn(x, window, min_window, center, norm_vars)
    torch.testing.assert_close(ours, theirs, rtol=1e-9, atol=1e-9)
    formula = _cmn_formula(x[0].numpy(), window, min_window, center, norm_vars)
    np.testing.assert_allclose(ours[0].numpy(), formula, rtol=1e-8, atol=1e-8)
    x32 = x.float()
    ours32 = ft.sliding_window_cmn(
        x32, cmn_window=window, min_cmn_window=min_window, center=center, norm_vars=norm_vars
    )
    torch.testing.assert_close(
        ours32, F.sliding_window_cmn(x32, window, min_window, center, norm_vars), rtol=1e-4, atol=1e-4
    )


def test_cmn_feature_is_mfcc_minus_its_sliding_mean(speech):
    params = {"n_fft": 512, "hop_length": 128, "cmn_window": 20, "min_cmn_window": 5}
    out = ft.compute(speech, SR, "cmn", params).tensor[0]
    base = ft.compute(speech, SR, "mfcc", {"n_fft": 512, "hop_length": 128}).tensor[0]
    formula = _cmn_formula(base.T.double().numpy(), 20, 5, False, False).T
    np.testing.assert_allclose(out.numpy(), formula, rtol=1e-4, atol=1e-3)


def test_loudness_of_a_997_hz_sine_at_minus_20_dbfs_is_minus_23_lkfs():
    """ITU-R BS.1770 calibration: a 0 dBFS 997 Hz sine reads -3.01 LKFS (mono)."""
    result = ft.compute(signals.sine(997, 48_000, 3.0, amp=0.1), 48_000, "loudness")
    assert float(result.tensor[0]) == pytest.approx(-23.01, abs=0.05)
    assert result.extra["integrated_lkfs"] == pytest.approx(-23.01, abs=0.05)


def test_loudness_is_per_channel_and_programme_loudness_is_summed():
    x = torch.cat([signals.sine(997, 48_000, 2.0, amp=0.1), signals.sine(997, 48_000, 2.0, amp=0.05)])
    result = ft.compute(x, 48_000, "loudness")
    assert result.tensor.tolist() == pytest.approx([-23.01, -29.03], abs=0.05)
    energy = 10 ** ((-23.01 + 0.691) / 10) + 10 ** ((-29.03 + 0.691) / 10)
    assert result.extra["integrated_lkfs"] == pytest.approx(-0.691 + 10 * np.log10(energy), abs=0.05)


# --- multichannel, devices, cache ------------------------------------------------------------------

SMALL = {
    "spectrogram": {"n_fft": 256},
    "mel_spectrogram": {"n_fft": 256, "n_mels": 32},
    "mel_filterbank": {"n_fft": 256, "n_mels": 32},
    "mfcc": {"n_fft": 256, "n_mels": 32, "n_mfcc": 13},
    "lfcc": {"n_fft": 256, "n_filter": 32, "n_lfcc": 13},
    "deltas": {"n_fft": 256, "n_mels": 32, "n_mfcc": 13},
    "cmn": {"n_fft": 256, "n_mels": 32, "n_mfcc": 13, "norm_vars": True, "cmn_window": 30, "min_cmn_window": 5},
    "spectral_centroid": {"n_fft": 256},
    "loudness": {},
    "pitch_detect": {"median_win": 5},
    "pitch_nccf": {},
}


@pytest.mark.parametrize("feature", ft.FEATURES)
def test_multichannel_equals_each_channel_alone(stereo, feature):
    both = ft.compute(stereo, SR, feature, SMALL[feature]).tensor
    for c in range(2):
        alone = ft.compute(stereo[c : c + 1], SR, feature, SMALL[feature]).tensor
        expected = alone if feature == "mel_filterbank" else alone[0]
        got = both if feature == "mel_filterbank" else both[c]
        torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-4, equal_nan=True)


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
@pytest.mark.parametrize("feature", ft.FEATURES)
def test_cuda_equals_cpu(stereo, feature):
    cpu = ft.compute(stereo, SR, feature, SMALL[feature])
    previous = cache.default_device()
    cache.set_default_device("cuda")
    try:
        gpu = ft.compute(stereo, SR, feature, SMALL[feature])
    finally:
        cache.set_default_device(previous)
    assert gpu.device == "cuda" and gpu.tensor.device.type == "cpu"
    scale = float(cpu.tensor.abs().nan_to_num(0).max()) if not cpu.tensor.is_complex() else 1.0
    if feature == "pitch_nccf":  # voicing may flip on frames right at the threshold
        torch.testing.assert_close(gpu.tensor[..., 0], cpu.tensor[..., 0], rtol=1e-4, atol=1e-4)
        both = ~gpu.tensor[..., 1].isnan() & ~cpu.tensor[..., 1].isnan()
        torch.testing.assert_close(gpu.tensor[..., 1][both], cpu.tensor[..., 1][both], rtol=1e-4, atol=1e-2)
        return
    torch.testing.assert_close(gpu.tensor, cpu.tensor, rtol=1e-4, atol=1e-4 * max(scale, 1.0), equal_nan=True)


def test_transforms_are_built_once_per_parameter_set(speech):
    cache.CACHE.clear()
    ft.compute(speech, SR, "mfcc", {"n_mfcc": 20})
    builds = cache.CACHE.builds
    for _ in range(3):
        ft.compute(speech, SR, "mfcc", {"n_mfcc": 20})
    assert cache.CACHE.builds == builds
    ft.compute(speech, SR, "mfcc", {"n_mfcc": 21})
    assert cache.CACHE.builds == builds + 1


def test_resampling_before_the_feature_equals_torchaudio_resample(speech):
    result = ft.compute(speech, SR, "mfcc", {"sample_rate": 8000, "n_fft": 256, "n_mels": 40})
    resampled = T.Resample(SR, 8000)(speech).clamp(-1, 1)
    direct = T.MFCC(8000, melkwargs={"n_fft": 256, "n_mels": 40, "hop_length": 128})(resampled)
    assert result.sample_rate == 8000 and any("Resampled" in n for n in result.notes)
    torch.testing.assert_close(result.tensor, direct, rtol=1e-4, atol=1e-3)


@pytest.mark.parametrize("channels", [1, 2, 5])
def test_one_pass_loudness_equals_torchaudio_loudness_per_channel_and_programme(channels):
    x = signals.white_noise(48_000, 2.0, amp=0.2, channels=channels) * torch.linspace(0.05, 1, channels)[:, None]
    x[:, :48_000] *= 0.001  # a quiet first second: the gates matter
    result = ft.compute(x, 48_000, "loudness")
    torch.testing.assert_close(result.tensor, F.loudness(x.unsqueeze(1), 48_000), rtol=0, atol=1e-5)
    assert result.extra["integrated_lkfs"] == pytest.approx(float(F.loudness(x, 48_000)), abs=1e-5)


@pytest.mark.parametrize(("rate", "channels", "chunk"), [(16_000, 1, 5_000), (44_100, 2, 50_000), (8_000, 3, 10**9)])
def test_chunked_detect_pitch_frequency_equals_torchaudio(rate, channels, chunk):
    x = (
        signals.white_noise(rate, 2.3, channels=channels)
        + signals.sine(180, rate, 2.3, channels=channels)[:, : int(rate * 2.3)]
    )
    kw = {"frame_time": 0.01, "win_length": 15, "freq_low": 85, "freq_high": 3400}
    ours = ft.detect_pitch_frequency(x, rate, **kw, chunk_values=chunk)
    torch.testing.assert_close(ours, F.detect_pitch_frequency(x, rate, **kw), rtol=0, atol=0)
