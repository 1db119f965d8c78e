"""Figures of the Features tab: heatmaps with lines drawn on them, and line charts, in milliseconds.

Heatmaps come from :func:`audiolab.plots.heatmap_image`; pitch and centroid lines are drawn
onto that image with PIL at the same pixel layout (``audiolab.core.render``'s constants), and line
charts reuse the renderer's axes, so no figure needs matplotlib. Every axis has units:
time in s, frequency in Hz (or mel/filter/coefficient index), colour bars in dB where dB.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from PIL import Image, ImageDraw

from audiolab.core import figdata, labels, limits, plots, render
from audiolab.features.compute import FeatureResult, to_db

COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#17becf", "#8c564b", "#e377c2"]
LINE_ROW_HEIGHT = 150


# --- axes --------------------------------------------------------------------------------------


def frame_times(result: FeatureResult, frames: int) -> np.ndarray:
    """Time (s) of each frame's centre for STFT features."""
    p, rate = result.params, result.sample_rate
    offset = 0 if p.get("center", True) else p["n_fft"] / 2
    return (np.arange(frames) * p["hop_length"] + offset) / rate


def _time_extent(times: np.ndarray, duration: float) -> tuple[float, float]:
    if times.size < 2:
        return 0.0, max(duration, 1e-3)
    half = (times[1] - times[0]) / 2
    return max(0.0, float(times[0] - half)), float(times[-1] + half)


def _rows(data: np.ndarray, labels: list[str]) -> tuple[np.ndarray, list[str] | None, str]:
    shown = min(data.shape[0], limits.MAX_PLOTTED_CHANNELS)
    note = f" (first {shown} of {data.shape[0]} rows)" if data.shape[0] > shown else ""
    labels = labels[:shown] if data.shape[0] > 1 else None
    return data[:shown], labels, note


def _channel_labels(n: int) -> list[str]:
    return [f"ch {c}" for c in range(n)]


# --- drawing on heatmaps -----------------------------------------------------------------------


def _row_box(row: int) -> tuple[int, int, int, int]:
    y0 = render.TOP + row * (render.ROW_HEIGHT + render.GAP)
    return render.LEFT, y0, render.WIDTH - render.RIGHT, y0 + render.ROW_HEIGHT


def _polyline(draw: ImageDraw.ImageDraw, box, extent, xs: np.ndarray, ys: np.ndarray, color: str, width=2) -> None:
    """Draw ``ys`` over ``xs`` (axis units) inside ``box``; NaN breaks the line."""
    x0, y0, x1, y1 = box
    e0, e1, e2, e3 = extent
    px = x0 + (xs - e0) / max(e1 - e0, 1e-12) * (x1 - x0)
    py = y1 - (np.clip(ys, e2, e3) - e2) / max(e3 - e2, 1e-12) * (y1 - y0)
    ok = np.isfinite(ys)
    run: list[tuple[float, float]] = []
    for keep, x, y in zip(ok.tolist(), px.tolist(), py.tolist(), strict=True):
        if keep:
            run.append((x, y))
            continue
        _flush(draw, run, color, width)
        run = []
    _flush(draw, run, color, width)


def _flush(draw, run, color, width) -> None:
    if len(run) == 1:
        x, y = run[0]
        draw.ellipse([x - width, y - width, x + width, y + width], fill=color)
    elif run:
        draw.line(run, fill=color, width=width)


def overlay(image: np.ndarray, extent, lines: list[tuple[np.ndarray, np.ndarray]], color: str = "#00e5ff",
            *, title: str = "Line", ylabel: str = "Frequency (Hz)") -> figdata.FigureImage:  # fmt: skip
    """Draw one ``(times, values)`` line on each heatmap row of ``image`` (from ``heatmap_image``); the
    lines join the image's data table (``title`` per row, values in ``ylabel``)."""
    img = Image.fromarray(np.asarray(image))
    draw = ImageDraw.Draw(img)
    panels = list(figdata.panels_of(image))
    title, ylabel, xlabel = labels.label(title), labels.label(ylabel), labels.label("Time (s)")
    for row, (xs, ys) in enumerate(lines):
        _polyline(draw, _row_box(row), extent, np.asarray(xs, float), np.asarray(ys, float), color)
        name = f"{title} — ch {row}" if len(lines) > 1 else title
        panels.append(figdata.lines(name, xlabel, ylabel, [("", xs, ys)]))
    return figdata.attach(np.asarray(img), panels)


