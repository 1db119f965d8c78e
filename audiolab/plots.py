"""Figures as RGB images (``numpy`` ``(height, width, 3)`` uint8), drawn with matplotlib's
object API (no pyplot, so it is safe across threads) on the Agg canvas.

Long signals are reduced before drawing (a min/max envelope per pixel column, at most
``MAX_COLUMNS`` spectrogram frames), so drawing time does not grow with duration.
"""

from __future__ import annotations

import numpy as np
import torch
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from audiolab import cache, limits

MAX_COLUMNS = 1200  # time columns drawn in a heatmap
DPI = 100


def figure_to_rgb(fig: Figure) -> np.ndarray:
    """Render a figure to an ``(height, width, 3)`` uint8 array."""
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    return np.asarray(canvas.buffer_rgba())[..., :3].copy()


def envelope(signal: np.ndarray, columns: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Min/max envelope of a 1-D signal over ``columns`` bins: ``(bin_index, low, high)``."""
    n = signal.shape[-1]
    if n <= columns * 2:
        idx = np.arange(n, dtype=np.float64)
        return idx, signal, signal
    edges = np.linspace(0, n, columns + 1).astype(np.int64)
    low = np.minimum.reduceat(signal, edges[:-1])
    high = np.maximum.reduceat(signal, edges[:-1])
    return edges[:-1].astype(np.float64), low, high


def _channels(waveform: torch.Tensor) -> tuple[np.ndarray, str]:
    count = waveform.shape[0]
    shown = min(count, limits.MAX_PLOTTED_CHANNELS)
    note = f" (first {shown} of {count} channels)" if count > shown else ""
    return waveform[:shown].detach().cpu().numpy(), note


def waveform_image(waveform: torch.Tensor, sample_rate: int, title: str = "Waveform") -> np.ndarray:
    """Waveform of each channel of ``(channel, time)`` audio, time in seconds."""
    data, note = _channels(waveform)
    rows = data.shape[0]
    fig = Figure(figsize=(10, 1.0 + 1.3 * rows), dpi=DPI, layout="constrained")
    axes = fig.subplots(rows, 1, sharex=True, squeeze=False)[:, 0]
    for ch, ax in enumerate(axes):
        idx, low, high = envelope(data[ch], 1500)
        t = idx / sample_rate
        if low is high:
            ax.plot(t, low, linewidth=0.8, color="#1f77b4")
        else:
            ax.fill_between(t, low, high, linewidth=0.5, color="#1f77b4")
        ax.set_ylim(-1.05, 1.05)
        ax.set_ylabel(f"ch {ch}")
        ax.grid(True, alpha=0.3)
    axes[-1].set_xlabel("Time (s)")
    axes[-1].set_xlim(0, data.shape[-1] / sample_rate)
    fig.suptitle(title + note)
    return figure_to_rgb(fig)


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
    finite = maps[np.isfinite(maps)]
    vmin = float(finite.min()) if vmin is None and finite.size else vmin
    vmax = float(finite.max()) if vmax is None and finite.size else vmax
    rows = maps.shape[0]
    fig = Figure(figsize=(10, 0.9 + 2.2 * rows), dpi=DPI, layout="constrained")
    axes = fig.subplots(rows, 1, sharex=True, squeeze=False)[:, 0]
    image = None
    for i, ax in enumerate(axes):
        image = ax.imshow(
            maps[i], origin="lower", aspect="auto", extent=extent,
            cmap=cmap, vmin=vmin, vmax=vmax, interpolation="nearest",
        )  # fmt: skip
        label = row_labels[i] if row_labels else (f"ch {i}" if rows > 1 else "")
        ax.set_ylabel(f"{label}\n{ylabel}" if label else ylabel)
    axes[-1].set_xlabel(xlabel)
    fig.colorbar(image, ax=list(axes), label=colorbar_label, pad=0.01)
    fig.suptitle(title)
    return figure_to_rgb(fig)


def spectrogram_db(waveform: torch.Tensor, n_fft: int = 1024, hop_length: int | None = None) -> torch.Tensor:
    """Power spectrogram in dB (80 dB range), ``(channel, freq, time)``, via cached transforms."""
    import torchaudio.transforms as T

    hop = hop_length or n_fft // 4
    spec = cache.transform("Spectrogram", (n_fft, hop), lambda: T.Spectrogram(n_fft=n_fft, hop_length=hop))
    to_db = cache.transform("AmplitudeToDB", ("power", 80.0), lambda: T.AmplitudeToDB("power", top_db=80.0))
    device = spec.window.device
    with torch.no_grad():
        return to_db(spec(waveform.to(device))).cpu()


def spectrogram_image(waveform: torch.Tensor, sample_rate: int, title: str = "Spectrogram") -> np.ndarray:
    """Spectrogram (dB) of each channel, time in seconds and frequency in Hz."""
    data, note = _channels(waveform)
    n_fft = 512 if sample_rate <= 16_000 else 1024
    n_fft = min(n_fft, max(16, 2 ** int(np.log2(max(data.shape[-1], 16)))))
    spec = spectrogram_db(torch.from_numpy(data), n_fft=n_fft)
    duration = data.shape[-1] / sample_rate
    return heatmap_image(
        spec.numpy(), extent=(0.0, duration, 0.0, sample_rate / 2), title=title + note,
        ylabel="Frequency (Hz)", colorbar_label="Power (dB)",
    )  # fmt: skip
