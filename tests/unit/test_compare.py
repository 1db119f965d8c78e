"""The Compare engine against formulas and torchaudio on signals with known answers; its snippet run."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
import torchaudio.functional as F
import torchaudio.transforms as T

from audiolab.compare import compute as C
from audiolab.compare import snippets
from audiolab.core import metrics
from audiolab.core.errors import AudioLabError
from tests import signals

SR = 16_000


def quiet_chirp(seconds: float = 2.0) -> torch.Tensor:
    """A chirp at amplitude 0.1: torchaudio's K-weighting filters clamp to [-1, 1], so loudness needs headroom."""
    return signals.chirp(200, 4000, SR, seconds, amp=0.1)


def noise_at_snr(x: torch.Tensor, snr_db: float, seed: int = 0) -> torch.Tensor:
    """White noise scaled so that ``sum x^2 / sum n^2`` is exactly ``10 ** (snr_db / 10)``."""
    n = torch.randn(x.shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    n = n * torch.sqrt(x.double().square().sum() / n.square().sum() / 10 ** (snr_db / 10))
    return n


def test_white_noise_at_exactly_10_db_gives_an_snr_of_10_db(device):
    x = quiet_chirp()
    b = (x.double() + noise_at_snr(x, 10.0)).float()
    c = C.compare(x, SR, b, SR)
    expected = 10 * math.log10(float(x.double().square().sum() / (b.double() - x.double()).square().sum()))
    assert c.metrics["snr_db"] == pytest.approx(10.0, abs=1e-3)
    assert c.metrics["snr_db"] == pytest.approx(expected, abs=1e-4)
    a = float((b.double() @ x.double()[0]) / (x.double()[0] @ x.double()[0]))
    target = a * x.double()
    si_sdr = 10 * math.log10(float(target.square().sum() / (b.double() - target).square().sum()))
    assert c.metrics["si_sdr_db"] == pytest.approx(si_sdr, abs=1e-3)


def test_a_6_db_gain_shows_as_6_db_of_loudness_and_matching_takes_it_back():
    x = quiet_chirp()
    louder = x * 10 ** (6 / 20)
    c = C.compare(x, SR, louder, SR)
    assert c.metrics["a"]["loudness_lufs"] == pytest.approx(float(F.loudness(x, SR)), abs=1e-3)
    assert c.metrics["b"]["loudness_lufs"] == pytest.approx(float(F.loudness(louder, SR)), abs=1e-3)
    assert c.metrics["loudness_difference_db"] == pytest.approx(6.0, abs=1e-3)
    assert c.metrics["b_gain_db"] == 0.0
    # SNR of a pure gain g: 1 / (g - 1)^2
    assert c.metrics["snr_db"] == pytest.approx(-20 * math.log10(10 ** (6 / 20) - 1), abs=1e-3)
    matched = C.compare(x, SR, louder, SR, match_loudness=True)
    assert matched.metrics["b_gain_db"] == pytest.approx(-6.0, abs=1e-3)
    assert matched.metrics["snr_db"] > 60  # B scaled back onto A
    assert np.median(np.abs(matched.difference_db.numpy())) < 1e-3 and matched.metrics["lsd_db"] < 0.05


def test_identical_inputs_give_an_all_zero_difference_and_a_capped_snr_that_is_valid_json():
    x = torch.cat([quiet_chirp(), signals.white_noise(SR, 2.0, amp=0.1)])
    c = C.compare(x, SR, x.clone(), SR)
    assert c.difference_db.shape == (2, 513, 2 * SR // 256 + 1)
    assert torch.count_nonzero(c.difference_db) == 0
    text = json.dumps(c.report(), allow_nan=False)  # no Infinity/NaN in the JSON
    report = json.loads(text)
    assert report["snr_db"] == report["si_sdr_db"] == metrics.DB_CAP
    assert report["lsd_db"] == 0.0 and report["difference_db"]["max_abs"] == 0.0
    assert any("infinite" in n for n in report["notes"])


def test_difference_is_b_minus_a_in_db_on_one_stft_grid():
    x, y = quiet_chirp(), signals.white_noise(SR, 2.0, amp=0.05)
    c = C.compare(x, SR, y, SR)
    spec, to_db = T.Spectrogram(n_fft=1024, hop_length=256, power=2.0), T.AmplitudeToDB("power", top_db=None)
    torch.testing.assert_close(c.difference_db, to_db(spec(y)) - to_db(spec(x)), atol=1e-3, rtol=0)
    lsd = metrics.log_spectral_distance_db(spec(x).sqrt(), spec(y).sqrt())  # the shared formula, from |STFT|
    assert c.metrics["lsd_db"] == pytest.approx(lsd, abs=1e-3)
    layer = C.difference_layer(c)
    assert layer.seconds_per_column == 256 / SR and layer.hz_per_row == SR / 1024
    assert layer.times_s()[-1] == pytest.approx((layer.values_db.shape[-1] - 1) * 256 / SR)
    assert layer.freqs_hz()[-1] == SR / 2
    assert layer.limit_db == pytest.approx(float(np.percentile(np.abs(layer.values_db), 99)), rel=1e-4)
    assert np.array_equal(np.load(__import__("io").BytesIO(C.to_npy(c))), layer.values_db)


def test_content_alignment_of_a_125x_time_stretch_reports_08():
    x = quiet_chirp()
    spec = T.Spectrogram(n_fft=512, hop_length=128, power=None)(x)
    stretched = T.InverseSpectrogram(n_fft=512, hop_length=128)(T.TimeStretch(hop_length=128, n_freq=257)(spec, 1.25))
    c = C.compare(x, SR, stretched, SR, align="content")
    assert c.metrics["time_scale"] == pytest.approx(stretched.shape[-1] / x.shape[-1]) and c.time_scale == 0.8
    assert c.metrics["snr_db"] is None and c.metrics["si_sdr_db"] is None
    assert c.difference_db.shape[-1] == x.shape[-1] // 256 + 1  # on A's frames
    by_time = C.compare(x, SR, stretched, SR, align="time")
    assert c.metrics["lsd_db"] < by_time.metrics["lsd_db"] - 3  # the chirp lines up again
    assert any("overlap" in n for n in by_time.report()["notes"])


def test_b_at_another_rate_is_resampled_to_as_rate():
    x = signals.sine(440, SR, 1.0, amp=0.1)
    b = signals.sine(440, 22_050, 1.0, amp=0.1)
    c = C.compare(x, SR, b, 22_050)
    assert c.metrics["b"]["sample_rate"] == 22_050 and c.metrics["compared"]["sample_rate"] == SR
    assert c.metrics["snr_db"] > 40
    assert any("resampled" in n for n in c.report()["notes"])


@pytest.mark.parametrize(
    ("a", "b", "words", "zh"),
    [
        (torch.zeros(1, 0), torch.zeros(1, SR), "empty", "为空"),
        (torch.zeros(1, SR), torch.zeros(2, SR), "channel", "声道"),
        (torch.zeros(1, 1), torch.zeros(1, 1), "too short", "太短"),
    ],
    ids=["empty", "channels", "one-sample"],
)
def test_bad_input_gets_a_clear_message_in_both_languages(a, b, words, zh):
    with pytest.raises(AudioLabError, match=words) as err:
        C.compare(a, SR, b, SR)
    assert zh in err.value.text("zh-CN")


def test_an_unknown_align_lists_the_choices():
    with pytest.raises(AudioLabError, match="time, content") as err:
        C.compare(quiet_chirp(), SR, quiet_chirp(), SR, align="<script>")
    assert err.value.zh


@pytest.mark.parametrize(("align", "match"), [("time", False), ("time", True), ("content", False)])
def test_the_snippet_reproduces_the_figures(tmp_path, monkeypatch, align, match):
    x = quiet_chirp()
    b = (x.double() * 0.5 + noise_at_snr(x, 20.0)).float()[:, :28_000]
    pa = signals.write(tmp_path / "a.wav", x, SR, subtype="FLOAT")
    pb = signals.write(tmp_path / "b.wav", b, 22_050 if align == "content" else SR, subtype="FLOAT")
    from audiolab.core import io as aio

    da, db = aio.decode(pa), aio.decode(pb)
    c = C.compare(da.waveform, da.sample_rate, db.waveform, db.sample_rate, align=align, match_loudness=match)
    code = snippets.compare_snippet("a.wav", "b.wav", c)
    monkeypatch.chdir(tmp_path)
    scope: dict = {}
    exec(compile(code, "compare_snippet", "exec"), scope)
    got = scope["metrics"]
    assert got["loudness_a"] == pytest.approx(c.metrics["a"]["loudness_lufs"], abs=1e-3)
    assert got["b_gain_db"] == pytest.approx(c.metrics["b_gain_db"], abs=1e-3)
    for key in ("snr_db", "si_sdr_db", "lsd_db"):
        if c.metrics[key] is None:
            assert got[key] is None
        else:
            assert got[key] == pytest.approx(c.metrics[key], abs=2e-3), key
    torch.testing.assert_close(scope["difference_db"], c.difference_db, atol=2e-3, rtol=0)
