"""Issue #19, point 6: the downloadable figures people could not read."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

from audiolab.core import plots, render
from audiolab.features import compute as ft
from audiolab.features import figures as feature_figures
from audiolab.griffinlim import compute as griffinlim
from audiolab.wav2vec2 import figures as w2v_figures
from audiolab.wav2vec2.compute import LayerFeatures, Span
from tests import signals


def test_griffinlim_comparison_stacks_two_full_width_spectrograms():
    mag = torch.rand(257, 120) + 0.01
    image = griffinlim.comparison_image(mag, mag * 0.5, sample_rate=16_000, duration_s=1.0)
    one = plots.heatmap_image(mag.log10().numpy(), extent=(0.0, 1.0, 0.0, 8000.0), title="x", ylabel="y",
                              colorbar_label="z")  # fmt: skip
    assert image.shape == (2 * one.shape[0], one.shape[1], 3)
    assert image.shape[1] == render.WIDTH


def test_layer_summary_ticks_are_whole_layers(monkeypatch):
    figures = []
    monkeypatch.setattr(plots, "figure_to_rgb", lambda fig: figures.append(fig) or np.zeros((1, 1, 3)))
    layers = 3
    lf = LayerFeatures(layer=2, features=torch.zeros(5, 4), similarity=torch.eye(layers), rms=torch.arange(1.0, 4.0),
                       seconds_per_frame=0.02, duration_s=0.1, model="tiny")  # fmt: skip
    w2v_figures.layer_summary_image(lf)
    (fig,) = figures
    heatmap, _colorbar, energy = fig.axes
    for ticks in (heatmap.get_xticks(), heatmap.get_yticks(), energy.get_xticks()):
        shown = [t for t in ticks if 0.5 <= t <= layers + 0.5]
        assert shown and all(float(t).is_integer() for t in shown), ticks
    top = max(ax.get_position().y1 for ax in fig.axes)
    assert top <= 0.86  # the titles have room above the axes


def test_emission_token_labels_never_overlap():
    spans = [Span(c, i, i + 1, i * 0.02, i * 0.02 + 0.02) for i, c in enumerate("THE|HEAT|IS|ON")]
    shown = w2v_figures.spaced_labels(spans, 0.0, 0.3, slots=20)  # 0.015 s per character
    char_s = 0.3 / 20
    assert shown[0] is spans[0] and len(shown) < len(spans)
    for a, b in itertools.pairwise(shown):
        ca, cb = (a.start_s + a.end_s) / 2, (b.start_s + b.end_s) / 2
        assert cb - ca >= (len(a.text) + 1 + len(b.text) + 1) * char_s / 2 - 1e-12
    roomy = w2v_figures.spaced_labels(spans, 0.0, 0.3, slots=1000)
    assert roomy == spans  # with room, every token is labelled


def test_pitch_axis_fits_speech_f0_despite_spurious_values():
    f0 = torch.full((1, 200), 200.0)
    f0[0, ::20] = 3400.0  # spurious freq_high values
    assert feature_figures.pitch_axis_top(f0, 16_000) == pytest.approx(3 * 200.0)
    assert feature_figures.pitch_axis_top(torch.full((1, 10), 2000.0), 8_000) == 4000.0  # Nyquist at most


def test_loudness_axis_label_says_lkfs_and_fits_the_axis(monkeypatch):
    seen = {}
    monkeypatch.setattr(feature_figures, "line_chart", lambda *a, **kw: seen.update(kw) or np.zeros((1, 1, 3)))
    x = signals.white_noise(16_000, 2.0, amp=0.2)
    feature_figures.figure(ft.compute(x, 16_000, "loudness", {}))
    assert "LKFS" in seen["ylabel"] and "LUFS" not in seen["ylabel"] and "LKFS" in seen["title"]
    assert render._font(11).getlength(seen["ylabel"]) < feature_figures.LINE_ROW_HEIGHT


def test_figure_words_follow_the_language_and_stay_english_by_default():
    from audiolab.core import labels

    assert labels.label("Time (s)") == "Time (s)"
    with labels.use_language("zh-CN"):
        assert labels.label("Time (s)") == "时间（秒）"
        assert labels.label("Before: 1.00 s at 16000 Hz") == "处理前: 1.00 s at 16000 Hz"
        assert labels.label("ch 0 amplitude") == "ch 0 幅度"
    assert labels.label("Frequency (Hz)") == "Frequency (Hz)"


def test_chinese_figures_draw_real_glyphs_and_translated_titles():
    from audiolab.core import labels

    maps = np.zeros((1, 8, 8), dtype=np.float32)
    kwargs = {"extent": (0.0, 1.0, 0.0, 8000.0), "title": "Spectrogram", "ylabel": "Frequency (Hz)",
              "colorbar_label": "Power (dB)", "vmin": -1.0, "vmax": 1.0}  # fmt: skip
    english = render.heatmap(maps, **kwargs)
    with labels.use_language("zh"):
        chinese = render.heatmap(maps, **kwargs)
        font = render._font(13)
        glyphs = [np.asarray(font.getmask(ch)) for ch in "时间"]
    assert labels.cjk_font_file() is not None  # fonts-noto-cjk (packages.txt)
    assert english.shape == chinese.shape and not np.array_equal(english[:26], chinese[:26])  # the title row
    assert glyphs[0].shape != glyphs[1].shape or not np.array_equal(glyphs[0], glyphs[1])  # not two tofu boxes


def test_matplotlib_figures_are_translated_with_a_cjk_font():
    from matplotlib.figure import Figure

    from audiolab.core import labels

    fig = Figure(figsize=(3, 2))
    ax = fig.add_subplot()
    ax.set_xlabel("Epoch")
    ax.set_ylabel("Accuracy")
    with labels.use_language("zh-CN"):
        plots.figure_to_rgb(fig)
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("轮次", "准确率")
    assert "Noto Sans CJK SC" in ax.xaxis.label.get_fontfamily()


def test_a_handler_draws_in_the_browsers_language():
    from types import SimpleNamespace

    from gradio.context import LocalContext

    from audiolab.core import labels
    from components.common import user_errors

    @user_errors
    def handler():
        return labels.label("Time (s)")

    LocalContext.request.set(SimpleNamespace(headers={"accept-language": "zh-CN,zh;q=0.9"}, session_hash="s"))
    try:
        assert handler() == "时间（秒）"
    finally:
        LocalContext.request.set(None)
    assert handler() == "Time (s)"
