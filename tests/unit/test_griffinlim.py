"""Griffin-Lim engine against torchaudio called directly, and the metrics against their formulas."""

from __future__ import annotations

import json
import math
import time

import numpy as np
import pytest
import torch
import torchaudio.transforms as T
from scipy.signal import lfilter

from audiolab.core import cache, limits
from audiolab.core.deadline import Deadline
from audiolab.core.errors import AudioLabError
from audiolab.griffinlim import compute as R
from tests import signals

SR = 16_000
STFT = {"n_fft": 512, "win_length": 512, "hop_length": 128}


def speech_like(seconds: float = 1.5, sample_rate: int = SR) -> torch.Tensor:
    """Our speech example if ``examples/`` has one, else a voiced 'a-i-u' with a gliding pitch."""
    manifest = signals.EXAMPLES / "manifest.json"
    if manifest.is_file():
        for entry in json.loads(manifest.read_text(encoding="utf-8")):
            if "speech" in json.dumps(entry).lower() and (signals.EXAMPLES / entry["file"]).is_file():
                from audiolab.core import io as aio

                d = aio.decode(signals.EXAMPLES / entry["file"])
                x = d.waveform[:1, : int(seconds * d.sample_rate)]
                return x if d.sample_rate == sample_rate else aio.resample(x, d.sample_rate, sample_rate)
    n = int(seconds * sample_rate)
    f0 = np.linspace(110, 170, n)
    phase = np.cumsum(f0 / sample_rate)
    source = (np.diff(np.floor(phase), prepend=0.0) > 0).astype(np.float64)  # glottal pulses
    out = np.zeros(n)
    thirds = np.array_split(np.arange(n), 3)
    for idx, formants in zip(thirds, [(730, 1090, 2440), (270, 2290, 3010), (300, 870, 2240)], strict=True):
        y = source[idx]
        for f in formants:  # two-pole resonators, 80 Hz bandwidth
            r = math.exp(-math.pi * 80 / sample_rate)
            y = lfilter([1 - r], [1, -2 * r * math.cos(2 * math.pi * f / sample_rate), r * r], y)
        out[idx] = y * np.hanning(len(idx))
    return torch.from_numpy(0.5 * out / np.abs(out).max()).float()[None]


def torchaudio_griffinlim(x: torch.Tensor, *, n_iter: int, seed: int, momentum: float = 0.99, power: float = 2.0):
    """``T.Spectrogram`` then ``T.GriffinLim``, seeded with ``torch.manual_seed``."""
    spec = T.Spectrogram(**STFT, power=power)(x)
    gl = T.GriffinLim(**STFT, power=power, n_iter=n_iter, momentum=momentum, length=x.shape[-1])
    torch.manual_seed(seed)
    return gl(spec)


def sc_formula(x: torch.Tensor, y: torch.Tensor) -> float:
    """Spectral convergence (dB) written out: 20 log10(|| |Y| - |X| ||_F / || |X| ||_F)."""
    window = torch.hann_window(STFT["win_length"], dtype=torch.float64)
    mag = lambda s: torch.stft(s.double(), STFT["n_fft"], STFT["hop_length"], window=window, return_complex=True).abs()  # noqa: E731
    X, Y = mag(x), mag(y)
    return 20 * math.log10(float(torch.linalg.vector_norm(Y - X) / torch.linalg.vector_norm(X)))


# --- the loop is torchaudio's ----------------------------------------------------------------


@pytest.mark.parametrize("momentum", [0.99, 0.5, 0.0])
@pytest.mark.parametrize("rand_init", [True, False])
def test_the_loop_gives_the_same_waveform_as_torchaudio_griffinlim(device, momentum, rand_init):
    x = signals.chirp(200, 3000, SR, 0.5).to(device)
    spec = T.Spectrogram(**STFT, power=2.0).to(device)(x)
    gl = T.GriffinLim(**STFT, n_iter=12, momentum=momentum, rand_init=rand_init, length=x.shape[-1]).to(device)
    torch.manual_seed(7)
    expected = gl(spec)
    got, sc_db = R.griffinlim(
        spec, window=gl.window, **STFT, power=2.0, n_iter=12, momentum=momentum, length=x.shape[-1],
        rand_init=rand_init, generator=torch.Generator(device=device).manual_seed(7),
    )  # fmt: skip
    torch.testing.assert_close(got, expected, atol=1e-6, rtol=0)
    assert sc_db.shape == (12,)


