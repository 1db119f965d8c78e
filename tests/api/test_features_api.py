"""Features tab through gradio_client: values checked against torchaudio called directly."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
import torchaudio
import torchaudio.transforms as T
from gradio_client import handle_file
from gradio_client.exceptions import AppError

from audiolab.features import compute as ft
from tests import signals

SR = 16_000


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    """A 1 s stereo 16-bit WAV and its samples loaded with ``torchaudio.load``."""
    x = torch.cat([signals.chirp(150, 3000, SR, 1.0), signals.sine(330, SR, 1.0, amp=0.2)])
    path = signals.write(tmp_path_factory.mktemp("feat-api") / "clip.wav", x, SR)
    loaded, rate = torchaudio.load(str(path))
    assert rate == SR
    return path, loaded


def test_mel_spectrogram_file_equals_torchaudio_called_directly(client, clip):
    path, x = clip
    params = {"n_fft": 512, "hop_length": 128, "n_mels": 64, "db": False}
    figure, npy, pt, code, summary = client.predict(
        handle_file(str(path)), "mel_spectrogram", json.dumps(params), api_name="/features"
    )
    direct = T.MelSpectrogram(SR, n_fft=512, hop_length=128, n_mels=64)(x)
    got = np.load(npy)
    assert got.shape == (2, 64, 1 + SR // 128) and summary["shape"] == list(got.shape)
    np.testing.assert_allclose(got, direct.numpy(), rtol=1e-4, atol=1e-4 * float(direct.max()))
    saved = torch.load(pt, weights_only=True)
    assert saved["params"]["n_mels"] == 64 and saved["sample_rate"] == SR and saved["name"] == "mel_spectrogram"
    assert summary["max"] == pytest.approx(float(got.max()), rel=1e-6)
    assert "T.MelSpectrogram(" in code and figure.endswith(".png")


def test_mfcc_with_default_params_equals_torchaudio(client, clip):
    path, x = clip
    _, npy, _, _, summary = client.predict(handle_file(str(path)), "mfcc", "{}", api_name="/features")
    melkwargs = {"n_fft": 1024, "hop_length": 512, "n_mels": ft.DEFAULTS["n_mels"]}  # 80: no empty filter at 44.1 kHz
    direct = T.MFCC(SR, melkwargs=melkwargs)(x.unsqueeze(1)).squeeze(1)
    np.testing.assert_allclose(np.load(npy), direct.numpy(), rtol=1e-4, atol=1e-2)
    assert summary["params"] == ft.default_params("mfcc") | {"win_length": 1024, "hop_length": 512}


def test_pitch_tracker_returns_voicing_and_f0(client, clip):
    path, _ = clip
    *_, summary = client.predict(handle_file(str(path)), "pitch_nccf", '{"max_f0": 500}', api_name="/features")
    assert summary["shape"][0] == 2 and summary["shape"][-1] == 2
    assert summary["median_f0_hz"][1] == pytest.approx(330, abs=0.5)


def test_feature_params_lists_defaults(client):
    out = client.predict("cmn", api_name="/feature_params")
    assert out["defaults"]["cmn_window"] == 600 and out["dims"] == ft.DIMS["cmn"]


def test_bad_parameter_gives_a_clear_error_and_the_app_still_answers(client, clip):
    path, _ = clip
    with pytest.raises(AppError, match=r"n_mfcc \(at most n_mels = 40\)=80 is out of range"):
        client.predict(handle_file(str(path)), "mfcc", '{"n_mels": 40, "n_mfcc": 80}', api_name="/features")
    with pytest.raises(AppError, match="params must be a JSON object"):
        client.predict(handle_file(str(path)), "mfcc", "n_mfcc=13", api_name="/features")
    *_, summary = client.predict(handle_file(str(path)), "loudness", "{}", api_name="/features")
    assert len(summary["lkfs_per_channel"]) == 2
