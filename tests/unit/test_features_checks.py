"""Parameter checks before work, notes instead of warnings, result files, summaries and figures."""

from __future__ import annotations

import io
import time
import warnings

import numpy as np
import pytest
import torch

from audiolab.core import limits, render
from audiolab.core.errors import AudioLabError
from audiolab.features import compute as ft
from audiolab.features import figures as features_figures
from tests import signals

SR = 16_000


@pytest.fixture(scope="module")
def tone():
    return signals.chirp(200, 3000, SR, 1.0)


@pytest.mark.parametrize(
    ("feature", "params", "message"),
    [
        ("spectrogram", {"n_fft": 8}, "n_fft=8 is out of range"),
        ("spectrogram", {"n_fft": 100_000}, "n_fft=100000 is out of range"),
        ("spectrogram", {"n_fft": 1024, "hop_length": 64}, "hop_length (at least n_fft/8)=64"),
        ("spectrogram", {"n_fft": 512, "win_length": 600}, "win_length=600"),
        ("mel_spectrogram", {"n_fft": 256, "n_mels": 200}, "n_mels (at most n_fft // 2 + 1 = 129)=200"),
        ("mfcc", {"n_mels": 40, "n_mfcc": 41}, "n_mfcc (at most n_mels = 40)=41"),
        ("mfcc", {"n_mfcc": 0}, "n_mfcc (at most n_mels = 80)=0"),
        ("lfcc", {"n_filter": 20, "n_lfcc": 30}, "n_lfcc (at most n_filter = 20)=30"),
        ("mfcc", {"power": None}, "power=None (complex) works for the spectrogram only"),
        ("mel_spectrogram", {"f_min": 4000, "f_max": 3000}, "f_min=4000 Hz must be below f_max=3000 Hz"),
        ("mel_spectrogram", {"f_max": 9000}, "f_max (Hz)=9000 is out of range"),
        ("mel_spectrogram", {"mel_scale": "bark"}, "Invalid mel_scale: 'bark'"),
        ("spectrogram", {"pad_mode": "wrap"}, "Invalid pad_mode: 'wrap'"),
        ("spectrogram", {"n_ffts": 512}, "Unknown parameter(s) ['n_ffts'] for spectrogram"),
        ("spectrogram", {"center": "yes"}, "center must be true or false, got 'yes'"),
        ("deltas", {"delta_win_length": 2}, "delta win_length=2 is out of range"),
        ("deltas", {"base": "spectrogram", "power": None}, "power=None (complex) cannot be the base of deltas"),
        ("cmn", {"cmn_window": 0}, "cmn_window (frames)=0 is out of range"),
        ("pitch_detect", {"freq_low": 300, "freq_high": 400}, "freq_high=400 Hz must be above about 2 x freq_low"),
        (
            "pitch_nccf",
            {"min_f0": 100, "max_f0": 120},
            "max_f0 (Hz, at least 1.5 x min_f0, at most sample_rate / 4)=120 is out of range: allowed 150 to 2000",
        ),
        ("spectrogram", {"sample_rate": 12345}, "Invalid sample_rate: 12345"),
        ("chroma", {}, "Invalid feature: 'chroma'"),
    ],
)
def test_bad_parameters_are_refused_with_the_value_in_the_message(tone, feature, params, message):
    with pytest.raises(AudioLabError) as err:
        ft.compute(tone, SR, feature, params)
    assert message in str(err.value)


def test_a_spectrogram_too_big_is_refused_before_any_allocation():
    start = time.perf_counter()
    with pytest.raises(AudioLabError, match="would hold .* values"):
        ft.check_request("spectrogram", {"n_fft": 8192, "hop_length": 1024}, sample_rate=48_000, channels=8,
                         frames=48_000 * 600)  # fmt: skip
    assert time.perf_counter() - start < 0.05


def test_detect_pitch_work_is_bounded():
    with pytest.raises(AudioLabError, match="raise freq_low"):
        ft.check_request("pitch_detect", {"freq_low": 40}, sample_rate=192_000, channels=4, frames=192_000 * 60)


def test_audio_too_short_for_n_fft_or_loudness_is_refused():
    with pytest.raises(AudioLabError, match="n_fft=1024 needs at least 513"):
        ft.compute(torch.zeros(1, 400), SR, "spectrogram")
    with pytest.raises(AudioLabError, match="Loudness needs at least 0.4 s"):
        ft.compute(torch.zeros(1, 4000), SR, "loudness")


def test_string_values_from_forms_are_accepted(tone):
    params = {"n_fft": "512", "power": "1", "center": "false", "mel_norm": "none", "sample_rate": "8000"}
    result = ft.compute(tone, SR, "mel_spectrogram", params)
    assert result.params["n_fft"] == 512 and result.params["power"] == 1.0 and result.params["center"] is False
    assert result.params["mel_norm"] is None and result.sample_rate == 8000