def test_batched_channels_equal_channel_by_channel():
    x = torch.cat([signals.chirp(100, 2000, SR, 0.5), signals.sine(660, SR, 0.5)])
    both = R.reconstruct(x, SR, **STFT, n_iter=8, rand_init=False)
    for c in range(2):
        one = R.reconstruct(x[c : c + 1], SR, **STFT, n_iter=8, rand_init=False)
        torch.testing.assert_close(both.griffin_lim[c : c + 1], one.griffin_lim, atol=1e-6, rtol=0)


@pytest.mark.parametrize("name", ["chirp", "speech"])
def test_spectral_convergence_after_32_iterations_is_at_least_as_good_as_torchaudio(name):
    x = signals.chirp(100, 6000, SR, 1.5) if name == "chirp" else speech_like()
    ours = R.reconstruct(x, SR, **STFT, n_iter=32, seed=3)
    ref = torchaudio_griffinlim(x, n_iter=32, seed=3)
    ours_sc, ref_sc = sc_formula(x, ours.griffin_lim), sc_formula(x, ref)
    assert ours_sc <= ref_sc + 1e-4
    assert ours_sc == pytest.approx(ref_sc, abs=1e-3)  # the same algorithm: the same numbers
    assert ours.metrics["griffin_lim"]["spectral_convergence_db"] == pytest.approx(ours_sc, abs=1e-3)
    assert ours_sc < -12.0  # it did converge: a random phase starts near 0 dB


def test_the_curve_is_what_running_torchaudio_for_each_iteration_count_gives():
    x = speech_like(1.0)
    run = R.reconstruct(x, SR, **STFT, n_iter=8, seed=11)
    assert len(run.convergence_db) == 9  # after 0, 1, ..., 8 iterations
    for k in (1, 3, 8):
        assert run.convergence_db[k] == pytest.approx(
            sc_formula(x, torchaudio_griffinlim(x, n_iter=k, seed=11)), abs=2e-3
        )
    assert run.convergence_db[8] < run.convergence_db[1] < run.convergence_db[0]


def test_progress_reports_every_iteration_with_the_curve_values():
    x = signals.chirp(seconds=0.5)
    spec = T.Spectrogram(**STFT)(x)
    calls = []
    _, sc_db = R.griffinlim(
        spec, window=torch.hann_window(512), **STFT, power=2.0, n_iter=6, momentum=0.9, length=None,
        rand_init=True, progress=lambda *a: calls.append(a), progress_interval_s=0.0,
    )  # fmt: skip
    assert [c[:2] for c in calls] == [(i, 6) for i in range(1, 7)]
    np.testing.assert_allclose([c[2] for c in calls], sc_db.numpy(), atol=1e-4)


def test_the_same_seed_gives_the_same_audio_and_another_seed_does_not():
    x = signals.chirp(seconds=0.5)
    a, b = (R.reconstruct(x, SR, **STFT, n_iter=4, seed=5).griffin_lim for _ in range(2))
    c = R.reconstruct(x, SR, **STFT, n_iter=4, seed=6).griffin_lim
    assert torch.equal(a, b) and not torch.allclose(a, c, atol=1e-3)


def test_mel_mode_matches_melspectrogram_inversemelscale_and_griffinlim(device):
    x = speech_like(1.0)
    got = R.reconstruct(x.to(device), SR, source="mel", **STFT, n_mels=64, n_iter=16, seed=2)
    mel = T.MelSpectrogram(SR, **STFT, n_mels=64, power=2.0).to(device)(x.to(device))
    linear = T.InverseMelScale(n_stft=257, n_mels=64, sample_rate=SR).to(device)(mel)
    gl = T.GriffinLim(**STFT, n_iter=16, length=x.shape[-1]).to(device)
    torch.manual_seed(2)
    torch.testing.assert_close(got.griffin_lim, gl(linear).cpu(), atol=1e-5, rtol=0)
    assert set(got.metrics) == {"griffin_lim", "true_phase_inverse", "inverse_mel_scale"}
    assert got.metrics["griffin_lim"]["lsd_db"] > 0


