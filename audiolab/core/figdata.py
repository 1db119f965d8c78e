"""What a figure shows, for readers who cannot see it: a short description and its data as a table.

Figures are RGB arrays. The renderers (:func:`audiolab.core.render.heatmap` and ``waveform``,
:func:`audiolab.core.plots.figure_to_rgb`) return a :class:`FigureImage`: the same pixels, plus the
:class:`Panel` s they drew (each: a title, named columns and the values drawn, at most a few
thousand rows). The UI turns them into the image's alt text (:func:`describe`) and a CSV file
(:func:`table_csv`). Words are in the language figures are drawn in (:mod:`audiolab.core.labels`).

Heatmaps are tabled at a coarser grid than drawn (block means, at most ``GRID_X`` x ``GRID_Y``
cells a panel): a table of every pixel would be megabytes; the exact arrays are the tabs' .npy/.pt
downloads.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from audiolab.core import labels

GRID_X, GRID_Y = 100, 48  # heatmap cells per panel in the table
MAX_POINTS = 2000  # points per line in the table (evenly spaced picks beyond that)
POOL_SLAB = 1 << 20  # values pooled at once (bounded memory for large maps)
PANELS_DESCRIBED = 3  # panels named in the alt text; the rest are in the table


@dataclass(frozen=True)
class Panel:
    """One part of a figure: ``columns`` of equal length (numbers or text) and a one-clause ``summary``."""

    title: str
    names: tuple[str, ...]
    columns: tuple[np.ndarray, ...]
    summary: str

    @property
    def rows(self) -> int:
        return len(self.columns[0]) if self.columns else 0


class FigureImage(np.ndarray):
    """An ``(height, width, 3)`` uint8 RGB figure that carries the :class:`Panel` s it shows."""

    panels: tuple[Panel, ...] = ()

    def __array_finalize__(self, obj) -> None:
        self.panels = getattr(obj, "panels", ())


def attach(rgb: np.ndarray, panels: Sequence[Panel]) -> FigureImage:
    """``rgb`` carrying ``panels`` (no copy of the pixels)."""
    out = np.asarray(rgb).view(FigureImage)
    out.panels = tuple(panels)
    return out


def panels_of(rgb: np.ndarray) -> tuple[Panel, ...]:
    """The panels ``rgb`` carries (none for a plain array)."""
    return tuple(getattr(rgb, "panels", ()))


def stack(*images: np.ndarray) -> FigureImage:
    """Images one above the other (equal widths), carrying all their panels in order."""
    return attach(np.concatenate([np.asarray(i) for i in images], axis=0), [p for i in images for p in panels_of(i)])


# --- panels ---------------------------------------------------------------------------------------


def _fmt(v) -> str:
    if isinstance(v, (int, float, np.number)) and not isinstance(v, bool):
        return f"{float(v):.4g}"
    return str(v)


def _span(values: np.ndarray) -> tuple[float, float] | None:
    finite = np.asarray(values, dtype=np.float64)
    finite = finite[np.isfinite(finite)]
    return (float(finite.min()), float(finite.max())) if finite.size else None


def _range_words(name: str, values: np.ndarray) -> str:
    """``"Time (s) 0 to 2.5"``, ``"Token (label): 32 values"`` or ``"Power (dB): no finite value"``."""
    values = np.asarray(values)
    if values.dtype.kind in "OUS":
        count = len(dict.fromkeys(values.tolist()))
        return f"{name}：{count} 个取值" if labels.chinese() else f"{name}: {count} values"
    span = _span(values)
    if span is None:
        return f"{name}：无有限值" if labels.chinese() else f"{name}: no finite value"
    lo, hi = span
    return f"{name} {_fmt(lo)} 至 {_fmt(hi)}" if labels.chinese() else f"{name} {_fmt(lo)} to {_fmt(hi)}"


def _clause(title: str, parts: list[str]) -> str:
    sep = "，" if labels.chinese() else ", "
    return f"{title}：{sep.join(parts)}" if labels.chinese() else f"{title}: {sep.join(parts)}"


def _pool(values: np.ndarray, axis: int, cells: int) -> tuple[np.ndarray, np.ndarray]:
    """Block means of 2-D ``values`` along ``axis`` into at most ``cells`` blocks (NaN and inf ignored), and
    the centre of each block as a fraction (0 to 1) of the axis. Slabs of at most ``POOL_SLAB`` values
    at a time: a figure's table never holds a full-size copy of a large map."""
    size = values.shape[axis]
    if size <= cells:
        return values, (np.arange(size) + 0.5) / max(size, 1)
    edges = np.linspace(0, size, cells + 1).astype(np.int64)
    other = 1 - axis
    step = max(1, POOL_SLAB // max(size, 1))
    parts = []
    for i in range(0, values.shape[other], step):
        part = values[i : i + step] if other == 0 else values[:, i : i + step]
        finite = np.isfinite(part)
        sums = np.add.reduceat(np.where(finite, part, 0.0), edges[:-1], axis=axis, dtype=np.float64)
        counts = np.add.reduceat(finite, edges[:-1], axis=axis, dtype=np.int64)
        with np.errstate(invalid="ignore", divide="ignore"):
            parts.append(np.where(counts > 0, sums / np.maximum(counts, 1), np.nan))
    return np.concatenate(parts, axis=other), (edges[:-1] + edges[1:]) / (2 * size)


def grid(
    title: str,
    x_name: str,
    y_name: str,
    value_name: str,
    values: np.ndarray,
    *,
    extent: tuple[float, float, float, float] = (0.0, 1.0, 0.0, 1.0),
    x: Sequence | None = None,
    y: Sequence | None = None,
) -> Panel:
    """A heatmap: ``values`` ``(y, x)``, row 0 at the bottom, cells spread over ``extent`` ``(x0, x1, y0, y1)``
    (the table gives cell centres), or at explicit ``x``/``y`` coordinates (numbers or text, one a column/row;
    not pooled)."""
    values = np.asarray(values)
    if values.dtype.kind not in "f":
        values = values.astype(np.float64)
    value_words = _range_words(value_name, values)
    values, across = _pool(values, 1, GRID_X if x is None else values.shape[1])
    values, up = _pool(values, 0, GRID_Y if y is None else values.shape[0])
    x0, x1, y0, y1 = extent
    xs = x0 + across * (x1 - x0) if x is None else np.asarray(x)
    ys = y0 + up * (y1 - y0) if y is None else np.asarray(y)
    x_words = _range_words(x_name, np.array([x0, x1]) if x is None else xs)  # the axis, not the cell centres
    y_words = _range_words(y_name, np.array([y0, y1]) if y is None else ys)
    summary = _clause(title, [value_words, x_words, y_words])
    xx, yy = np.meshgrid(xs, ys)
    return Panel(title, (x_name, y_name, value_name), (xx.ravel(), yy.ravel(), values.ravel()), summary)


def _picked(count: int) -> np.ndarray:
    return np.arange(count) if count <= MAX_POINTS else np.linspace(0, count - 1, MAX_POINTS).round().astype(np.int64)


def lines(
    title: str,
    x_name: str,
    y_name: str,
    series: Sequence[tuple[str, Sequence, Sequence]],
    *,
    each: bool = True,
    x_span: tuple[float, float] | None = None,
) -> Panel:
    """Lines ``(name, x, y)``: one column per line when they share their x values, else a column naming the line.
    The summary gives each line's range (``each``), or one range for all of them, and the x axis's ``x_span``
    (default: the x values' range)."""
    series = [(name, np.asarray(x), np.asarray(y, dtype=np.float64)) for name, x, y in series]
    named = [(name or y_name, x, y) for name, x, y in series]
    if each and len(named) > 1:
        parts = [_range_words(name, y) for name, _, y in named]
    else:
        parts = [_range_words(y_name, np.concatenate([y for _, _, y in named]) if named else np.zeros(0))]
    if x_span is not None:
        parts.append(_range_words(x_name, np.asarray(x_span, dtype=np.float64)))
    elif series:
        parts.append(_range_words(x_name, np.concatenate([np.asarray(x, dtype=np.float64) for _, x, _ in series])))
    summary = _clause(title, parts)
    if not series:
        return Panel(title, (x_name, y_name), (np.zeros(0), np.zeros(0)), summary)
    first = series[0][1]
    if all(x.shape == first.shape and np.array_equal(x, first) for _, x, _ in series):
        pick = _picked(len(first))
        sep = "：" if labels.chinese() else ": "
        heads = [y_name] if len(series) == 1 else [f"{y_name}{sep}{name}" if name else y_name for name, _, _ in series]
        return Panel(title, (x_name, *heads), (first[pick], *(y[pick] for _, _, y in series)), summary)
    picks = [(name, x[_picked(len(x))], y[_picked(len(x))]) for name, x, y in named]
    which = np.concatenate([np.full(len(x), name, dtype=object) for name, x, _ in picks])
    return Panel(title, (labels.label("Line"), x_name, y_name),
                 (which, *(np.concatenate([p[i] for p in picks]) for i in (1, 2))), summary)  # fmt: skip


def records(title: str, names: Sequence[str], rows: Sequence[Sequence]) -> Panel:
    """A plain table (aligned words, say): ``rows`` of values under ``names``."""
    columns = tuple(np.asarray([r[i] for r in rows], dtype=object) for i in range(len(names)))
    if labels.chinese():
        summary = f"{title}：{len(rows)} 行（{'、'.join(names)}）"
    else:
        summary = f"{title}: {len(rows)} rows ({', '.join(names)})"
    return Panel(title, tuple(names), columns, summary)


# --- matplotlib figures ---------------------------------------------------------------------------


def from_matplotlib(fig) -> tuple[Panel, ...]:
    """The panels of a matplotlib figure: each axes' images (with their colour-bar label) and lines.
    Colour-bar axes are skipped; empty axis labels borrow another axes' label (shared axes)."""
    axes = [ax for ax in fig.axes if getattr(ax, "_colorbar", None) is None]
    suptitle = fig._suptitle.get_text() if getattr(fig, "_suptitle", None) is not None else ""
    x_default = next((ax.get_xlabel() for ax in axes if ax.get_xlabel()), "") or labels.label("x")
    panels = []
    for i, ax in enumerate(axes):
        title = ax.get_title() or suptitle or axes[0].get_title() or labels.label("Figure")
        x_name, y_name = ax.get_xlabel() or x_default, ax.get_ylabel() or labels.label("y")
        for image in ax.get_images():
            left, right, bottom, top = image.get_extent()
            data = np.ma.filled(np.ma.asarray(image.get_array(), dtype=np.float64), np.nan)
            if data.ndim != 2:
                continue
            if image.origin == "upper":  # row 0 drawn at the top: the table's rows go bottom to top
                data = data[::-1]
            bar = getattr(image, "colorbar", None)
            value_name = (bar.ax.get_ylabel() if bar is not None else "") or labels.label("Value")
            panels.append(grid(title, x_name, y_name, value_name, data, extent=(left, right, bottom, top)))
        series = [
            (line.get_label() if not line.get_label().startswith("_") else "", line.get_xdata(), line.get_ydata())
            for line in ax.get_lines()
        ]
        if series:
            if len(series) > 1 and not any(name for name, _, _ in series):
                series = [(f"{labels.label('Line')} {k + 1}", x, y) for k, (_, x, y) in enumerate(series)]
            panels.append(lines(title if i == 0 or ax.get_title() else f"{title} ({y_name})", x_name, y_name, series))
    return tuple(panels)


# --- what the UI shows ----------------------------------------------------------------------------


def describe(panels: Sequence[Panel]) -> str:
    """A short description of the figure: one clause a panel (the first few), in the figures' language."""
    shown = [p.summary for p in panels[:PANELS_DESCRIBED]]
    more = len(panels) - len(shown)
    if labels.chinese():
        text = "；".join(shown) + (f"；另有 {more} 个面板" if more > 0 else "")
        return text + "。" if text else ""
    text = "; ".join(shown) + (f"; and {more} more panels" if more > 0 else "")
    return text + "." if text else ""


def table_csv(panels: Sequence[Panel]) -> str:
    """The panels' data as one CSV table: the union of their columns (a leading panel column when there
    are several), a row per value drawn."""
    names: list[str] = list(dict.fromkeys(n for p in panels for n in p.names))
    several = len(panels) > 1
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(([labels.label("Panel")] if several else []) + names)
    for p in panels:
        where = {n: k for k, n in enumerate(p.names)}
        cells = [_cells(p.columns[where[n]]) if n in where else [""] * p.rows for n in names]
        if several:
            cells.insert(0, [p.title] * p.rows)
        writer.writerows(zip(*cells, strict=True))
    return out.getvalue()


def _cells(column: np.ndarray) -> list[str]:
    """A column's values as text: numbers to 4 significant digits, the rest as they are."""
    if column.dtype.kind in "fiub":
        return [f"{v:.4g}" for v in column.astype(np.float64).tolist()]
    return [_fmt(v) for v in column.tolist()]
