"""The Augment tab's endpoints, called by name through gradio_client on the launched app."""

from __future__ import annotations

import json

import pytest
import soundfile as sf
import torch
import torchaudio.transforms as T
from gradio_client import handle_file
from gradio_client.exceptions import AppError

from tests import signals


def read(path: str) -> tuple[torch.Tensor, int]:
    data, rate = sf.read(path, dtype="float32", always_2d=True)
    return torch.from_numpy(data.T.copy()), rate


def augment(client, path, chain, seed=0, inversion="phase", noise=None, rir=None):
    """``/augment`` -> (player wav, before png, after png, steps table, notes, code, download wav)."""
    clips = [handle_file(str(c)) if c else None for c in (noise, rir)]
    return client.predict(handle_file(str(path)), json.dumps(chain), seed, inversion, *clips, api_name="/augment")


def test_a_time_stretch_returns_torchaudios_result_the_steps_and_the_code(client, tmp_path):
    x = signals.chirp(200, 4000, 16_000, 1.0)
    path = signals.write(tmp_path / "chirp.wav", x, 16_000, subtype="FLOAT")
    player, before, after, steps, notes, code, download = augment(client, path, [{"op": "time_stretch", "rate": 1.6}])
    spec = T.Spectrogram(n_fft=512, hop_length=128, power=None)(x)
    stretched = T.TimeStretch(hop_length=128, n_freq=257, fixed_rate=1.6)(spec)
    expected = T.InverseSpectrogram(n_fft=512, hop_length=128)(stretched, length=10_000)
    result, rate = read(download)
    assert rate == 16_000 and result.shape == (1, 10_000)
    torch.testing.assert_close(result, expected, atol=1e-6, rtol=0)  # float WAV: exact
    played, play_rate = read(player)
    assert play_rate == 16_000 and torch.allclose(played, expected, atol=1 / 32768 + 1e-6)  # 16-bit
    assert steps["headers"][:3] == ["#", "op", "params"]
    assert steps["data"][0][:3] == [1, "time_stretch", '{"rate": 1.6, "n_fft": 512, "hop_length": 128}']
    assert before.endswith(".png") and after.endswith(".png")
    assert "T.TimeStretch(hop_length=128, n_freq=257, fixed_rate=1.6)" in code


def test_noise_at_an_snr_is_reproducible_from_the_seed_and_uses_an_uploaded_clip(client, tmp_path):
    x = signals.sine(440, 16_000, 1.0, amp=0.1)
    path = signals.write(tmp_path / "tone.wav", x, 16_000, subtype="FLOAT")
    noise = signals.write(tmp_path / "noise.wav", signals.white_noise(8000, 0.5), 8000)
    chain = [{"op": "add_noise", "snr_db": 12.5, "noise": "clip"}, {"op": "add_noise", "snr_db": 30, "noise": "pink"}]
    first = read(augment(client, path, chain, seed=21, noise=noise)[-1])[0]
    again = read(augment(client, path, chain, seed=21, noise=noise)[-1])[0]
    other = read(augment(client, path, chain, seed=22, noise=noise)[-1])[0]
    assert torch.equal(first, again) and not torch.equal(first, other)
    one = read(augment(client, path, chain[:1], seed=21, noise=noise)[-1])[0]
    snr = 10 * torch.log10(x.square().sum() / (one - x).square().sum())
    assert float(snr) == pytest.approx(12.5, abs=0.1)


def test_schema_lists_ops_and_a_bad_step_gets_a_clear_message_while_the_app_keeps_serving(client, tmp_path):
    schema = client.predict(api_name="/augment_schema")
    titles = [v["title"] for v in schema["items"]["oneOf"]]
    assert {"time_stretch", "time_masking", "frequency_masking", "pitch_shift", "add_noise", "reverb"} <= set(titles)
    path = signals.write(tmp_path / "tone.wav", signals.sine(seconds=0.5), 16_000)
    with pytest.raises(AppError, match=r"Step 1: time_stretch.rate=5 is out of range: allowed 0.5 to 2"):
        augment(client, path, [{"op": "time_stretch", "rate": 5}])
    with pytest.raises(AppError, match=r"needs a noise clip: upload one"):
        augment(client, path, [{"op": "add_noise", "noise": "clip"}])
    steps = augment(client, path, [{"op": "pitch_shift", "n_steps": 12}])[3]
    assert steps["data"][0][1] == "pitch_shift" and "Stretch by 1/2, then resample 2 -> 1" in steps["data"][0][7]
