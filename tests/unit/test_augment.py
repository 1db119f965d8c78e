"""Augment ops against torchaudio called directly, or against a formula."""

from __future__ import annotations

import math

import pytest
import torch
import torchaudio.functional as F
import torchaudio.transforms as T

from audiolab.augment import compute as A
from audiolab.core import io as aio
from audiolab.core import limits
from audiolab.core.errors import AudioLabError
from tests import signals

SR = 16_000


def f0(x: torch.Tensor, sample_rate: int) -> float:
    """The frequency (Hz) of the strongest peak of the middle half of channel 0 (Hann window, 8x zero
    padding, parabolic interpolation of the log magnitude): within 0.001 % for a steady tone."""
    seg = x[0, x.shape[-1] // 4 : 3 * x.shape[-1] // 4].double()
    n = seg.numel()
    spec = torch.fft.rfft(seg * torch.hann_window(n, dtype=torch.float64), n=8 * n).abs()
    k = int(spec[1:].argmax()) + 1
    a, b, c = spec[k - 1 : k + 2].log().tolist()
    return (k + 0.5 * (a - c) / (a - 2 * b + c)) * sample_rate / (8 * n)


def gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


# --- time stretch and pitch shift -------------------------------------------------------------


@pytest.mark.parametrize("rate", [0.5, 0.8, 1.3, 2.0])
def test_time_stretch_equals_torchaudios_phase_vocoder_and_changes_duration_by_the_rate_keeping_pitch(device, rate):
    x = signals.sine(440, SR, 1.0)
    y = A.time_stretch(x, rate=rate, n_fft=512, hop_length=128)
    spec = T.Spectrogram(n_fft=512, hop_length=128, power=None).to(device)(x.to(device))  # same device: same sums
    stretched = T.TimeStretch(hop_length=128, n_freq=257, fixed_rate=rate).to(device)(spec)
    expected = T.InverseSpectrogram(n_fft=512, hop_length=128).to(device)(stretched, length=round(SR / rate))
    torch.testing.assert_close(y, expected.cpu(), atol=1e-5, rtol=0)
    assert y.shape[-1] == round(SR / rate)
    assert f0(y, SR) == pytest.approx(440, rel=1e-3)


@pytest.mark.parametrize("n_steps", [-7, -3, -1, 2.5, 4, 7, 11])
def test_pitch_shift_moves_the_measured_f0_by_two_to_the_n_over_12_and_keeps_the_duration(n_steps):
    x = signals.sine(440, SR, 1.0)
    y = A.pitch_shift(x, n_steps=n_steps)
    assert y.shape == x.shape
    assert f0(y, SR) / 440 == pytest.approx(2 ** (n_steps / 12), rel=5e-3)  # the bar: 0.5 %
    assert f0(y, SR) / 440 == pytest.approx(2 ** (n_steps / 12), rel=2e-4)  # what we get: 0.01 % + estimator


@pytest.mark.parametrize("n_steps", [12, -12])
def test_pitch_shift_by_an_octave_equals_torchaudios_pitch_shift(device, n_steps):
    x = signals.chirp(200, 2000, SR, 1.0)
    expected = F.pitch_shift(x.to(device), SR, n_steps).cpu()  # rate 1/2 or 2: a small kernel, torchaudio is quick
    torch.testing.assert_close(A.pitch_shift(x, n_steps=n_steps), expected, atol=1e-5, rtol=0)


def test_pitch_fractions_are_within_the_tolerance_and_keep_the_resampling_kernel_small():
    for n in [k / 4 for k in range(-48, 49)]:
        frac = A.pitch_fraction(n, 12)
        assert abs(frac / (2 ** (-n / 12)) - 1) <= limits.AUG_PITCH_RATIO_TOL
        assert max(frac.numerator, frac.denominator) <= limits.AUG_PITCH_MAX_TERM
    assert str(A.pitch_fraction(4.0, 12)) == "50/63" and str(A.pitch_fraction(12.0, 12)) == "1/2"
    worst = A.pitch_fraction(-0.01, 12)  # one of the hardest cases: 1477/1476, a kernel of 2.2 M values (9 MB)
    kernel = aio.resampler(worst.denominator, worst.numerator).kernel
    assert kernel.numel() <= limits.AUG_PITCH_MAX_TERM * (limits.AUG_PITCH_MAX_TERM + 16)
    # F.pitch_shift's kernel for one semitone up at 16 kHz: T.Resample(16951, 16000) (not built: ~1 GB)
    assert limits.resample_kernel_size(int(SR / 2 ** (-1 / 12)), SR) > 3_000_000_000


# --- SpecAugment masks ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("axis", "params"),
    [
        ("time", {"mask_param": 40, "num_masks": 2, "iid_masks": False, "p": 1.0}),
        ("time", {"mask_param": 80, "num_masks": 3, "iid_masks": True, "p": 0.2}),
        ("frequency", {"mask_param": 30, "num_masks": 2, "iid_masks": False, "p": 1.0}),
        ("frequency", {"mask_param": 60, "num_masks": 1, "iid_masks": True, "p": 1.0}),
    ],
)
def test_masks_are_torchaudios_for_the_same_seed_and_zero_exactly_the_masked_bands(axis, params):
    x = torch.cat([signals.chirp(100, 7000, SR, 1.0), signals.white_noise(SR, 1.0)])
    power = T.Spectrogram(n_fft=512, hop_length=128)(x)  # (2, 257, 126)
    torch.manual_seed(11)
    masking = (
        T.TimeMasking(params["mask_param"], iid_masks=params["iid_masks"], p=params["p"])
        if axis == "time"
        else T.FrequencyMasking(params["mask_param"], iid_masks=params["iid_masks"])
    )
    expected = power
    for _ in range(params["num_masks"]):
        expected = masking(expected)
    mask = A.spec_mask(tuple(power.shape), axis=axis, generator=gen(11), **params)
    torch.testing.assert_close(power * mask, expected, atol=0, rtol=0)
    zeroed = (expected == 0).all(dim=1 if axis == "time" else 2)  # whole frames / whole bins
    assert torch.equal(zeroed, (mask == 0).squeeze(1 if axis == "time" else 2))
    assert zeroed.any()
    if params["iid_masks"]:
        assert not torch.equal(zeroed[0], zeroed[1])  # one draw per channel


