"""The Griffin-Lim tab's endpoint, called by name through gradio_client on the launched app."""

from __future__ import annotations

import math

import pytest
import soundfile as sf
import torch
import torchaudio.transforms as T
from gradio_client import handle_file
from gradio_client.exceptions import AppError

from audiolab.core import limits
from tests import signals

# audio, source, n_fft, win_length, hop_length, power, n_iter, momentum, rand_init, seed, length, n_mels
DEFAULTS = ["linear", 512, 512, 128, 2.0, 16, 0.99, True, 4, 0, 80]


def read(path: str) -> torch.Tensor:
    data, _ = sf.read(path, dtype="float32", always_2d=True)
    return torch.from_numpy(data.T.copy())


def test_griffin_lim_returns_torchaudios_reconstruction_and_the_metrics(client, tmp_path):
    x = signals.chirp(200, 5000, 16_000, 1.0)
    path = signals.write(tmp_path / "chirp.wav", x, 16_000, subtype="FLOAT")
    wav, true_wav, metrics, curve_png, spec_png, code = client.predict(
        handle_file(str(path)), *DEFAULTS, api_name="/griffin_lim"
    )
    spec = T.Spectrogram(n_fft=512, hop_length=128, power=2.0)(x)
    torch.manual_seed(4)
    expected = T.GriffinLim(n_fft=512, hop_length=128, n_iter=16, momentum=0.99, length=x.shape[-1])(spec)
    torch.testing.assert_close(read(wav), expected, atol=1e-6, rtol=0)  # float WAV: exact
    error_db = 10 * math.log10(float((read(true_wav) - x).square().sum() / x.square().sum()))
    assert error_db < -60
    assert set(metrics["griffin_lim"]) == {"spectral_convergence_db", "snr_db", "si_sdr_db", "lsd_db"}
    assert metrics["true_phase_inverse"]["snr_db"] == pytest.approx(-error_db, abs=0.01)
    assert len(metrics["convergence_db"]) == 17
    assert metrics["convergence_db"][-1] == pytest.approx(metrics["griffin_lim"]["spectral_convergence_db"], abs=1e-3)
    assert curve_png.endswith(".png") and spec_png.endswith(".png")
    assert "T.GriffinLim(" in code and "torch.manual_seed(4)" in code


def test_mel_source_goes_through_inverse_mel_scale(client, tmp_path):
    path = signals.write(tmp_path / "sine.wav", signals.sine(440, 16_000, 0.5), 16_000)
    params = ["mel", *DEFAULTS[1:]]
    params[-1] = 64
    *_, metrics, _, _, code = client.predict(handle_file(str(path)), *params, api_name="/griffin_lim")
    assert "inverse_mel_scale" in metrics and "T.InverseMelScale(n_stft=n_fft // 2 + 1, n_mels=64" in code
    assert metrics["settings"]["source"] == "mel"


def test_a_long_clip_is_cut_to_the_spectrogram_a_request_may_hold_and_bad_values_get_clear_messages(client, tmp_path):
    long_clip = signals.write(tmp_path / "long.wav", signals.white_noise(48_000, 40.0, channels=2), 48_000)
    params = list(DEFAULTS)
    params[1:4], params[5] = [1024, 1024, 256], 2  # n_fft, win_length, hop_length; n_iter
    result, _, metrics, *_ = client.predict(handle_file(str(long_clip)), *params, api_name="/griffin_lim")
    kept = (limits.GL_MAX_SPEC_BINS // (2 * 513) - 1) * 256  # samples whose spectrogram fits the bins
    assert metrics["settings"]["input_samples"] == kept and sf.info(result).frames == kept
    assert any(f"Only the first {kept / 48_000:.2f} s were reconstructed" in n for n in metrics["notes"])
    with pytest.raises(AppError, match="hop_length=400 is out of range"):
        client.predict(handle_file(str(long_clip)), "linear", 512, 512, 400, *DEFAULTS[4:], api_name="/griffin_lim")
    short = signals.write(tmp_path / "short.wav", signals.sine(seconds=0.3), 16_000)
    *_, metrics, _, _, _ = client.predict(handle_file(str(short)), *DEFAULTS, api_name="/griffin_lim")
    assert metrics["true_phase_inverse"]["snr_db"] > 60
