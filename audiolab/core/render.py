"""Fast heatmap rendering: a colormap lookup into a numpy image plus axes drawn with PIL.

A matplotlib figure costs 70-130 ms to draw; this costs a few milliseconds for the same
readable result (title, axis labels with units, ticks, colorbar), so views stay fast.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from audiolab.core import figdata, labels

WIDTH = 1000  # pixels of the whole image
ROW_HEIGHT = 200  # pixels of one heatmap row
LEFT, RIGHT, TOP, BOTTOM, GAP = 78, 92, 30, 44, 14
BAR_WIDTH = 16


def _font(size: int) -> ImageFont.FreeTypeFont:
    """DejaVu Sans, or a CJK font (which has Latin letters too) while figures are drawn in Chinese."""
    return _font_file(size, labels.chinese() and labels.cjk_font_file() is not None)


@lru_cache(maxsize=8)
def _font_file(size: int, cjk: bool) -> ImageFont.FreeTypeFont:
    if cjk:
        return ImageFont.truetype(labels.cjk_font_file(), size, index=2)  # the .ttc's Simplified Chinese face
    import matplotlib

    path = Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf"
    return ImageFont.truetype(str(path), size)


def pool_rows(values: np.ndarray, rows: int) -> np.ndarray:
    """Max over groups of adjacent rows (axis -2) so at most ``rows`` remain; group ``i`` is rows
    ``floor(i n / rows)`` up to ``floor((i + 1) n / rows)``."""
    n = values.shape[-2]
    if n <= rows:
        return values
    starts = np.floor(np.arange(rows) * n / rows).astype(np.int64)
    return np.maximum.reduceat(values, starts, axis=-2)


@lru_cache(maxsize=16)
def colormap_table(name: str) -> np.ndarray:
    """``(256, 3)`` uint8 RGB lookup table of a matplotlib colormap."""
    import matplotlib

    cmap = matplotlib.colormaps[name]
    return (cmap(np.linspace(0, 1, 256))[:, :3] * 255).round().astype(np.uint8)


def colorize(data: np.ndarray, vmin: float, vmax: float, cmap: str) -> np.ndarray:
    """Map a 2-D array to RGB through ``cmap`` (non-finite values drawn as vmin)."""
    scale = 255.0 / (vmax - vmin) if vmax > vmin else 0.0
    idx = np.nan_to_num((data - vmin) * scale, nan=0.0, posinf=255.0, neginf=0.0)
    return colormap_table(cmap)[np.clip(np.rint(idx), 0, 255).astype(np.uint8)]


def _resize_nearest(rgb: np.ndarray, height: int, width: int) -> np.ndarray:
    rows = (np.arange(height) * rgb.shape[0] // height)[::-1]  # origin at the bottom
    cols = np.arange(width) * rgb.shape[1] // width
    return rgb[rows[:, None], cols[None, :]]


def _fmt(v: float) -> str:
    return f"{v:g}" if abs(v) < 1e5 else f"{v:.3g}"


def _ticks(lo: float, hi: float, n: int = 7) -> list[float]:
    from matplotlib.ticker import MaxNLocator

    return [v for v in MaxNLocator(n).tick_values(lo, hi) if lo - 1e-9 <= v <= hi + 1e-9]


def _vertical_text(img: Image.Image, text: str, x: int, y_center: int, font) -> None:
    w, h = int(font.getlength(text)) + 2, font.size + 4
    label = Image.new("RGB", (w, h), "white")
    ImageDraw.Draw(label).text((1, 1), text, fill="black", font=font)
    rotated = label.rotate(90, expand=True)
    img.paste(rotated, (x, y_center - rotated.height // 2))


def _axis_y(draw, box, lo, hi, font) -> None:
    x0, y0, _x1, y1 = box
    for v in _ticks(lo, hi, 5):
        y = y1 - (v - lo) / (hi - lo) * (y1 - y0) if hi > lo else y1
        draw.line([(x0 - 4, y), (x0, y)], fill="black")
        text = _fmt(v)
        draw.text((x0 - 6 - font.getlength(text), y - font.size / 2 - 1), text, fill="black", font=font)


def _axis_x(draw, box, lo, hi, font) -> None:
    x0, _y0, x1, y1 = box
    for v in _ticks(lo, hi, 10):
        x = x0 + (v - lo) / (hi - lo) * (x1 - x0) if hi > lo else x0
        draw.line([(x, y1), (x, y1 + 4)], fill="black")
        text = _fmt(v)
        draw.text((x - font.getlength(text) / 2, y1 + 5), text, fill="black", font=font)


def heatmap(
    maps: np.ndarray,
    *,
    extent: tuple[float, float, float, float],
    title: str,
    ylabel: str,
    colorbar_label: str,
    xlabel: str = "Time (s)",
    row_labels: list[str] | None = None,
    vmin: float,
    vmax: float,
    cmap: str = "magma",
) -> np.ndarray:
    """Draw ``(rows, y, x)`` heatmaps stacked vertically with shared x axis and colorbar.

    ``extent`` is ``(x0, x1, y0, y1)`` in axis units. Returns ``(height, width, 3)`` uint8.
    """
    title, ylabel, xlabel, colorbar_label = (labels.label(s) for s in (title, ylabel, xlabel, colorbar_label))
    row_labels = [labels.label(s) for s in row_labels] if row_labels else row_labels
    rows = maps.shape[0]
    height = TOP + rows * ROW_HEIGHT + (rows - 1) * GAP + BOTTOM
    img = Image.new("RGB", (WIDTH, height), "white")
    draw = ImageDraw.Draw(img)
    small, normal = _font(11), _font(13)
    x0, x1 = LEFT, WIDTH - RIGHT
    for r in range(rows):
        y0 = TOP + r * (ROW_HEIGHT + GAP)
        y1 = y0 + ROW_HEIGHT
        img.paste(Image.fromarray(_resize_nearest(colorize(maps[r], vmin, vmax, cmap), y1 - y0, x1 - x0)), (x0, y0))
        draw.rectangle([x0 - 1, y0 - 1, x1, y1], outline="black")
        _axis_y(draw, (x0, y0, x1, y1), extent[2], extent[3], small)
        label = ylabel if not row_labels else f"{row_labels[r]}: {ylabel}"
        _vertical_text(img, label, 2, (y0 + y1) // 2, small)
    _axis_x(draw, (x0, TOP, x1, height - BOTTOM), extent[0], extent[1], small)
    draw.text(((x0 + x1 - normal.getlength(xlabel)) / 2, height - 20), xlabel, fill="black", font=normal)
    draw.text(((WIDTH - normal.getlength(title)) / 2, 7), title, fill="black", font=normal)
    _colorbar(img, draw, (x1 + 10, TOP, x1 + 10 + BAR_WIDTH, height - BOTTOM), vmin, vmax, cmap, colorbar_label)
    names = [f"{title} — {row}" for row in row_labels] if row_labels else [title] * rows
    panels = [
        figdata.grid(n, xlabel, ylabel, colorbar_label, m, extent=extent) for n, m in zip(names, maps, strict=True)
    ]
    return figdata.attach(np.asarray(img), panels)


def _colorbar(img, draw, box, vmin, vmax, cmap, label) -> None:
    bx0, by0, bx1, by1 = box
    ramp = np.linspace(vmax, vmin, by1 - by0)[:, None].repeat(bx1 - bx0, axis=1)
    img.paste(Image.fromarray(colorize(ramp, vmin, vmax, cmap)), (bx0, by0))
    draw.rectangle([bx0 - 1, by0 - 1, bx1, by1], outline="black")
    small = _font(11)
    for v in _ticks(vmin, vmax, 6):
        y = by1 - (v - vmin) / (vmax - vmin) * (by1 - by0) if vmax > vmin else by1
        draw.line([(bx1, y), (bx1 + 3, y)], fill="black")
        draw.text((bx1 + 5, y - 7), _fmt(v), fill="black", font=small)
    _vertical_text(img, label, WIDTH - 18, (by0 + by1) // 2, small)


def _envelope_pixels(signal: np.ndarray, height: int, width: int) -> np.ndarray:
    """``(height, width)`` boolean mask of a signal's min/max envelope in [-1, 1]."""
    edges = np.linspace(0, signal.shape[-1], width + 1).astype(np.int64)
    edges = np.minimum(edges, signal.shape[-1] - 1)
    starts = edges[:-1]
    low = np.minimum.reduceat(signal, starts)
    high = np.maximum.reduceat(signal, starts)
    low[1:], high[1:] = np.minimum(low[1:], high[:-1]), np.maximum(high[1:], low[:-1])  # join columns
    to_row = lambda v: np.clip(((1.0 - v) / 2.0 * (height - 1)).round(), 0, height - 1)  # noqa: E731
    top, bottom = to_row(high), to_row(low)
    rows = np.arange(height)[:, None]
    return (rows >= top[None, :]) & (rows <= bottom[None, :])


