"""Issue #19, point 9: every figure says what it shows (alt text) and gives its data as a table (CSV)."""

from __future__ import annotations

import csv
import io
import re
import shutil

import numpy as np
import pytest
import torch

from audiolab.core import figdata, labels, plots
from tests import signals

CJK = re.compile(r"[\u4e00-\u9fff]")


def table(image) -> list[list[str]]:
    """The CSV of a figure, parsed."""
    return list(csv.reader(io.StringIO(figdata.table_csv(figdata.panels_of(image)))))


def assert_described(image, rows_at_least: int = 2) -> list[list[str]]:
    """``image`` carries panels, a description naming numbers, and a table with a header and rows."""
    panels = figdata.panels_of(image)
    assert panels, "the figure carries no data"
    assert re.search(r"\d", figdata.describe(panels))
    rows = table(image)
    assert len(rows) >= rows_at_least + 1 and all(len(r) == len(rows[0]) for r in rows)
    return rows


def stereo(seconds: float = 1.0, rate: int = 16_000) -> torch.Tensor:
    return torch.cat([signals.sine(440, rate, seconds, amp=0.5), signals.chirp(100, 4000, rate, seconds, amp=0.25)])


def test_a_waveform_table_holds_each_channels_lowest_and_highest_sample():
    x = stereo()
    rows = assert_described(plots.waveform_image(x, 16_000))
    assert rows[0] == ["Panel", "Time (s)", "Amplitude: Minimum", "Amplitude: Maximum"]
    for channel, name in enumerate(sorted({r[0] for r in rows[1:]})):
        lows = [float(r[2]) for r in rows[1:] if r[0] == name]
        highs = [float(r[3]) for r in rows[1:] if r[0] == name]
        assert min(lows) == pytest.approx(float(x[channel].min()), abs=1e-3)
        assert max(highs) == pytest.approx(float(x[channel].max()), abs=1e-3)
    times = [float(r[1]) for r in rows[1:]]
    assert min(times) > 0 and max(times) < 1.0


def test_a_spectrogram_is_described_with_its_axes_and_tabled_on_a_coarse_grid():
    image = plots.spectrogram_image(stereo(), 16_000)
    text = figdata.describe(figdata.panels_of(image))
    assert "Time (s) 0 to 1" in text and "Frequency (Hz) 0 to 8000" in text and "Power (dB)" in text
    rows = assert_described(image)
    assert rows[0] == ["Panel", "Time (s)", "Frequency (Hz)", "Power (dB)"]
    assert len(rows) - 1 <= 2 * figdata.GRID_X * figdata.GRID_Y
    loudest = max(rows[1:], key=lambda r: float(r[3]))
    assert loudest[0].endswith("ch 0") and abs(float(loudest[2]) - 440) < 8000 / figdata.GRID_Y  # the 440 Hz tone


def test_a_grid_table_is_the_block_mean_at_cell_centres():
    values = np.arange(8.0).reshape(2, 4)  # rows from the bottom
    panel = figdata.grid("t", "x", "y", "v", values, extent=(0.0, 4.0, 0.0, 2.0))
    assert panel.columns[0].tolist() == [0.5, 1.5, 2.5, 3.5] * 2 and panel.columns[1].tolist() == [0.5] * 4 + [1.5] * 4
    wide = figdata.grid("t", "x", "y", "v", np.tile(np.arange(400.0), (2, 1)), extent=(0.0, 1.0, 0.0, 1.0))
    assert wide.rows == 2 * figdata.GRID_X and wide.columns[2][0] == pytest.approx(1.5)  # mean of 0..3


def test_figures_are_described_in_chinese_for_a_chinese_page():
    with labels.use_language("zh"):
        image = plots.spectrogram_image(stereo(), 16_000)
        text = figdata.describe(figdata.panels_of(image))
        header = table(image)[0]
    assert CJK.search(text) and "频率（Hz）" in text
    assert header == ["面板", "时间（秒）", "频率（Hz）", "功率（dB）"]


def test_stacked_and_drawn_on_figures_keep_every_panel():
    from audiolab.features import compute as ft
    from audiolab.features import figures

    result = ft.compute(signals.sine(220, 16_000, 1.0), 16_000, "spectral_centroid", {})
    image = figures.figure(result)
    kinds = [p.names for p in figdata.panels_of(image)]
    assert ("Time (s)", "Frequency (Hz)", "Power (dB)") in kinds and ("Time (s)", "Frequency (Hz)") in kinds
    centroid = next(p for p in figdata.panels_of(image) if p.names == ("Time (s)", "Frequency (Hz)"))
    assert centroid.title == "Spectral centroid"
    both = figdata.stack(plots.waveform_image(stereo(), 16_000), image)
    assert len(figdata.panels_of(both)) == 2 + len(kinds)


@pytest.mark.parametrize("feature", __import__("audiolab.features.compute", fromlist=["FEATURES"]).FEATURES)
def test_every_feature_figure_carries_its_data(feature):
    from audiolab.features import compute as ft
    from audiolab.features import figures

    result = ft.compute(signals.chirp(100, 3000, 16_000, 1.0), 16_000, feature, {})
    assert_described(figures.figure(result))