def test_masked_audio_with_the_original_phase_and_no_mask_gives_the_input_back():
    x = signals.chirp(100, 4000, SR, 0.5)
    mask = torch.ones(1, 1, x.shape[-1] // 128 + 1)
    torch.testing.assert_close(A.masked_audio(x, mask, n_fft=512, hop_length=128), x, atol=1e-5, rtol=0)


def test_masked_audio_by_griffin_lim_is_torchaudios_griffin_lim_of_the_masked_magnitude():
    x = signals.chirp(100, 4000, SR, 0.5)
    spec = T.Spectrogram(n_fft=256, hop_length=64, power=None)(x)
    mask = A.spec_mask(tuple(spec.shape), axis="time", mask_param=20, num_masks=2, iid_masks=False, p=1.0,
                       generator=gen(3))  # fmt: skip
    y = A.masked_audio(x, mask, n_fft=256, hop_length=64, inversion="griffinlim")
    gl = T.GriffinLim(n_fft=256, hop_length=64, power=1.0, n_iter=limits.AUG_GRIFFINLIM_ITERS, rand_init=False,
                      length=x.shape[-1])  # fmt: skip
    torch.testing.assert_close(y, gl((spec * mask).abs()), atol=1e-5, rtol=0)


# --- speed and resampling -----------------------------------------------------------------------------


def test_speed_equals_torchaudios_speed_and_divides_the_duration_by_the_factor(device):
    x = signals.sine(440, SR, 1.0)
    y = A.speed(x, factor=1.1)
    expected = F.speed(x.to(device), SR, 1.1)[0].cpu()
    torch.testing.assert_close(y, expected, atol=1e-6, rtol=0)
    assert y.shape[-1] == math.ceil(SR / 1.1)
    assert f0(y, SR) == pytest.approx(440 * 1.1, rel=1e-4)  # tempo and pitch together


def test_speed_uses_an_exact_small_fraction_where_torchaudio_would_truncate_the_rate():
    assert str(A.speed_fraction(1.01)) == "101/100"  # F.speed at 22050 Hz: int(22270.5) / 22050 = 2227/2205
    y = A.speed(signals.sine(1000, 22_050, 0.5), factor=1.01)
    assert y.shape[-1] == math.ceil(11_025 * 100 / 101)


def test_speed_perturbation_draws_the_factor_torchaudio_draws_for_the_same_seed():
    x = signals.chirp(100, 3000, SR, 0.5)
    factors = [0.8, 0.9, 1.0, 1.1, 1.2]
    for seed in range(4):
        torch.manual_seed(seed)
        expected, _ = T.SpeedPerturbation(SR, factors)(x)
        r = A.run_chain(x, SR, [{"op": "speed_perturbation", "factors": factors, "seed": seed}])
        torch.testing.assert_close(r.waveform, expected.clamp(-1, 1), atol=1e-6, rtol=0)
        assert r.steps[0].params["drawn_factor"] in factors


def test_resample_step_equals_torchaudio_resample_and_changes_the_rate():
    x = signals.chirp(100, 7000, SR, 0.5)
    r = A.run_chain(x, SR, [{"op": "resample", "sample_rate": 8000}])
    assert r.sample_rate == 8000
    torch.testing.assert_close(r.waveform, T.Resample(SR, 8000)(x).clamp(-1, 1), atol=1e-6, rtol=0)


# --- noise and reverb ------------------------------------------------------------------------------


def snr_db(clean: torch.Tensor, noisy: torch.Tensor) -> torch.Tensor:
    return 10 * torch.log10(clean.square().sum(-1) / (noisy - clean).square().sum(-1))


@pytest.mark.parametrize("color", ["white", "pink", "brown"])
@pytest.mark.parametrize("snr", [-5.0, 10.0, 40.0])
def test_add_noise_gives_the_requested_snr_within_a_tenth_of_a_db(color, snr):
    x = signals.sine(440, SR, 1.0, amp=0.05, channels=2)
    r = A.run_chain(x, SR, [{"op": "add_noise", "snr_db": snr, "noise": color}], seed=4)
    noise = A.colored_noise(tuple(x.shape), color, gen(4))  # step 0 of a chain with seed 4
    torch.testing.assert_close(r.waveform, F.add_noise(x, noise, torch.full((2,), snr)), atol=0, rtol=0)
    assert torch.allclose(snr_db(x, r.waveform), torch.full((2,), snr), atol=0.1, rtol=0)


@pytest.mark.parametrize(("color", "slope"), [("white", 0.0), ("pink", -1.0), ("brown", -2.0)])
def test_generated_noise_has_the_spectral_slope_of_its_colour(color, slope):
    noise = A.colored_noise((1, 10 * SR), color, gen(0))[0].double()
    power = torch.fft.rfft(noise).abs().square()
    octaves = [(2**k, 2 ** (k + 1)) for k in range(4, 16)]  # bins 16 to 65536: 5 Hz to 3.3 kHz... 8 kHz
    lf = torch.tensor([math.log10(math.sqrt(lo * hi)) for lo, hi in octaves])
    lp = torch.tensor([math.log10(float(power[lo:hi].mean())) for lo, hi in octaves])
    fitted = float(((lf - lf.mean()) * (lp - lp.mean())).sum() / (lf - lf.mean()).square().sum())
    assert fitted == pytest.approx(slope, abs=0.1)  # log10 power per decade of frequency


def test_a_noise_clip_is_resampled_cut_at_a_seeded_offset_or_repeated():
    clip = (signals.white_noise(8000, 2.0, channels=1), 8000)
    a = A.clip_noise(clip, 2, 4000, SR, gen(5), [])
    assert a.shape == (2, 4000) and torch.equal(a, A.clip_noise(clip, 2, 4000, SR, gen(5), []))
    assert not torch.equal(a, A.clip_noise(clip, 2, 4000, SR, gen(6), []))
    long = A.clip_noise(clip, 1, 5 * SR, SR, gen(5), [])
    torch.testing.assert_close(long[:, : 2 * SR], long[:, 2 * SR : 4 * SR], atol=0, rtol=0)


def test_silent_noise_is_refused():
    with pytest.raises(AudioLabError, match="noise is silent"):
        A.add_noise(signals.sine(), torch.zeros(1, SR), snr_db=10)


@pytest.mark.parametrize("rt60", [0.1, 0.5, 2.0])
def test_the_synthetic_rir_decays_60_db_in_rt60_seconds(rt60):
    h = A.synthetic_rir(rt60, SR, gen(1))[0].double()
    assert h.shape[-1] == round(rt60 * SR)
    assert float(torch.linalg.vector_norm(h)) == pytest.approx(1.0, abs=1e-5)
    edc = h.square().flip(0).cumsum(0).flip(0)  # Schroeder backward integration
    edc_db = 10 * torch.log10(edc / edc[0])
    start, stop = int((edc_db > -5).sum()), int((edc_db > -35).sum())  # T30: fit -5 to -35 dB
    t = torch.arange(start, stop, dtype=torch.float64) / SR
    y = edc_db[start:stop]
    slope = float(((t - t.mean()) * (y - y.mean())).sum() / (t - t.mean()).square().sum())
    assert -60 / slope == pytest.approx(rt60, rel=0.05)


def test_reverb_convolves_with_the_rir_and_keeps_the_tail():
    x = signals.chirp(200, 3000, SR, 0.5, amp=0.2)
    r = A.run_chain(x, SR, [{"op": "reverb", "rt60": 0.3}], seed=9)
    rir = A.synthetic_rir(0.3, SR, gen(9))
    expected = F.fftconvolve(x, rir)
    expected = expected / max(1.0, float(expected.abs().max()))
    torch.testing.assert_close(r.waveform, expected, atol=1e-6, rtol=0)
    assert r.waveform.shape[-1] == x.shape[-1] + round(0.3 * SR) - 1


def test_an_uploaded_rir_starts_at_its_peak_and_is_normalised():
    h = torch.zeros(1, 8000)
    h[0, 100], h[0, 200:1000] = 1.0, 0.1 * torch.exp(-torch.arange(800) / 200.0)
    rir = A.clip_rir((h, 8000), 8000, [])
    assert rir.shape == (1, 7900) and float(rir[0, 0]) == pytest.approx(float(rir.abs().max()))
    assert float(torch.linalg.vector_norm(rir)) == pytest.approx(1.0, abs=1e-6)


# --- filters, gain, fade, preemphasis -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("step", "reference"),
    [
        ({"op": "lowpass", "cutoff_freq": 1000.0, "Q": 0.707}, lambda x: F.lowpass_biquad(x, SR, 1000.0, 0.707)),
        ({"op": "highpass", "cutoff_freq": 500.0, "Q": 2.0}, lambda x: F.highpass_biquad(x, SR, 500.0, 2.0)),
        ({"op": "bandpass", "central_freq": 800.0, "Q": 1.0, "const_skirt_gain": True},
         lambda x: F.bandpass_biquad(x, SR, 800.0, 1.0, True)),
        ({"op": "equalizer", "center_freq": 2000.0, "gain": -9.0, "Q": 0.5},
         lambda x: F.equalizer_biquad(x, SR, 2000.0, -9.0, 0.5)),
        ({"op": "gain", "gain_db": 12.0}, lambda x: T.Vol(12.0, gain_type="db")(x)),
        ({"op": "fade", "fade_in_s": 0.25, "fade_out_s": 0.1, "fade_shape": "half_sine"},
         lambda x: T.Fade(4000, 1600, "half_sine")(x)),
        ({"op": "preemphasis", "coeff": 0.5}, lambda x: F.preemphasis(x, 0.5)),
    ],
)  # fmt: skip
def test_filters_gain_fade_and_preemphasis_equal_torchaudio(step, reference):
    x = torch.cat([signals.chirp(50, 7000, SR, 1.0, amp=0.3), signals.white_noise(SR, 1.0, amp=0.3)])
    r = A.run_chain(x, SR, [step])
    torch.testing.assert_close(r.waveform, reference(x), atol=1e-6, rtol=0)


def test_a_filter_frequency_must_be_below_nyquist():
    with pytest.raises(AudioLabError, match=r"lowpass.cutoff_freq=5000 Hz must be below half the sample rate"):
        A.run_chain(signals.sine(440, 8000), 8000, [{"op": "lowpass", "cutoff_freq": 5000}])


def test_fades_longer_than_the_clip_are_shortened_with_a_note():
    r = A.run_chain(signals.sine(440, SR, 0.5), SR, [{"op": "fade", "fade_in_s": 2.0, "fade_out_s": 0.0}])
    assert r.steps[0].params["fade_in_len"] == SR // 2 and "shortened" in r.steps[0].notes[0]
    assert float(r.waveform[0, 0]) == 0.0