def waveform(data: np.ndarray, sample_rate: int, *, title: str, row_labels: list[str]) -> np.ndarray:
    """Draw ``(channel, time)`` audio as one min/max envelope row per channel, time in s."""
    title, row_labels, xlabel = labels.label(title), [labels.label(s) for s in row_labels], labels.label("Time (s)")
    rows = data.shape[0]
    row_height = 120
    height = TOP + rows * row_height + (rows - 1) * GAP + BOTTOM
    img = Image.new("RGB", (WIDTH, height), "white")
    draw = ImageDraw.Draw(img)
    small, normal = _font(11), _font(13)
    x0, x1 = LEFT, WIDTH - 24
    for r in range(rows):
        y0 = TOP + r * (row_height + GAP)
        y1 = y0 + row_height
        mask = _envelope_pixels(data[r], y1 - y0, x1 - x0)
        area = np.full((y1 - y0, x1 - x0, 3), 255, dtype=np.uint8)
        area[(y1 - y0) // 2, :] = (200, 200, 200)
        area[mask] = (31, 119, 180)
        img.paste(Image.fromarray(area), (x0, y0))
        draw.rectangle([x0 - 1, y0 - 1, x1, y1], outline="black")
        _axis_y(draw, (x0, y0, x1, y1), -1.0, 1.0, small)
        _vertical_text(img, row_labels[r], 2, (y0 + y1) // 2, small)
    _axis_x(draw, (x0, TOP, x1, height - BOTTOM), 0.0, data.shape[-1] / sample_rate, small)
    draw.text(((x0 + x1 - normal.getlength(xlabel)) / 2, height - 20), xlabel, fill="black", font=normal)
    draw.text(((WIDTH - normal.getlength(title)) / 2, 7), title, fill="black", font=normal)
    return figdata.attach(np.asarray(img), [_envelope_panel(title, xlabel, label, row, sample_rate)
                                            for label, row in zip(row_labels, data, strict=True)])  # fmt: skip


def _envelope_panel(title: str, xlabel: str, ylabel: str, signal: np.ndarray, sample_rate: int) -> figdata.Panel:
    """The table of one waveform row: the lowest and highest sample in each of ``figdata.GRID_X * 4`` spans."""
    edges = np.unique(np.linspace(0, signal.shape[-1], figdata.GRID_X * 4 + 1).astype(np.int64))
    starts = np.minimum(edges[:-1], max(signal.shape[-1] - 1, 0))
    low, high = np.minimum.reduceat(signal, starts), np.maximum.reduceat(signal, starts)
    times = (edges[:-1] + edges[1:]) / 2 / sample_rate
    series = [(labels.label("Minimum"), times, low), (labels.label("Maximum"), times, high)]
    span = (0.0, signal.shape[-1] / sample_rate)
    return figdata.lines(f"{title} — {ylabel}", xlabel, labels.label("Amplitude"), series, each=False, x_span=span)
