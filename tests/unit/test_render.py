"""The fast renderer draws the data it is given: pixel colours and envelopes checked."""

from __future__ import annotations

import matplotlib
import numpy as np
import pytest
import torch

from audiolab.core import plots, render
from tests import signals


def test_colorize_matches_matplotlibs_colormap():
    data = np.linspace(-80, 0, 256, dtype=np.float32)[None]
    got = render.colorize(data, -80.0, 0.0, "magma")[0]
    ref = (matplotlib.colormaps["magma"](np.linspace(0, 1, 256))[:, :3] * 255).round()
    np.testing.assert_allclose(got, ref, atol=1)


def test_heatmap_pixels_show_each_cell_in_its_place_with_low_frequencies_at_the_bottom():
    maps = np.array([[[0.0, 1.0], [2.0, 3.0]]], dtype=np.float32)  # (row, y, x); y=0 is the bottom
    img = plots.heatmap_image(maps, extent=(0, 2, 0, 2), title="t", ylabel="y", colorbar_label="c")
    x0, x1 = render.LEFT, render.WIDTH - render.RIGHT
    y0, y1 = render.TOP, render.TOP + render.ROW_HEIGHT
    lut = render.colormap_table("magma")
    cells = {(0, 0): 0, (0, 1): 1, (1, 0): 2, (1, 1): 3}
    for (yi, xi), value in cells.items():
        px = x0 + (2 * xi + 1) * (x1 - x0) // 4
        py = y1 - (2 * yi + 1) * (y1 - y0) // 4
        np.testing.assert_array_equal(img[py, px], lut[round(value / 3 * 255)])


def test_long_heatmaps_keep_their_peaks_when_reduced():
    maps = np.zeros((1, 4, 10_000), dtype=np.float32)
    maps[0, 2, 7_777] = 1.0
    img = plots.heatmap_image(maps, extent=(0, 10, 0, 4), title="t", ylabel="y", colorbar_label="c")
    bright = render.colormap_table("magma")[255]
    assert (img == bright).all(axis=-1).any()


def test_waveform_envelope_covers_the_signal_range_per_column():
    x = signals.sine(5, 1000, 1.0, amp=1.0)[0].numpy()
    mask = render._envelope_pixels(x, 101, 200)
    assert mask.any(axis=0).all()  # every column drawn
    assert mask[0].any() and mask[-1].any()  # reaches +1 (top) and -1 (bottom)
    quiet = render._envelope_pixels(np.zeros(1000, dtype=np.float32), 101, 200)
    assert quiet[50].all() and quiet.sum() == 200  # silence is the middle line only


@pytest.mark.parametrize("channels", [1, 2, 12])
def test_plots_draw_one_row_per_channel_up_to_the_limit(channels):
    x = torch.zeros(channels, 1600)
    img = plots.waveform_image(x, 16_000)
    rows = min(channels, 8)
    assert img.shape[0] == render.TOP + rows * 120 + (rows - 1) * render.GAP + render.BOTTOM
