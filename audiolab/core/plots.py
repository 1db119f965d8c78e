"""Figures as RGB images (``numpy`` ``(height, width, 3)`` uint8).

Waveforms and heatmaps use the fast renderer in :mod:`audiolab.core.render` (milliseconds);
other charts (line plots) may use matplotlib's object API (no pyplot, thread-safe) and
:func:`figure_to_rgb`. Long signals are reduced before drawing (a min/max envelope per
pixel column, at most ``MAX_COLUMNS`` heatmap columns), so drawing time does not grow
with duration.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import torch

from audiolab.core import cache, figdata, labels, limits, render

MAX_COLUMNS = 1200  # time columns drawn in a heatmap
DPI = 100


if TYPE_CHECKING:
    from matplotlib.figure import Figure


def new_figure(**kwargs) -> Figure:
    """A matplotlib ``Figure`` (object API, no pyplot); matplotlib is imported on first use, not at start-up."""
    from matplotlib.figure import Figure

    return Figure(**kwargs)


def figure_to_rgb(fig: Figure) -> figdata.FigureImage:
    """Render a figure to an ``(height, width, 3)`` uint8 array that carries its data
    (:func:`figdata.from_matplotlib`: images and lines)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    if labels.chinese():
        _in_chinese(fig)
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    return figdata.attach(np.asarray(canvas.buffer_rgba())[..., :3].copy(), figdata.from_matplotlib(fig))


def _in_chinese(fig: Figure) -> None:
    """Translate the figure's titles and labels (:func:`labels.label`) and add a CJK fallback font."""
    from matplotlib import font_manager
    from matplotlib.text import Text

    installed = {f.name for f in font_manager.fontManager.ttflist}
    family = ["DejaVu Sans", *[f for f in labels.CJK_FONT_NAMES if f in installed]]
    for text in fig.findobj(Text):
        text.set_text(labels.label(text.get_text()))
        text.set_fontfamily(family)


def _channels(waveform: torch.Tensor) -> tuple[np.ndarray, str]:
    count = waveform.shape[0]
    shown = min(count, limits.MAX_PLOTTED_CHANNELS)
    note = f" (first {shown} of {count} channels)" if count > shown else ""
    return waveform[:shown].detach().cpu().numpy(), note


def waveform_image(waveform: torch.Tensor, sample_rate: int, title: str = "Waveform") -> np.ndarray:
    """Waveform of each channel of ``(channel, time)`` audio (amplitude vs time in s)."""
    data, note = _channels(waveform)
    labels = [f"ch {c} amplitude" for c in range(data.shape[0])]
    return render.waveform(data, sample_rate, title=title + note, row_labels=labels)


def heatmap_image(
    maps: np.ndarray,
    *,
    extent: tuple[float, float, float, float],
    title: str,
    ylabel: str,
    colorbar_label: str,
    xlabel: str = "Time (s)",
    row_labels: list[str] | None = None,
    vmin: float | None = None,
    vmax: float | None = None,
    cmap: str = "magma",
) -> np.ndarray:
    """Heatmaps of ``(rows, y, x)`` data (one per channel), lower origin, shared colorbar.

    ``extent`` is ``(x0, x1, y0, y1)`` in axis units (seconds and Hz, say).
    """
    maps = np.asarray(maps, dtype=np.float32)
    if maps.ndim == 2:
        maps = maps[None]
    if maps.shape[-1] > MAX_COLUMNS:  # keep the column maximum: peaks stay visible
        edges = np.linspace(0, maps.shape[-1], MAX_COLUMNS + 1).astype(np.int64)
        maps = np.maximum.reduceat(maps, edges[:-1], axis=-1)
    finite = np.isfinite(maps)  # a mask, not a copy of the values
    if finite.any():
        vmin = float(np.min(maps, where=finite, initial=np.inf)) if vmin is None else vmin
        vmax = float(np.max(maps, where=finite, initial=-np.inf)) if vmax is None else vmax
    if row_labels is None and maps.shape[0] > 1:
        row_labels = [f"ch {c}" for c in range(maps.shape[0])]
    if vmin is None or vmax is None or not vmax > vmin:
        vmin, vmax = (vmin or 0.0) - 0.5, (vmin or 0.0) + 0.5
    return render.heatmap(
        maps, extent=extent, title=title, ylabel=ylabel, colorbar_label=colorbar_label, xlabel=xlabel,
        row_labels=row_labels, vmin=vmin, vmax=vmax, cmap=cmap,
    )  # fmt: skip


def spectrogram_db(waveform: torch.Tensor, n_fft: int = 1024, hop_length: int | None = None) -> torch.Tensor:
    """Power spectrogram in dB (80 dB range), ``(channel, freq, time)``: ``T.Spectrogram(n_fft, hop)`` then
    ``T.AmplitudeToDB("power", 80)``, computed from frames gathered without padding a copy of the signal."""
    import torchaudio.transforms as T

    hop = hop_length or n_fft // 4
    spec = cache.transform("Spectrogram", (n_fft, hop), lambda: T.Spectrogram(n_fft=n_fft, hop_length=hop))
    to_db = cache.transform("AmplitudeToDB", ("power", 80.0), lambda: T.AmplitudeToDB("power", top_db=80.0))
    device = spec.window.device
    with torch.no_grad():
        if waveform.shape[-1] <= 4 * n_fft:
            return to_db(spec(waveform.to(device))).cpu()
        frames = torch.stack([centered_frames(ch, n_fft, hop) for ch in waveform.to(device)])
        power = torch.fft.rfft(frames * spec.window, dim=-1).abs().square_().transpose(-1, -2)
        return to_db(power).cpu()