def test_empty_mel_filters_give_a_note_and_no_warning(tone):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = ft.compute(tone, SR, "mfcc", {"n_fft": 256, "n_mels": 128, "n_mfcc": 13})
    assert any("filters are empty" in n for n in result.notes)


@pytest.mark.parametrize("feature", ft.FEATURES)
def test_default_parameters_compute_without_warnings(tone, feature):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = ft.compute(tone, SR, feature)
    assert result.notes == []
    assert set(result.params) == {"sample_rate", *ft.PARAMS[feature]}


def test_long_audio_is_cut_with_a_note(monkeypatch):
    monkeypatch.setattr(limits, "FEAT_MAX_DURATION_S", 0.5)
    result = ft.compute(signals.sine(seconds=1.0), SR, "mfcc")
    assert result.cut and result.source_frames == SR // 2 and result.waveform.shape[-1] == SR // 2
    assert any("first 0.5 s" in n for n in result.notes)


def test_npy_and_pt_files_hold_the_tensor_params_and_rate(tone):
    result = ft.compute(tone, SR, "mfcc", {"n_mfcc": 20})
    array = np.load(io.BytesIO(ft.to_npy(result)))
    np.testing.assert_array_equal(array, result.tensor.numpy())
    saved = torch.load(io.BytesIO(ft.to_pt(result)), weights_only=True)
    torch.testing.assert_close(saved["feature"], result.tensor, rtol=0, atol=0)
    assert saved["params"]["n_mfcc"] == 20 and saved["sample_rate"] == SR and saved["name"] == "mfcc"


def test_complex_spectrogram_is_saved_as_complex(tone):
    result = ft.compute(tone, SR, "spectrogram", {"power": None})
    assert np.load(io.BytesIO(ft.to_npy(result))).dtype == np.complex64


def test_summary_numbers_match_the_tensor(tone):
    result = ft.compute(tone, SR, "pitch_nccf")
    s = ft.summary(result)
    t = result.tensor
    finite = t[torch.isfinite(t)].double()
    assert s["shape"] == list(t.shape) and s["dims"] == ft.DIMS["pitch_nccf"]
    assert s["min"] == pytest.approx(float(finite.min())) and s["max"] == pytest.approx(float(finite.max()))
    assert s["mean"] == pytest.approx(float(finite.mean()))
    assert s["voiced_fraction"][0] == pytest.approx(float((~t[0, :, 1].isnan()).float().mean()), abs=1e-4)


@pytest.mark.parametrize("feature", ft.FEATURES)
def test_every_feature_has_a_figure_drawn_in_milliseconds(feature):
    x = torch.cat([signals.chirp(200, 3000, SR, 2.0), signals.sine(300, SR, 2.0)])
    result = ft.compute(x, SR, feature)
    features_figures.figure(result)  # warm the view transforms
    start = time.perf_counter()
    image = features_figures.figure(result)
    elapsed = time.perf_counter() - start
    assert image.dtype == np.uint8 and image.ndim == 3 and image.shape[1] == render.WIDTH
    assert elapsed < 0.5, f"{feature}: {elapsed:.3f} s"


def test_overlay_draws_the_line_at_the_value():
    maps = np.zeros((1, 10, 100), dtype=np.float32)
    extent = (0.0, 1.0, 0.0, 1000.0)
    image = features_figures.plots.heatmap_image(maps, extent=extent, title="t", ylabel="Hz", colorbar_label="dB")
    drawn = features_figures.overlay(image, extent, [(np.array([0.0, 1.0]), np.array([250.0, 250.0]))], "#00ff00")
    x0, y0, x1, y1 = features_figures._row_box(0)
    row = round(y1 - 0.25 * (y1 - y0))
    column = drawn[row - 2 : row + 3, (x0 + x1) // 2]
    assert any(tuple(px) == (0, 255, 0) for px in column)


def test_the_tab_sends_only_the_parameters_the_feature_reads():
    from components import features_tab as tab

    values = {k: ft.DEFAULTS[k] for k in ft.DEFAULTS} | {"sample_rate": "original", "base": "lfcc", "n_lfcc": 13}
    params = tab.ui_params("deltas", values)
    assert params["sample_rate"] is None and params["n_lfcc"] == 13 and "n_mfcc" not in params
    assert {"delta_win_length", "delta_mode", "delta_order", "n_filter"} <= set(params) and "cmn_window" not in params
    result = ft.compute(signals.sine(), SR, "deltas", params)
    assert result.tensor.shape[:3] == (1, 2, 13)
    assert tab.visible_keys("loudness", "mfcc") == {"sample_rate"}
    assert tab.parse_params('{"n_fft": 512}') == {"n_fft": 512} and tab.parse_params("") == {}
    with pytest.raises(AudioLabError, match="params must be a JSON object"):
        tab.parse_params("[1, 2]")