def test_griffinlim_figures_carry_their_data():
    from audiolab.griffinlim import compute as gl

    assert_described(gl.convergence_image([-3.0, -6.0, -8.5, -9.0]), rows_at_least=4)
    mag = torch.rand(65, 20) + 0.01
    rows = assert_described(gl.comparison_image(mag, mag * 0.5, sample_rate=8_000, duration_s=1.0))
    assert {r[0] for r in rows[1:]} == {"Original", "Griffin-Lim reconstruction"}


def test_wav2vec2_figures_carry_tokens_words_and_layers():
    from audiolab.wav2vec2 import compute as w2v
    from audiolab.wav2vec2 import figures as w2v_figures

    lp = torch.randn(50, 5, generator=torch.Generator().manual_seed(0)).log_softmax(-1)
    em = w2v.Emissions(lp, ("<pad>", "|", "A", "B", "C"), 0, "|", 0.02, 1.0, "test")
    spans = w2v.greedy_spans(em)
    rows = assert_described(w2v_figures.emission_image(em, spans, w2v.transcript(spans, "|")))
    assert {r[1] for r in rows[1:]} == {"<pad>", "|", "A", "B", "C"}  # tokens by name, not row numbers
    words = [w2v.Span("HELLO", 0, 25, 0.0, 0.5, 0.9), w2v.Span("WORLD", 25, 50, 0.5, 1.0, 0.8)]
    image, _ = w2v_figures.alignment_image(signals.sine(seconds=1.0), 16_000, words)
    assert table(image) == [["Word", "Start (s)", "End (s)", "Score"], ["HELLO", "0", "0.5", "0.9"],
                            ["WORLD", "0.5", "1", "0.8"]]  # fmt: skip
    layers = w2v.LayerFeatures(2, torch.rand(50, 8), torch.eye(3), torch.tensor([1.0, 2.0, 3.0]), 0.02, 1.0, "m")
    assert_described(w2v_figures.layer_image(layers))
    summary = assert_described(w2v_figures.layer_summary_image(layers))
    assert any(r[-1] == "3" for r in summary[1:])  # the RMS of layer 3


def test_train_figures_carry_the_curves_and_the_confusion_counts():
    from audiolab.train import compute as train

    result = train.TrainResult(["yes", "no"], train.TrainConfig(epochs=3), "cpu", [1, 2, 3], [0.9, 0.5, 0.2],
                               [0.5, 0.75, 1.0], [0.5, 0.5, 1.0])  # fmt: skip
    assert_described(train.curve_image(result), rows_at_least=3)
    rows = table(train.confusion_image(torch.tensor([[3, 1], [0, 4]]), ["yes", "no"]))
    assert rows[0] == ["Predicted label", "True label", "Count"]
    assert ["no", "yes", "1"] in rows and ["yes", "no", "0"] in rows and ["no", "no", "4"] in rows


def test_the_librosa_comparison_figure_carries_both_results_and_the_difference():
    pytest.importorskip("librosa")
    from audiolab.features import compute as ft
    from audiolab.features import librosa_bridge

    comparison = librosa_bridge.compare(ft.compute(signals.sine(330, 16_000, 0.5), 16_000, "mfcc", {}))
    rows = assert_described(librosa_bridge.figure(comparison))
    assert len({r[0] for r in rows[1:]}) == 3


def test_an_image_file_gets_its_table_and_alt_text_wherever_gradio_copies_it(tmp_path):
    from components import common

    path = common.image_file(plots.waveform_image(stereo(), 16_000), "waveform.png")
    copy = tmp_path / "gradio-cache" / "waveform.png"  # Gradio serves a copy from its cache
    copy.parent.mkdir()
    shutil.copy(path, copy)
    image, button = common.figure_data(str(copy))
    assert (
        image["alt_text"].startswith("Waveform — ch 0 amplitude: Amplitude")
        and "Figure data (CSV)" in image["alt_text"]
    )
    assert button["visible"] and button["value"].endswith("waveform.csv")
    with open(button["value"], encoding="utf-8-sig") as f:
        assert next(csv.reader(f)) == ["Panel", "Time (s)", "Amplitude: Minimum", "Amplitude: Maximum"]
    empty_image, empty_button = common.figure_data(None)
    assert empty_image["alt_text"] is None and empty_button["visible"] is False


def test_a_chinese_page_gets_the_chinese_alt_text_and_table_of_a_figure(tmp_path):
    from types import SimpleNamespace

    from gradio.context import LocalContext

    from components import common

    LocalContext.request.set(SimpleNamespace(headers={"accept-language": "zh-CN,zh;q=0.9"}, session_hash="s"))
    try:
        with labels.use_language("zh"):  # as common.user_errors sets it around a handler
            path = common.image_file(plots.spectrogram_image(stereo(), 16_000), "spectrogram.png")
        image, button = common.figure_data(path)
    finally:
        LocalContext.request.set(None)
    assert image["alt_text"].startswith("频谱图 — ch 0：功率（dB）") and image["alt_text"].endswith("按钮。")
    with open(button["value"], encoding="utf-8-sig") as f:
        assert next(csv.reader(f)) == ["面板", "时间（秒）", "频率（Hz）", "功率（dB）"]


def test_every_figure_in_the_app_is_a_described_figure():
    import gradio as gr

    import app

    images = [b for b in app.demo.blocks.values() if isinstance(b, gr.Image)]
    buttons = {b.elem_id for b in app.demo.blocks.values() if isinstance(b, gr.DownloadButton)}
    assert images and not [i.elem_id for i in images if f"{i.elem_id}-data" not in buttons]
