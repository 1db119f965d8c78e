"""The Augment "Code" panel: executed on real files, it gives the engine's result."""

from __future__ import annotations

import pytest
import torch

from audiolab.augment import compute as A
from audiolab.augment.snippets import chain_snippet
from audiolab.core import io as aio
from tests import signals

SR = 16_000
ALL_OPS = list(A.OPS)


def run_both(tmp_path, chain, *, inversion="phase", seed=3, rate=SR, noise=None, rir=None):
    """The engine on the decoded files, and the snippet's variables after ``exec`` in ``tmp_path``."""
    x = torch.cat([signals.chirp(100, rate / 3, rate, 1.2), signals.sine(330, rate, 1.2, amp=0.3)])
    path = signals.write(tmp_path / "clip.wav", x, rate)
    decoded = aio.decode(path)
    clips = {}
    for name, clip in (("noise", noise), ("rir", rir)):
        if clip is not None:
            d = aio.decode(signals.write(tmp_path / f"my_{name}.wav", *clip))
            clips[name] = (d.waveform, d.sample_rate)
    r = A.run_chain(decoded.waveform, decoded.sample_rate, chain, seed=seed, inversion=inversion, **clips)
    code = chain_snippet(path.name, r, noise_path="my_noise.wav", rir_path="my_rir.wav")
    scope: dict = {}
    exec(code, scope)
    return r, scope, code


@pytest.mark.parametrize(
    ("chain", "inversion"),
    [
        ([{"op": op} for op in ALL_OPS[:8]], "phase"),
        ([{"op": op} for op in ALL_OPS[8:]], "phase"),
        ([{"op": "time_masking", "iid_masks": True, "p": 0.3, "num_masks": 3},
          {"op": "frequency_masking", "n_fft": 1024, "hop_length": 128}], "griffinlim"),
        ([{"op": "pitch_shift", "n_steps": -2.5, "bins_per_octave": 24, "n_fft": 1024},
          {"op": "add_noise", "noise": "brown", "snr_db": 0, "seed": 99},
          {"op": "speed_perturbation", "factors": [0.75, 1.25, 1.5]}], "phase"),
    ],
)  # fmt: skip
def test_the_snippet_reproduces_the_chain(tmp_path, monkeypatch, chain, inversion):
    monkeypatch.chdir(tmp_path)
    r, scope, code = run_both(tmp_path, chain, inversion=inversion)
    assert scope["sample_rate"] == r.sample_rate
    torch.testing.assert_close(scope["waveform"], r.waveform, atol=1e-6, rtol=0)
    assert (tmp_path / "augmented.wav").is_file()
    assert code.count("waveform = fit(waveform)") == len(chain)


def test_the_snippet_loads_the_noise_and_impulse_response_clips(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    noise = (signals.white_noise(22_050, 3.0, channels=1), 22_050)
    h = torch.zeros(1, 4000)
    h[0, 50], h[0, 60:] = 0.9, 0.2 * torch.exp(-torch.arange(3940) / 400.0)
    chain = [{"op": "add_noise", "noise": "clip", "snr_db": 5}, {"op": "reverb", "rir": "clip"}]
    r, scope, code = run_both(tmp_path, chain, noise=noise, rir=(h, 8000))
    torch.testing.assert_close(scope["waveform"], r.waveform, atol=1e-6, rtol=0)
    assert "torchaudio.load('my_noise.wav')" in code and "torchaudio.load('my_rir.wav')" in code


def test_the_snippet_at_another_rate_resamples_like_the_app(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    chain = [{"op": "resample", "sample_rate": 16_000}, {"op": "speed", "factor": 1.07}, {"op": "reverb"}]
    r, scope, _ = run_both(tmp_path, chain, rate=22_050)
    assert r.sample_rate == scope["sample_rate"] == 16_000
    torch.testing.assert_close(scope["waveform"], r.waveform, atol=1e-6, rtol=0)