# --- the true-phase inverse --------------------------------------------------------------------


@pytest.mark.parametrize("source", ["linear", "mel"])
def test_the_true_phase_inverse_reconstructs_to_below_minus_60_db(device, source):
    x = torch.cat([signals.chirp(100, 7000, SR, 1.0), signals.white_noise(SR, 1.0, seed=1)])
    run = R.reconstruct(x.to(device), SR, source=source, n_iter=1)
    error_db = 10 * math.log10(float((run.true_phase - x).square().sum() / x.square().sum()))
    assert error_db < -60
    assert run.metrics["true_phase_inverse"]["snr_db"] == pytest.approx(-error_db, abs=1e-3)
    assert run.metrics["true_phase_inverse"]["spectral_convergence_db"] < -60


# --- metrics against their formulas ------------------------------------------------------------


def test_metrics_match_their_formulas_with_librosa_stft():
    import librosa

    x = speech_like(1.0)
    y = 0.8 * x + 0.05 * signals.white_noise(SR, 1.0, seed=3)
    s = R.Settings(**STFT)
    got = R.quality_metrics(x, y, s)
    stft = lambda v: np.abs(librosa.stft(v.numpy()[0].astype(np.float64), **STFT, pad_mode="reflect"))  # noqa: E731
    X, Y = stft(x), stft(y)
    xs, ys = x.numpy()[0].astype(np.float64), y.numpy()[0].astype(np.float64)
    a = ys @ xs / (xs @ xs)
    expected = {
        "spectral_convergence_db": 20 * np.log10(np.linalg.norm(Y - X) / np.linalg.norm(X)),
        "snr_db": 10 * np.log10(np.sum(xs**2) / np.sum((xs - ys) ** 2)),
        "si_sdr_db": 10 * np.log10(np.sum((a * xs) ** 2) / np.sum((ys - a * xs) ** 2)),
        "lsd_db": np.mean(
            np.sqrt(np.mean((10 * np.log10(np.maximum(X**2, 1e-10) / np.maximum(Y**2, 1e-10))) ** 2, axis=0))
        ),
    }
    for key, value in expected.items():
        assert got[key] == pytest.approx(value, abs=1e-3), key


def test_metrics_of_a_scaled_copy_have_known_values():
    x = signals.chirp(seconds=0.5) + 0.01 * signals.white_noise(seconds=0.5)
    got = R.quality_metrics(x, 0.5 * x, R.Settings(**STFT))
    six = 10 * math.log10(4)
    assert got["snr_db"] == pytest.approx(six, abs=1e-4)
    assert got["spectral_convergence_db"] == pytest.approx(-six, abs=1e-4)
    assert got["lsd_db"] == pytest.approx(six, abs=1e-3)
    assert got["si_sdr_db"] > 100  # scale-invariant: a scaled copy is perfect
    same = R.quality_metrics(x, x, R.Settings(**STFT))
    assert same["snr_db"] == R.DB_CAP and same["spectral_convergence_db"] == -R.DB_CAP and same["lsd_db"] == 0


def test_si_sdr_is_the_mean_over_channels():
    x = torch.cat([signals.sine(440, seconds=0.5), signals.sine(300, seconds=0.5)])
    n = signals.white_noise(seconds=0.5, channels=2, amp=0.1, seed=4)
    both = R.si_sdr_db(x, x + n)
    assert both == pytest.approx((R.si_sdr_db(x[:1], x[:1] + n[:1]) + R.si_sdr_db(x[1:], x[1:] + n[1:])) / 2)


# --- bounds --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"n_iter": 0}, "n_iter=0 is out of range"),
        ({"n_iter": 257}, "n_iter=257 is out of range"),
        ({"momentum": 1.0}, "momentum=1 is out of range"),
        ({"n_fft": 1000}, "Invalid n_fft: 1000"),
        ({"n_fft": 512, "win_length": 1024}, "win_length=1024 is out of range"),
        ({"n_fft": 512, "hop_length": 300}, "hop_length=300 is out of range"),
        ({"power": 0.0}, "power=0 is out of range"),
        ({"source": "cqt"}, "Invalid source: 'cqt'"),
        ({"length": 100}, "length=100 would change the number of STFT frames"),
        (
            {"source": "mel", "n_fft": 128, "n_mels": 128},
            r"n_mels=128 is too many for n_fft=128 at 16000 Hz.*at most 29 mels",
        ),
        ({"seed": -1}, "seed=-1 is out of range"),
    ],
)
def test_bad_parameters_are_refused_with_the_value_in_the_message(params, message):
    with pytest.raises(AudioLabError, match=message):
        R.reconstruct(signals.sine(seconds=0.5), SR, **params)


