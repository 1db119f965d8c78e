"""NCCF pitch tracker against known f0 and librosa.pyin; detect_pitch_frequency against torchaudio."""

from __future__ import annotations

import math

import librosa
import numpy as np
import pytest
import scipy.signal
import torch
import torchaudio.functional as F

from audiolab.features import compute as ft
from tests import signals

SR = 16_000


def harmonic(f0, sample_rate: int = SR, seconds: float = 1.0, amp: float = 0.5) -> tuple[torch.Tensor, np.ndarray]:
    """A tone with harmonics decaying as 1/k**1.5 and f0 (Hz, number or array per sample); ``((1, time), f0)``."""
    n = int(sample_rate * seconds)
    f0 = np.broadcast_to(np.asarray(f0, dtype=np.float64), (n,))
    phase = 2 * np.pi * np.cumsum(f0) / sample_rate
    x = sum(np.sin(k * phase) / k**1.5 for k in range(1, int(sample_rate / 2 / f0.max())))
    return torch.from_numpy(amp * x / np.abs(x).max()).float()[None], f0


def speechlike(sample_rate: int = SR, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Silence, a vowel gliding 110->160 Hz, a fricative (high-passed noise), a vowel 200->140 Hz, silence.

    Vowels are harmonic sources through three formant resonators, with 5 Hz vibrato.
    Returns the signal and the true f0 per sample (NaN where unvoiced).
    """
    rng = np.random.default_rng(seed)

    def vowel(seconds, f_start, f_end, formants):
        t = np.arange(int(seconds * sample_rate)) / sample_rate
        f0 = np.linspace(f_start, f_end, t.size) * (1 + 0.01 * np.sin(2 * np.pi * 5 * t))
        y = harmonic(f0, sample_rate, seconds)[0][0].double().numpy()
        for fc, bw in formants:
            r, theta = math.exp(-math.pi * bw / sample_rate), 2 * math.pi * fc / sample_rate
            y = scipy.signal.lfilter([1 - r], [1, -2 * r * math.cos(theta), r * r], y)
        y *= np.minimum(1, np.minimum(t / 0.03, (seconds - t) / 0.03))
        return 0.5 * y / np.abs(y).max(), f0

    v1, f1 = vowel(0.6, 110, 160, [(700, 80), (1220, 90), (2600, 120)])
    v2, f2 = vowel(0.5, 200, 140, [(300, 60), (2300, 100), (3000, 120)])
    fricative = scipy.signal.lfilter(*scipy.signal.butter(4, 3000 / (sample_rate / 2), "high"),
                                     0.1 * rng.standard_normal(int(0.25 * sample_rate)))  # fmt: skip
    silence = np.zeros(int(0.2 * sample_rate))
    y = np.concatenate([silence, v1, fricative, v2, silence])
    y += 1e-3 * rng.standard_normal(y.size)
    nan = np.full
    truth = np.concatenate([nan(silence.size, np.nan), f1, nan(fricative.size, np.nan), f2, nan(silence.size, np.nan)])
    return y.astype(np.float32), truth


@pytest.mark.parametrize(("f0", "rate"), [(60, SR), (110, SR), (220, SR), (380, SR), (150, 44_100)])
def test_nccf_pitch_finds_the_known_f0_of_harmonic_tones(f0, rate, device):
    x, _ = harmonic(f0, rate, 1.0)
    out = ft.compute(x, rate, "pitch_nccf").tensor[0, 3:-3]  # edges half-filled by padding
    assert bool((~out[:, 1].isnan()).all()), "every frame of a steady tone is voiced"
    assert float(out[:, 0].min()) > 0.95
    error = (out[:, 1] - f0).abs()
    assert float(error.max()) < 0.2, f"max error {float(error.max()):.3f} Hz"


def test_nccf_pitch_marks_noise_and_silence_unvoiced():
    tone, _ = harmonic(150, SR, 0.5)
    noise = torch.from_numpy(np.random.default_rng(0).standard_normal(SR // 2) * 0.1).float()[None]
    x = torch.cat([tone, noise, torch.zeros(1, SR // 2), tone], dim=1)
    out = ft.nccf_pitch(x, SR)[0]  # frame i at i * 10 ms
    f0 = out[:, 1]
    assert bool(f0[60:90].isnan().all()), "white noise is unvoiced"
    assert bool(f0[110:140].isnan().all()), "silence is unvoiced"
    voiced = torch.cat([f0[5:45], f0[160:195]])
    assert float((voiced - 150).abs().max()) < 0.2
    assert float(out[60:90, 0].max()) < 0.5, "the NCCF of noise stays low"


def test_nccf_pitch_tracks_a_glide_within_one_hz():
    x, f0 = harmonic(np.linspace(100, 300, SR), SR, 1.0)
    out = ft.nccf_pitch(x, SR)[0, 3:-3, 1].numpy()
    truth = f0[np.arange(3, 98) * 160]
    assert np.abs(out - truth).max() < 1.0


def test_nccf_pitch_agrees_with_librosa_pyin_on_speechlike_audio():
    y, truth = speechlike()
    ours = ft.nccf_pitch(torch.from_numpy(y)[None], SR)[0, :, 1].numpy()
    pyin, _, _ = librosa.pyin(y, fmin=50, fmax=400, sr=SR, frame_length=1024, hop_length=160, center=True)
    n = min(ours.size, pyin.size)
    ours, pyin = ours[:n], pyin[:n]
    true_f0 = truth[np.minimum(np.arange(n) * 160, truth.size - 1)]
    both = ~np.isnan(ours) & ~np.isnan(pyin)
    assert np.mean(np.isnan(ours) == np.isnan(pyin)) > 0.9, "voicing decisions agree on >90% of frames"
    assert np.median(np.abs(ours - pyin)[both]) < 1.5
    assert np.percentile(np.abs(ours - pyin)[both], 95) < 3.0
    voiced = ~np.isnan(true_f0) & ~np.isnan(ours)
    assert np.median(np.abs(ours - true_f0)[voiced]) < 1.5
    assert np.mean(~np.isnan(ours[np.isnan(true_f0)])) < 0.1, "few unvoiced frames are called voiced"


def test_nccf_pitch_layout_is_like_compute_kaldi_pitch():
    x = torch.randn(2, 3, 8000) * 0.1
    out = ft.nccf_pitch(x, SR, frame_shift_ms=5.0)
    assert out.shape == (2, 3, 1 + 8000 // 80, 2)  # (..., frame, [nccf, f0])


def test_nccf_pitch_in_chunks_equals_one_pass():
    x, _ = harmonic(np.linspace(90, 250, SR), SR, 1.0)
    one = ft.nccf_pitch(x, SR, chunk_values=10**9)
    chunked = ft.nccf_pitch(x, SR, chunk_values=20_000)
    torch.testing.assert_close(chunked, one, equal_nan=True)


@pytest.mark.parametrize("name", ["speech_en.wav", "speech_zh.wav"])
def test_nccf_pitch_agrees_with_librosa_pyin_on_our_speech_examples(name):
    """Measured here: median |ours - pyin| 0.47 Hz (en) / 0.33 Hz (zh), p95 2.5 / 2.1 Hz,
    voicing agreement 91% / 93%, octave errors 2.1% / 1.4% of jointly voiced frames."""
    import soundfile as sf

    from tests.signals import EXAMPLES

    y, sr = sf.read(str(EXAMPLES / name), dtype="float32")
    ours = ft.nccf_pitch(torch.from_numpy(y)[None], sr)[0, :, 1].numpy()
    pyin, _, _ = librosa.pyin(y, fmin=50, fmax=400, sr=sr, frame_length=1024, hop_length=160, center=True)
    n = min(ours.size, pyin.size)
    ours, pyin = ours[:n], pyin[:n]
    both = ~np.isnan(ours) & ~np.isnan(pyin)
    diff = np.abs(ours - pyin)[both]
    assert np.mean(np.isnan(ours) == np.isnan(pyin)) > 0.85
    assert both.mean() > 0.4
    assert np.median(diff) < 1.0 and np.percentile(diff, 95) < 4.0
    assert np.mean(diff > 0.3 * pyin[both]) < 0.05  # octave/halving errors are rare


# --- detect_pitch_frequency (ours, by FFT) against torchaudio's -----------------------------------

RATES = [8_000, 16_000, 44_100, 48_000]
DEFAULT_PITCH = {"frame_time": 0.01, "freq_low": 85, "freq_high": 3400}


def example_speech(name: str, rate: int) -> torch.Tensor:
    """An example clip (16 kHz), resampled to ``rate``: ``(1, time)``."""
    import soundfile as sf

    from tests.signals import EXAMPLES

    y, sr = sf.read(str(EXAMPLES / name), dtype="float32")
    return F.resample(torch.from_numpy(y)[None], sr, rate)


def pitch_signal(kind: str, rate: int) -> torch.Tensor:
    """``(channel, time)`` test audio at ``rate``; lengths not a whole number of frames."""
    if kind == "speechlike":
        return torch.from_numpy(speechlike(rate)[0])[None]
    if kind in ("speech_en.wav", "speech_zh.wav"):
        return example_speech(kind, rate)
    if kind == "tones":  # a steady tone and a glide, as two channels; silence at the end
        steady, _ = harmonic(110.0, rate, 1.3)
        glide, _ = harmonic(np.linspace(180, 420, int(rate * 1.3)), rate, 1.3)
        return torch.nn.functional.pad(torch.cat([steady, glide]), (0, rate // 7))
    assert kind == "noise"
    return signals.white_noise(rate, 1.37, amp=0.3, channels=2, seed=1)


def torchaudio_nccf_and_lags(x: torch.Tensor, rate: int, frame_time: float, freq_low: int, freq_high: int):
    """torchaudio's own NCCF ``(..., frame, lag - 1)`` and per-frame lags (its private steps)."""
    from torchaudio.functional.functional import _compute_nccf, _find_max_per_frame

    nccf = _compute_nccf(x, rate, frame_time, freq_low)
    return nccf, _find_max_per_frame(nccf, rate, freq_high)


def assert_lags_equal_but_float_ties(x: torch.Tensor, rate: int, *, tol: float = 1e-5, **kw) -> float:
    """Our per-frame lags equal torchaudio's except where its own NCCF values tie within ``tol``
    (relative): the two lags' values, or the first half's best and 0.99 x the best. Returns the
    fraction of frames that differ."""
    ours = ft.pitch_lags(x, rate, **kw, chunk_values=200_000)
    nccf, theirs = torchaudio_nccf_and_lags(x, rate, **kw)
    assert ours.shape == theirs.shape and ours.dtype == theirs.dtype
    lag_min, half_size = math.ceil(rate / kw["freq_high"]), nccf.shape[-1] // 2
    for index in (ours != theirs).nonzero().tolist():
        values = nccf[tuple(index)]
        a, b = float(values[ours[tuple(index)] - 1]), float(values[theirs[tuple(index)] - 1])
        best, half = float(values[lag_min:].max()), float(values[lag_min:half_size].max())
        lag_tie = abs(a - b) <= tol * max(abs(a), abs(b))
        threshold_tie = abs(half - 0.99 * best) <= tol * abs(best)
        lags = f"lag {int(ours[tuple(index)])} ({a}) vs torchaudio's {int(theirs[tuple(index)])} ({b})"
        assert lag_tie or threshold_tie, f"frame {index}: {lags}; best {best}, first half {half}"
    return float((ours != theirs).float().mean())


@pytest.mark.parametrize("rate", RATES)
@pytest.mark.parametrize("kind", ["speechlike", "speech_en.wav", "speech_zh.wav", "tones", "noise"])
def test_detect_pitch_frequency_equals_torchaudio(kind, rate):
    x = pitch_signal(kind, rate)
    differ = assert_lags_equal_but_float_ties(x, rate, **DEFAULT_PITCH)
    assert differ < 0.005
    ours = ft.detect_pitch_frequency(x, rate, **DEFAULT_PITCH, win_length=30, chunk_values=200_000)
    theirs = F.detect_pitch_frequency(x, rate, win_length=30, **DEFAULT_PITCH)
    assert ours.shape == theirs.shape and ours.dtype == theirs.dtype
    if differ == 0:
        torch.testing.assert_close(ours, theirs, rtol=0, atol=0)
    median_ours, median_theirs = ours.median(-1).values, theirs.median(-1).values
    torch.testing.assert_close(median_ours, median_theirs, rtol=1e-3, atol=0)
    differ = ft.pitch_lags(x, rate, **DEFAULT_PITCH, chunk_values=200_000) != torchaudio_nccf_and_lags(
        x, rate, **DEFAULT_PITCH)[1]  # fmt: skip
    pad = torch.cat([differ[..., :1].expand(*differ.shape[:-1], 14), differ], -1)  # as the median's window
    near = pad.unfold(-1, 30, 1).any(-1)  # outputs whose median window holds a lag that differs
    assert not bool((ours != theirs)[~near].any()), "outputs differ only where a tie is in the median window"


@pytest.mark.parametrize(
    ("rate", "params", "win_length"),
    [
        (8_000, {"frame_time": 0.005, "freq_low": 40, "freq_high": 1000}, 3),
        (16_000, {"frame_time": 0.0237, "freq_low": 60, "freq_high": 2000}, 8),  # even window: the lower median
        (44_100, {"frame_time": 0.02, "freq_low": 120, "freq_high": 5000}, 101),
        (48_000, {"frame_time": 0.1, "freq_low": 2000, "freq_high": 24_000}, 4),
    ],
)
def test_detect_pitch_frequency_equals_torchaudio_with_other_params(rate, params, win_length):
    n = int(rate * 1.3)
    x = torch.cat([pitch_signal("speechlike", rate)[:, :n], pitch_signal("noise", rate)[:1, :n]])
    assert_lags_equal_but_float_ties(x, rate, **params)
    ours = ft.detect_pitch_frequency(x, rate, **params, win_length=win_length, chunk_values=50_000)
    theirs = F.detect_pitch_frequency(x, rate, win_length=win_length, **params)
    assert ours.shape == theirs.shape
    torch.testing.assert_close(ours.median(-1).values, theirs.median(-1).values, rtol=1e-3, atol=0)


@pytest.mark.parametrize("rate", RATES)
def test_detect_pitch_frequency_on_exact_periods_differs_only_at_ties(rate):
    """A sine of exactly 20 samples a period: lags 20, 40, 60, ... tie in theory, and torchaudio's
    float32 sums pick among them by their rounding."""
    x = signals.sine(rate / 20, rate, 1.3, amp=0.4)
    assert assert_lags_equal_but_float_ties(x, rate, **DEFAULT_PITCH) < 0.02
    ours = ft.detect_pitch_frequency(x, rate, **DEFAULT_PITCH, win_length=30, chunk_values=200_000)
    theirs = F.detect_pitch_frequency(x, rate, win_length=30, **DEFAULT_PITCH)
    torch.testing.assert_close(ours.median(-1).values, theirs.median(-1).values, rtol=1e-3, atol=0)


def test_detect_pitch_frequency_keeps_torchaudio_edges_and_layout():
    """Silence (every NCCF 0: the first lag from freq_high), a signal ending mid-frame (the
    lagged frames reach torchaudio's zero padding), a resampling-like residue before digital
    zeros (torchaudio divides by its tiny energy), a leading batch dimension and a 1-D input."""
    rate = 16_000
    tone, _ = harmonic(150.0, rate, 0.5)
    residue = torch.zeros(1, 1_001)
    residue[0, :3] = torch.tensor([4e-11, -2e-11, 1e-12])
    x = torch.cat([torch.zeros(1, 3_333), tone, residue, tone[:, :2_345], residue[:, :500]], 1)
    x = torch.stack([x, torch.zeros_like(x)])  # (2, 1, time)
    kw = {**DEFAULT_PITCH, "win_length": 7}
    assert_lags_equal_but_float_ties(x[0], rate, **DEFAULT_PITCH, tol=0)
    ours = ft.detect_pitch_frequency(x, rate, **kw, chunk_values=30_000)
    theirs = F.detect_pitch_frequency(x, rate, **kw)
    torch.testing.assert_close(ours, theirs, rtol=0, atol=0)
    torch.testing.assert_close(ft.detect_pitch_frequency(x[0, 0], rate, **kw, chunk_values=10**9), theirs[0, 0])
    assert bool((ours[1] == rate / (math.ceil(rate / 3400) + 1)).all()), "silence: the first lag tested"


@pytest.mark.parametrize(("kind", "rate"), [("speech_en.wav", 8_000), ("speech_zh.wav", 48_000), ("residue", 16_000)])
def test_nccf_values_equal_torchaudio_next_to_silence(kind, rate):
    """Every lag's NCCF within float32 error of torchaudio's, also where a lagged frame holds
    only a residue ~1e-11 before digital zeros (the examples, resampled; and a made one):
    torchaudio divides by that frame's energy (~1e-22), which a running sum of the squares
    from the loud frame before it would round to 0."""
    if kind == "residue":
        tone, _ = harmonic(150.0, rate, 0.3)
        tail = torch.zeros(1, 2_000)
        tail[0, [0, 7, 300]] = torch.tensor([3e-11, -1e-13, 2e-12])
        x = torch.cat([tone, tail, tone], 1)
    else:
        x = example_speech(kind, rate)
    lags, size, lag_min = math.ceil(rate / 85), math.ceil(rate * 0.01), math.ceil(rate / 3400)
    frames, reach = math.ceil(x.shape[-1] / size), math.ceil(lags / size)
    padded = torch.nn.functional.pad(x, (0, (frames + reach) * size - x.shape[-1]))
    ours = ft._nccf(padded, frames, size, lag_min, lags)
    theirs = torchaudio_nccf_and_lags(x, rate, 0.01, 85, 3400)[0][..., lag_min:]
    scale = theirs.abs().amax(-1, keepdim=True)
    assert bool(((ours - theirs).abs() <= 1e-5 * scale).all())
    quiet = theirs.abs() > 1e6 * (x.abs().max() ** -4)  # values only a near-silent lagged frame gives
    assert bool(quiet.any())
    torch.testing.assert_close(ours[quiet], theirs[quiet], rtol=1e-5, atol=0)


def test_pitch_lags_do_not_depend_on_the_block_size():
    x = pitch_signal("tones", 44_100)
    one = ft.pitch_lags(x, 44_100, **DEFAULT_PITCH, chunk_values=10**9)
    for chunk in (1, 30_000, 700_001):
        torch.testing.assert_close(ft.pitch_lags(x, 44_100, **DEFAULT_PITCH, chunk_values=chunk), one, rtol=0, atol=0)
