"""The ``compare`` endpoint (Audio tab, "Compare with another clip"), called by name through gradio_client."""

from __future__ import annotations

import ast
import json
import math
import shutil

import numpy as np
import pytest
import torch
import torchaudio.transforms as T
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError

from tests import signals

SR = 16_000


@pytest.fixture(scope="module")
def zh_client(app_url):
    """A client whose requests ask for Chinese (``Accept-Language: zh-CN``)."""
    return Client(app_url, verbose=False, headers={"Accept-Language": "zh-CN,zh;q=0.9"})


def noisy_pair(tmp_path):
    """A quiet chirp and the chirp plus white noise at exactly 10 dB SNR, as float WAVs."""
    x = signals.chirp(200, 4000, SR, 2.0, amp=0.1)
    n = torch.randn(x.shape, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    n = n * torch.sqrt(x.double().square().sum() / n.square().sum() / 10)
    b = (x.double() + n).float()
    return x, b, signals.write(tmp_path / "a.wav", x, SR, "FLOAT"), signals.write(tmp_path / "b.wav", b, SR, "FLOAT")


def test_compare_returns_the_metrics_the_difference_spectrogram_and_code_that_reproduces_them(
    client, tmp_path, monkeypatch
):
    x, b, pa, pb = noisy_pair(tmp_path)
    metrics, npy, code = client.predict(handle_file(str(pa)), handle_file(str(pb)), "time", api_name="/compare")
    assert metrics["snr_db"] == pytest.approx(10.0, abs=1e-3)
    assert metrics["a"]["duration_s"] == metrics["b"]["duration_s"] == 2.0 and metrics["a"]["sample_rate"] == SR
    assert metrics["b_gain_db"] == 0.0 and metrics["match_loudness"] is False
    spec, to_db = T.Spectrogram(n_fft=1024, hop_length=256, power=2.0), T.AmplitudeToDB("power", top_db=None)
    expected = (to_db(spec(b)) - to_db(spec(x))).numpy()
    np.testing.assert_allclose(np.load(npy), expected, atol=1e-3, rtol=0)
    run = tmp_path / "run"
    run.mkdir()
    shutil.copy(pa, run / "a.wav")
    shutil.copy(pb, run / "b.wav")
    monkeypatch.chdir(run)
    scope: dict = {}
    exec(compile(code, "compare_code", "exec"), scope)
    assert scope["metrics"]["snr_db"] == pytest.approx(metrics["snr_db"], abs=1e-3)
    assert scope["metrics"]["lsd_db"] == pytest.approx(metrics["lsd_db"], abs=1e-3)


def test_identical_clips_give_a_zero_difference_and_finite_json(client, tmp_path):
    _, _, pa, _ = noisy_pair(tmp_path)
    metrics, npy, _ = client.predict(handle_file(str(pa)), handle_file(str(pa)), "time", False, api_name="/compare")
    assert not np.load(npy).any()
    assert metrics["snr_db"] == 300.0 and all(math.isfinite(metrics[k]) for k in ("si_sdr_db", "lsd_db"))
    json.dumps(metrics, allow_nan=False)


def test_match_loudness_reports_the_gain_applied_to_b(client, tmp_path):
    x = signals.chirp(200, 4000, SR, 2.0, amp=0.1)
    pa = signals.write(tmp_path / "quiet.wav", x, SR, "FLOAT")
    pb = signals.write(tmp_path / "loud.wav", x * 10 ** (6 / 20), SR, "FLOAT")
    metrics, _, code = client.predict(handle_file(str(pa)), handle_file(str(pb)), "time", True, api_name="/compare")
    assert metrics["loudness_difference_db"] == pytest.approx(6.0, abs=1e-3)
    assert metrics["b_gain_db"] == pytest.approx(-6.0, abs=1e-3)
    assert "gain_db = loudness_a - loudness_b" in code


def test_content_alignment_reports_the_duration_ratio(client, tmp_path):
    x = signals.chirp(200, 4000, SR, 2.0, amp=0.1)
    pa = signals.write(tmp_path / "a.wav", x, SR, "FLOAT")
    pb = signals.write(tmp_path / "short.wav", x[:, : int(1.6 * SR)], SR, "FLOAT")
    metrics, npy, _ = client.predict(handle_file(str(pa)), handle_file(str(pb)), "content", api_name="/compare")
    assert metrics["time_scale"] == pytest.approx(0.8) and metrics["snr_db"] is None
    assert np.load(npy).shape == (1, 513, 2 * SR // 256 + 1)


def test_a_hostile_file_name_stays_a_string_in_the_code(client, tmp_path):
    name = "a'); import os; os.remove('x'); (\"<b>.wav"
    x = signals.chirp(200, 4000, SR, 1.0, amp=0.1)
    pa = signals.write(tmp_path / name, x, SR, "FLOAT", fmt="WAV")
    _, _, code = client.predict(handle_file(str(pa)), handle_file(str(pa)), "time", api_name="/compare")
    calls = [n for n in ast.walk(ast.parse(code)) if isinstance(n, ast.Call)]
    loads = [c.args[0].value for c in calls if ast.unparse(c.func) == "torchaudio.load"]
    assert len(loads) == 2 and all("import os; os.remove('x')" in v for v in loads)  # text in a string literal
    assert not [c for c in calls if ast.unparse(c.func) == "os.remove"]


@pytest.mark.parametrize(
    ("case", "english", "chinese"),
    [
        ("channels", "channel", "声道"),
        ("one_sample", "too short", "太短"),
        ("no_b", "clip B", "音频 B"),
    ],
)
def test_bad_input_gets_a_clear_message_in_english_and_chinese(client, zh_client, tmp_path, case, english, chinese):
    mono = signals.write(tmp_path / "mono.wav", signals.sine(440, SR, 1.0, amp=0.1), SR)
    stereo = signals.write(tmp_path / "stereo.wav", signals.sine(440, SR, 1.0, amp=0.1, channels=2), SR)
    one = signals.write(tmp_path / "one.wav", torch.full((1, 1), 0.1), SR)
    args = {
        "channels": [handle_file(str(mono)), handle_file(str(stereo)), "time"],
        "one_sample": [handle_file(str(one)), handle_file(str(one)), "time"],
        "no_b": [handle_file(str(mono)), None, "time"],
    }[case]
    for who, words in ((client, english), (zh_client, chinese)):
        with pytest.raises(AppError, match=words):
            who.predict(*args, api_name="/compare")
