"""The Griffin-Lim "Code" panel: executed on a real file, it gives the engine's results."""

from __future__ import annotations

import pytest
import torch

from audiolab.core import io as aio
from audiolab.core import limits
from audiolab.griffinlim import compute as R
from audiolab.griffinlim.snippets import griffinlim_snippet
from tests import signals


def run_both(path, **params):
    """The engine on the decoded file, and the snippet's variables after ``exec``."""
    decoded = aio.decode(path)
    run = R.reconstruct(decoded.waveform, decoded.sample_rate, **params)
    n = run.original.shape[-1]
    code = griffinlim_snippet(
        path.name, run.settings, input_samples=n, num_frames=-1 if n == decoded.waveform.shape[-1] else n
    )
    scope: dict = {}
    exec(code, scope)
    return run, scope, code


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"n_fft": 512, "win_length": 400, "hop_length": 100, "power": 1.0, "momentum": 0.5, "seed": 42, "n_iter": 8},
        {"source": "mel", "n_mels": 64, "rand_init": False, "n_iter": 8},
        {"length": 23_990, "n_iter": 4},
    ],
)
def test_the_snippet_reproduces_the_reconstruction_the_true_phase_and_the_metric(tmp_path, monkeypatch, params):
    x = torch.cat([signals.chirp(150, 5000, 16_000, 1.5), signals.sine(330, 16_000, 1.5, amp=0.3)])
    path = signals.write(tmp_path / "clip.wav", x, 16_000)
    monkeypatch.chdir(tmp_path)
    run, scope, code = run_both(path, **params)
    torch.testing.assert_close(scope["reconstruction"], run.griffin_lim, atol=1e-6, rtol=0)
    torch.testing.assert_close(scope["true_phase"], run.true_phase, atol=1e-6, rtol=0)
    if run.griffin_lim.shape[-1] == x.shape[-1]:
        expected = run.metrics["griffin_lim"]["spectral_convergence_db"]
        assert float(scope["sc_db"]) == pytest.approx(expected, abs=1e-3)
    assert (tmp_path / "griffin_lim.wav").is_file() and (tmp_path / "true_phase_inverse.wav").is_file()
    assert ("InverseMelScale" in code) == (params.get("source") == "mel")


def test_the_snippet_loads_only_the_part_that_was_reconstructed(tmp_path, monkeypatch):
    rate = 2_000
    x = signals.chirp(50, 900, rate, limits.GL_MAX_DURATION_S + 2)
    path = signals.write(tmp_path / "long.wav", x, rate)
    monkeypatch.chdir(tmp_path)
    run, scope, code = run_both(path, n_fft=256, n_iter=2)
    assert f"num_frames={int(limits.GL_MAX_DURATION_S * rate)}" in code
    torch.testing.assert_close(scope["reconstruction"], run.griffin_lim, atol=1e-6, rtol=0)