def centered_frames(x: torch.Tensor, n_fft: int, hop: int) -> torch.Tensor:
    """The frames ``torch.stft(center=True, pad_mode="reflect")`` cuts from 1-D ``x``, as ``(frames, n_fft)``.

    Only the edge frames are padded (small copies); the rest are a strided view of ``x``, so
    a long signal is not copied whole. Needs ``len(x) > 2 * n_fft``.
    """
    half, length = n_fft // 2, x.shape[-1]
    count = 1 + length // hop
    first = min(count, -(-half // hop))  # frames 0..first-1 reach into the left padding
    last = max(first, min(count, (length - half) // hop + 1))  # frames last.. reach into the right padding
    parts = [x[first * hop - half :].unfold(0, n_fft, hop)[: last - first]] if last > first else []
    if first:  # one sample more than the frames read, so the reflection has its source
        head = _reflect(x[: (first - 1) * hop + half + 1], (half, 0))
        parts.insert(0, head.unfold(0, n_fft, hop)[:first])
    if last < count:
        start = last * hop - half
        tail = _reflect(x[max(start - 1, 0) :], (0, half))[min(start, 1) :]
        parts.append(tail.unfold(0, n_fft, hop)[: count - last])
    return torch.cat(parts)


def _reflect(x: torch.Tensor, pad: tuple[int, int]) -> torch.Tensor:
    return torch.nn.functional.pad(x[None, None], pad, mode="reflect")[0, 0]


def _spectrogram_view(waveform: torch.Tensor, sample_rate: int, *, max_rows: int | None = None,
                      ranges: list[tuple[float, float]] | None = None) -> tuple[np.ndarray, str]:  # fmt: skip
    """The dB spectrogram drawn for ``waveform``, ``(channel, freq, time)``, and the channels note.

    With ``max_rows``, each channel's frequency bins are max-pooled to at most that many rows as it
    is computed (a figure row is shorter than that; memory stays one channel's spectrogram), and
    ``ranges`` receives each channel's finite (min, max) before pooling."""
    data, note = _channels(waveform)
    n_fft = 512 if sample_rate <= 16_000 else 1024
    n_fft = min(n_fft, max(16, 2 ** int(np.log2(max(data.shape[-1], 16)))))
    needed = -(-data.shape[-1] // limits.MAX_VIEW_FRAMES)  # bounded work for long audio
    hop = max(n_fft // 4, 1 << (needed - 1).bit_length())  # powers of two: few cached transforms
    channels = []
    for ch in data:
        spec = spectrogram_db(torch.from_numpy(ch[None]), n_fft=n_fft, hop_length=hop).numpy()
        if ranges is not None:
            ranges.append(_finite_range([spec], np.inf, -np.inf))
        channels.append(render.pool_rows(spec, max_rows) if max_rows else spec)
    return np.concatenate(channels), note


def spectrogram_image(waveform: torch.Tensor, sample_rate: int, title: str = "Spectrogram") -> np.ndarray:
    """Spectrogram (dB) of each channel, time in seconds and frequency in Hz."""
    spec, note = _spectrogram_view(waveform, sample_rate)
    duration = waveform.shape[-1] / sample_rate
    return heatmap_image(
        spec, extent=(0.0, duration, 0.0, sample_rate / 2), title=title + note,
        ylabel="Frequency (Hz)", colorbar_label="Power (dB)",
    )  # fmt: skip


def _finite_range(arrays, low: float, high: float) -> tuple[float, float]:
    """Smallest and largest finite value over ``arrays`` (``low``/``high`` where none is finite)."""
    lo, hi = np.inf, -np.inf
    for a in arrays:
        lo, hi = (
            min(lo, float(np.nanmin(a, initial=np.inf, where=np.isfinite(a)))),
            max(hi, float(np.nanmax(a, initial=-np.inf, where=np.isfinite(a)))),
        )
    return (lo if np.isfinite(lo) else low), (hi if np.isfinite(hi) else high)


PAIR_MAX_ROWS = 320  # frequency rows kept per channel in before/after figures (1024-point FFTs: 513 bins)


def spectrogram_pair(clips: list[tuple[torch.Tensor, int]], titles: list[str]) -> list[np.ndarray]:
    """Spectrograms of clips ``(waveform, sample_rate)`` to compare: one time axis (the longest clip's,
    shorter ones padded with the floor colour) and one colour scale (dB) for all."""
    ranges: list[tuple[float, float]] = []
    views = [_spectrogram_view(x, rate, max_rows=PAIR_MAX_ROWS, ranges=ranges) for x, rate in clips]
    seconds = max(x.shape[-1] / rate for x, rate in clips)
    lo, hi = min(r[0] for r in ranges), max(r[1] for r in ranges)
    vmin, vmax = (lo if np.isfinite(lo) else -80.0), (hi if np.isfinite(hi) else 0.0)
    images = []
    for (spec, note), (x, rate), title in zip(views, clips, titles, strict=True):
        columns = max(spec.shape[-1], round(spec.shape[-1] * seconds * rate / x.shape[-1]))
        padded = spec
        if columns > spec.shape[-1]:
            padded = np.full((*spec.shape[:-1], columns), vmin, dtype=np.float32)
            padded[..., : spec.shape[-1]] = spec
        images.append(heatmap_image(
            padded, extent=(0.0, seconds, 0.0, rate / 2), title=title + note, ylabel="Frequency (Hz)",
            colorbar_label="Power (dB)", vmin=vmin, vmax=vmax,
        ))  # fmt: skip
    return images