def test_too_much_work_is_refused_before_it_starts(monkeypatch):
    # With GL_MAX_SPEC_BINS bins, 256 iterations fit GL_MAX_WORK; the work bound stays as a second line.
    monkeypatch.setattr(limits, "GL_MAX_WORK", 100_000_000)
    x = torch.zeros(1, 48_000 * 60).uniform_(-0.5, 0.5)  # 60 s mono at 48 kHz, cut to the frames that fit
    frames = limits.GL_MAX_SPEC_BINS // 513
    seconds, most = (frames - 1) * 256 / 48_000, limits.GL_MAX_WORK // (frames * 1024)
    start = time.perf_counter()
    pattern = rf"n_iter=256 is too many for {seconds:.1f} s x 1 channel\(s\).*at most {most} iter"
    with pytest.raises(AudioLabError, match=pattern):
        R.reconstruct(x, 48_000, n_iter=256)
    assert time.perf_counter() - start < 1.0


def test_input_whose_spectrogram_would_not_fit_is_cut_to_the_bins_a_request_may_hold():
    x = torch.zeros(2, 48_000 * 60).uniform_(-0.5, 0.5)  # 60 s stereo at 48 kHz: 11,543,526 bins
    run = R.reconstruct(x, 48_000, n_iter=1)
    frames = limits.GL_MAX_SPEC_BINS // (2 * 513)
    assert run.griffin_lim.shape == (2, (frames - 1) * 256)
    assert 2 * 513 * (run.griffin_lim.shape[-1] // 256 + 1) <= limits.GL_MAX_SPEC_BINS
    assert f"Only the first {(frames - 1) * 256 / 48_000:.2f} s were reconstructed" in run.notes[0]
    assert "hop_length=256" in run.notes[0] and "2 channel(s)" in run.notes[0]
    torch.testing.assert_close(run.original, x[:, : (frames - 1) * 256])


def test_a_run_past_its_deadline_stops_with_a_clear_message():
    with pytest.raises(AudioLabError, match="Griffin-Lim took longer than the 0 s limit"):
        R.reconstruct(signals.chirp(seconds=0.5), SR, **STFT, n_iter=50, deadline=Deadline(0.0))


def test_long_input_is_cut_to_the_limit_with_a_note():
    x = signals.white_noise(1_000, limits.GL_MAX_DURATION_S + 5, amp=0.2)
    run = R.reconstruct(x, 1_000, n_fft=128, n_iter=1)
    assert run.griffin_lim.shape[-1] == int(limits.GL_MAX_DURATION_S * 1_000)
    assert "Only the first 60 s" in run.notes[0]


def test_silent_and_too_short_audio_are_refused():
    with pytest.raises(AudioLabError, match="silent"):
        R.reconstruct(torch.zeros(1, 4000), SR)
    with pytest.raises(AudioLabError, match="too short for n_fft=1024"):
        R.reconstruct(signals.sine(seconds=0.01), SR)


def test_output_length_within_the_same_frames_is_honoured():
    x = signals.chirp(seconds=0.5)  # 8000 samples, 63 frames of hop 128
    run = R.reconstruct(x, SR, **STFT, n_iter=4, length=7990)
    assert run.griffin_lim.shape == (1, 7990) and run.true_phase.shape == (1, 7990)
    assert run.metrics["true_phase_inverse"]["snr_db"] > 60


def test_transforms_come_from_the_shared_cache():
    cache.CACHE.clear()
    x = signals.chirp(seconds=0.5)
    R.reconstruct(x, SR, **STFT, n_iter=2)
    builds = cache.CACHE.builds
    R.reconstruct(x, SR, **STFT, n_iter=2)
    assert cache.CACHE.builds == builds
    assert {row["name"] for row in cache.CACHE.snapshot()} >= {"Spectrogram", "InverseSpectrogram"}