def line_chart(
    x: np.ndarray,
    series: list[tuple[str, np.ndarray]],
    *,
    title: str,
    ylabel: str,
    ylim: tuple[float, float] | None = None,
    hline: float | None = None,
    xlabel: str = "Time (s)",
) -> np.ndarray:
    """One chart with a line per ``(label, values)`` (NaN breaks a line), legend in the title row."""
    title, ylabel, xlabel = labels.label(title), labels.label(ylabel), labels.label(xlabel)
    series = [(labels.label(name), values) for name, values in series]
    height = render.TOP + LINE_ROW_HEIGHT + render.BOTTOM + 16
    img = Image.new("RGB", (render.WIDTH, height), "white")
    draw = ImageDraw.Draw(img)
    small, normal = render._font(11), render._font(13)
    box = (render.LEFT, render.TOP + 16, render.WIDTH - 24, render.TOP + 16 + LINE_ROW_HEIGHT)
    values = np.concatenate([np.asarray(v, float).ravel() for _, v in series]) if series else np.zeros(1)
    finite = values[np.isfinite(values)]
    lo, hi = ylim or ((float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0))
    lo, hi = (lo - 0.5, hi + 0.5) if hi <= lo else (lo, hi)
    extent = (float(x[0]) if len(x) else 0.0, float(x[-1]) if len(x) > 1 else 1.0, lo, hi)
    draw.rectangle([box[0] - 1, box[1] - 1, box[2], box[3]], outline="black")
    if hline is not None and lo <= hline <= hi:
        _polyline(draw, box, extent, np.array(extent[:2]), np.array([hline, hline]), "#888888", 1)
    legend_x = box[0]
    for i, (label, ys) in enumerate(series):
        color = COLORS[i % len(COLORS)]
        _polyline(draw, box, extent, np.asarray(x, float), np.asarray(ys, float), color)
        draw.text((legend_x, render.TOP), "— " + label, fill=color, font=small)
        legend_x += int(small.getlength("— " + label)) + 16
    render._axis_y(draw, box, lo, hi, small)
    render._axis_x(draw, box, extent[0], extent[1], small)
    render._vertical_text(img, ylabel, 2, (box[1] + box[3]) // 2, small)
    draw.text(((box[0] + box[2] - normal.getlength(xlabel)) / 2, height - 20), xlabel, fill="black", font=normal)
    draw.text(((render.WIDTH - normal.getlength(title)) / 2, 7), title, fill="black", font=normal)
    return figdata.attach(np.asarray(img), [figdata.lines(title, xlabel, ylabel, [(n, x, v) for n, v in series])])


def stack(*images: np.ndarray) -> figdata.FigureImage:
    """Images one above the other (all ``render.WIDTH`` wide), with all their data."""
    return figdata.stack(*images)


# --- one figure per feature --------------------------------------------------------------------


def _title(result: FeatureResult, what: str) -> str:
    return f"{what} — {result.sample_rate} Hz"


def _spectrogram(result: FeatureResult) -> np.ndarray:
    t, p = result.tensor, result.params
    times = frame_times(result, t.shape[-1])
    extent = (*_time_extent(times, 0), 0.0, result.sample_rate / 2)
    if t.is_complex():
        mag = torch.view_as_real(t).square().sum(-1).unsqueeze(1)  # |X|^2, per channel dB floor
        db = plots_db(mag)
        data, labels, note = _rows(db.numpy(), _channel_labels(t.shape[0]))
        phase, _, _ = _rows(t.angle().numpy(), _channel_labels(t.shape[0]))
        kw = {"extent": extent, "ylabel": "Frequency (Hz)", "row_labels": labels}
        top = plots.heatmap_image(data, title=_title(result, "|STFT| (power=None)") + note, colorbar_label="dB", **kw)
        bottom = plots.heatmap_image(
            phase, title="Phase", colorbar_label="Phase (rad)", vmin=-math.pi, vmax=math.pi, cmap="twilight", **kw
        )
        return stack(top, bottom)
    scale = "dB" if p["db"] else f"|X|^{p['power']:g}"
    data, labels, note = _rows(t.numpy(), _channel_labels(t.shape[0]))
    title = _title(result, f"Spectrogram (power={p['power']:g})") + note
    return plots.heatmap_image(
        data, extent=extent, title=title, ylabel="Frequency (Hz)", colorbar_label=scale, row_labels=labels
    )


def plots_db(power: torch.Tensor, top_db: float = 80.0) -> torch.Tensor:
    """dB of a ``(channel, 1, freq, time)`` power batch, 80 dB below each channel's peak, squeezed."""
    return to_db(power, power=2.0, top_db=top_db).squeeze(1)


def _filterbank(fb: torch.Tensor, rate: int, title: str) -> np.ndarray:
    extent = (0.0, rate / 2, 0.0, float(fb.shape[1]))
    return plots.heatmap_image(
        fb.T.numpy(), extent=extent, title=title, ylabel="Mel filter", xlabel="Frequency (Hz)",
        colorbar_label="Weight", cmap="viridis",
    )  # fmt: skip


def _coefficients(result: FeatureResult, what: str, ylabel: str, unit: str, cmap: str = "coolwarm") -> np.ndarray:
    t = result.tensor
    times = frame_times(result, t.shape[-1])
    extent = (*_time_extent(times, 0), 0.0, float(t.shape[-2]))
    data, labels, note = _rows(t.numpy(), _channel_labels(t.shape[0]))
    vmin, vmax = _robust_range(data) if cmap == "coolwarm" else (None, None)
    return plots.heatmap_image(
        data, extent=extent, title=_title(result, what) + note, ylabel=ylabel, colorbar_label=unit,
        row_labels=labels, cmap=cmap, vmin=vmin, vmax=vmax,
    )  # fmt: skip


def _robust_range(data: np.ndarray) -> tuple[float | None, float | None]:
    """1st-99th percentile colour limits, so c0 (often far from the rest) does not wash out the others."""
    finite = data[np.isfinite(data)]
    if finite.size < 2:
        return None, None
    lo, hi = np.percentile(finite, [1, 99])
    return (float(lo), float(hi)) if hi > lo else (None, None)


def _base_axis(result: FeatureResult) -> tuple[str, str]:
    p = result.params
    base = p["base"]
    if base == "mfcc":
        return "MFCC index", "MFCC"
    if base == "lfcc":
        return "LFCC index", "LFCC"
    ylabel = "Mel bin" if base == "mel_spectrogram" else "Frequency bin"
    return ylabel, "dB" if p["db"] else f"|X|^{p['power']:g}"


def _deltas(result: FeatureResult) -> np.ndarray:
    t = result.tensor  # (channel, order, coeff, time)
    rows = t.reshape(-1, t.shape[-2], t.shape[-1]).numpy()
    names = ["Δ", "ΔΔ"][: t.shape[1]]
    labels = [f"ch {c} {n}" for c in range(t.shape[0]) for n in names]
    data, labels, note = _rows(rows, labels)
    times = frame_times(result, t.shape[-1])
    ylabel, unit = _base_axis(result)
    vmin, vmax = _robust_range(data)
    return plots.heatmap_image(
        data, extent=(*_time_extent(times, 0), 0.0, float(t.shape[-2])), vmin=vmin, vmax=vmax,
        title=_title(result, f"Deltas of {result.params['base']}") + note, ylabel=ylabel,
        colorbar_label=f"{unit} per frame", row_labels=labels or [f"ch 0 {n}" for n in names], cmap="coolwarm",
    )  # fmt: skip


def _background(result: FeatureResult, n_fft: int, hop: int, f_max: float) -> tuple[np.ndarray, tuple]:
    """dB spectrogram rows of the analysed audio (up to ``f_max`` Hz) and their extent."""
    wave = result.waveform[: limits.MAX_PLOTTED_CHANNELS]
    spec = plots.spectrogram_db(wave, n_fft=n_fft, hop_length=hop)
    rate = result.sample_rate
    bins = max(2, min(spec.shape[-2], math.ceil(f_max / (rate / n_fft)) + 1))
    top = (bins - 1) * rate / n_fft
    times = np.arange(spec.shape[-1]) * hop / rate
    return spec[:, :bins].numpy(), (*_time_extent(times, 0), 0.0, top)


def _on_spectrogram(result: FeatureResult, lines, title: str, f_max: float, n_fft: int, hop: int,
                    line: str = "Pitch") -> np.ndarray:  # fmt: skip
    data, extent = _background(result, n_fft, hop, f_max)
    labels = _channel_labels(data.shape[0]) if data.shape[0] > 1 else None
    image = plots.heatmap_image(
        data, extent=extent, title=title, ylabel="Frequency (Hz)", colorbar_label="Power (dB)", row_labels=labels
    )
    return overlay(image, extent, lines[: data.shape[0]], title=line)


def _centroid(result: FeatureResult) -> np.ndarray:
    p, t = result.params, result.tensor
    times = frame_times(result, t.shape[-1])
    lines = [(times, row.numpy()) for row in t]
    title = _title(result, "Spectral centroid (line) on the spectrogram")
    return _on_spectrogram(result, lines, title, result.sample_rate / 2, p["n_fft"], p["hop_length"],
                           line="Spectral centroid")  # fmt: skip


def _view_fft(rate: int) -> tuple[int, int]:
    n_fft = 2048 if rate > 24_000 else 1024
    return n_fft, max(n_fft // 4, rate // 100)


def pitch_axis_top(f0: torch.Tensor, sample_rate: int) -> float:
    """Top of the frequency axis (Hz) under a ``detect_pitch_frequency`` line: 3 x the median pitch, at
    least 500 Hz, at most Nyquist, so a speech f0 of 100-250 Hz fills the view (octave jumps and
    spurious ``freq_high`` values are clipped at the top instead of squashing it flat)."""
    finite = f0[torch.isfinite(f0) & (f0 > 0)]
    median = float(finite.median()) if finite.numel() else 300.0
    return float(min(sample_rate / 2, max(500.0, 3 * median)))


def _pitch_detect(result: FeatureResult) -> np.ndarray:
    t = result.tensor
    duration = result.waveform.shape[-1] / result.sample_rate
    times = np.linspace(0, duration, t.shape[-1])  # as torchaudio's tutorial plots it
    f_max = pitch_axis_top(t, result.sample_rate)
    n_fft, hop = _view_fft(result.sample_rate)
    title = _title(result, "detect_pitch_frequency (line) on the spectrogram")
    return _on_spectrogram(result, [(times, row.numpy()) for row in t], title, f_max, n_fft, hop)


def _pitch_nccf(result: FeatureResult) -> np.ndarray:
    t, p = result.tensor, result.params
    times = np.arange(t.shape[-2]) * round(result.sample_rate * p["frame_shift_ms"] / 1000) / result.sample_rate
    n_fft, hop = _view_fft(result.sample_rate)
    f_max = min(result.sample_rate / 2, 2 * p["max_f0"])
    title = _title(result, "NCCF pitch, voiced frames only (line) on the spectrogram")
    top = _on_spectrogram(result, [(times, row[:, 1].numpy()) for row in t], title, f_max, n_fft, hop)
    series = [(f"ch {c} NCCF", row[:, 0].numpy()) for c, row in enumerate(t[: limits.MAX_PLOTTED_CHANNELS])]
    thr = p["voicing_threshold"]
    chart = line_chart(times, series, title=f"Voicing (NCCF); voiced above {thr:g} (grey line)",
                       ylabel="NCCF", ylim=(0.0, 1.0), hline=thr)  # fmt: skip
    return stack(top, chart)


def _loudness(result: FeatureResult) -> np.ndarray:
    momentary = result.extra["momentary"]
    step = round(round(0.4 * result.sample_rate) * 0.25) / result.sample_rate
    times = 0.2 + np.arange(momentary.shape[-1]) * step  # block centres
    lk = ", ".join(f"ch {c}: {float(v):.2f}" for c, v in enumerate(result.tensor[:4]))
    integrated = result.extra.get("integrated_lkfs")
    title = f"Loudness (ITU-R BS.1770) LKFS {lk}" + (f"; all: {integrated:.2f}" if integrated is not None else "")
    series = [(f"ch {c}", row.numpy()) for c, row in enumerate(momentary[: limits.MAX_PLOTTED_CHANNELS])]
    finite = momentary[torch.isfinite(momentary) & (momentary > -120)]
    lo = float(finite.min()) - 3 if finite.numel() else -70.0
    hi = float(finite.max()) + 3 if finite.numel() else 0.0
    return line_chart(times, series, title=title, ylabel="LKFS (400 ms)", ylim=(lo, hi))  # short: fits the axis


def figure(result: FeatureResult) -> np.ndarray:
    """The RGB figure for a computed feature."""
    name, p = result.name, result.params
    if name == "spectrogram":
        return _spectrogram(result)
    if name == "mel_spectrogram":
        unit = "dB" if p["db"] else f"|X|^{p['power']:g}"
        what = f"Mel spectrogram ({p['mel_scale']}, norm={p['mel_norm']})"
        image = _coefficients(result, what, "Mel bin", unit, cmap="magma")
        return stack(image, _filterbank(result.extra["filterbank"], result.sample_rate, "Mel filterbank"))
    if name == "mel_filterbank":
        return _filterbank(
            result.tensor, result.sample_rate, f"Mel filterbank ({p['mel_scale']}, norm={p['mel_norm']})"
        )
    if name == "mfcc":
        return _coefficients(result, f"MFCC (n_mfcc={p['n_mfcc']})", "MFCC index", "MFCC")
    if name == "lfcc":
        return _coefficients(result, f"LFCC (n_lfcc={p['n_lfcc']})", "LFCC index", "LFCC")
    if name == "deltas":
        return _deltas(result)
    if name == "cmn":
        ylabel, unit = _base_axis(result)
        return _coefficients(result, f"Sliding-window CMN of {p['base']}", ylabel, f"{unit} (normalised)")
    if name == "spectral_centroid":
        return _centroid(result)
    if name == "loudness":
        return _loudness(result)
    if name == "pitch_detect":
        return _pitch_detect(result)
    return _pitch_nccf(result)
